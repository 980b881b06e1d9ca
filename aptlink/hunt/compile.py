"""Sigma detections compiled to a small boolean tree of column predicates (``Leaf``) that the engine
evaluates over the distinct values of each column.

pySigma has already applied the modifiers when we see a rule: ``contains``/``startswith``/``endswith``
became wildcards, ``base64offset`` and ``windash`` became expansions (OR-ed values), ``all`` became
AND, ``1 of``/``all of`` became OR/AND over the detections. Here we turn each value into the cheapest
predicate that has the same meaning (equality, substring, prefix, suffix, anchored pattern, regular
expression, network, comparison, existence) and lower-case it unless the value is ``cased``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Union

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)


class UnsupportedRule(ValueError):
    """A rule construct this engine cannot evaluate (the rule is reported and skipped)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Leaf:
    """One predicate on one field's value. ``field`` None means any field (a keyword search).

    ``op`` is one of: eq, contains, startswith, endswith, regex, cidr, lt, lte, gt, gte, exists,
    null, fieldref. ``value`` is lower-cased unless ``cased``.
    """

    field: str | None
    op: str
    value: str = ""
    cased: bool = False
    flags: str = ""
    # Leaves are dictionary keys in every batch (tens of thousands of lookups): hash once.
    _hash: int = dataclasses.field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.field, self.op, self.value, self.cased, self.flags)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __getstate__(self) -> tuple[object, ...]:
        return (self.field, self.op, self.value, self.cased, self.flags)

    def __setstate__(self, state: tuple[str | None, str, str, bool, str]) -> None:
        for name, value in zip(("field", "op", "value", "cased", "flags"), state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_hash", hash(state))

    def renamed(self, mapping: Mapping[str, str]) -> Leaf:
        if self.field is None or self.field not in mapping:
            return self
        return dataclasses.replace(self, field=mapping[self.field])


@dataclasses.dataclass(frozen=True, slots=True)
class Op:
    """``and``/``or`` over children, or ``not`` over one child."""

    kind: str
    children: tuple[Node, ...]


Node = Union[Leaf, Op, bool]  # noqa: UP007 (a runtime alias of forward references)

COMPARE_OPS = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
}
REGEX_META = re.compile(r"[\\.^$|?*+()\[\]{}]")
REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


def compile_condition(tree: Any) -> Node:
    """The boolean tree of leaves for one parsed Sigma condition."""
    if isinstance(tree, ConditionAND):
        return make_op("and", tuple(compile_condition(c) for c in tree.args))
    if isinstance(tree, ConditionOR):
        return make_op("or", tuple(compile_condition(c) for c in tree.args))
    if isinstance(tree, ConditionNOT):
        return make_op("not", (compile_condition(tree.args[0]),))
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return compile_value(tree.field.lower() if tree.field else None, tree.value)
    if isinstance(tree, ConditionValueExpression):
        return _keyword(compile_value(None, tree.value))
    raise UnsupportedRule(f"condition element {type(tree).__name__}")


def _keyword(node: Node) -> Node:
    """Keywords are full-text searches: a plain value matches anywhere in a field's text."""
    if isinstance(node, Leaf) and node.op == "eq":
        return dataclasses.replace(node, op="contains")
    if isinstance(node, Op):
        return Op(node.kind, tuple(_keyword(c) for c in node.children))
    return node


def make_op(kind: str, children: tuple[Node, ...]) -> Node:
    """An operator node with constant children folded away."""
    if kind == "not":
        child = children[0]
        return (not child) if isinstance(child, bool) else Op("not", children)
    absorbing = kind == "or"  # True absorbs an OR, False absorbs an AND
    kept: list[Node] = []
    for child in children:
        if isinstance(child, bool):
            if child is absorbing:
                return absorbing
            continue
        kept.append(child)
    if not kept:
        return not absorbing
    return kept[0] if len(kept) == 1 else Op(kind, tuple(kept))


def compile_value(field: str | None, value: Any) -> Node:
    """The leaf (or small tree) for ``field`` compared with one Sigma value."""
    handler = _VALUE_HANDLERS.get(type(value))
    if handler is None:
        for base, candidate in _VALUE_HANDLERS.items():
            if isinstance(value, base):
                handler = candidate
                break
    if handler is None:
        raise UnsupportedRule(f"value type {type(value).__name__}")
    return handler(field, value)


def _expansion(field: str | None, value: SigmaExpansion) -> Node:
    return make_op("or", tuple(compile_value(field, v) for v in value.values))


def _string(field: str | None, value: SigmaString) -> Node:
    cased = isinstance(value, SigmaCasedString)
    parts = list(_string_parts(value))
    text_parts = [p for p in parts if isinstance(p, str)]
    wild = [p for p in parts if not isinstance(p, str)]

    def norm(s: str) -> str:
        return s if cased else s.lower()

    if not wild:
        return Leaf(field, "eq", norm("".join(text_parts)), cased)
    if all(w is SpecialChars.WILDCARD_MULTI for w in wild):
        simple = _simple_wildcard(parts)
        if simple is not None:
            op, literal = simple
            if op == "any":
                return Leaf(field, "exists") if field else True
            return Leaf(field, op, norm(literal), cased)
    return Leaf(field, "regex", _wildcard_regex(parts), cased, "" if cased else "i")


def _string_parts(value: SigmaString) -> Iterator[str | SpecialChars]:
    for part in value.s:
        if isinstance(part, Placeholder):
            raise UnsupportedRule(f"placeholder %{part.name}% needs a placeholder pipeline")
        yield part


def _simple_wildcard(parts: list[str | SpecialChars]) -> tuple[str, str] | None:
    """contains/startswith/endswith when the only wildcards are ``*`` at the ends."""
    inner = parts[:]
    lead = bool(inner) and inner[0] is SpecialChars.WILDCARD_MULTI
    trail = bool(inner) and inner[-1] is SpecialChars.WILDCARD_MULTI
    inner = inner[1 if lead else 0 : len(inner) - (1 if trail else 0)]
    if any(not isinstance(p, str) for p in inner):
        return None
    literal = "".join(p for p in inner if isinstance(p, str))
    if not literal:
        return ("any", "")
    if lead and trail:
        return ("contains", literal)
    return ("endswith", literal) if lead else ("startswith", literal)


def _wildcard_regex(parts: list[str | SpecialChars]) -> str:
    pieces = []
    for part in parts:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        else:
            pieces.append(REGEX_META.sub(r"\\\g<0>", str(part)))
    return "^" + "".join(pieces) + "$"


def _number(field: str | None, value: SigmaNumber) -> Node:
    return Leaf(field, "eq", str(value.number).lower())


def _bool(field: str | None, value: SigmaBool) -> Node:
    return Leaf(field, "eq", "true" if value.boolean else "false")


def _regex(field: str | None, value: SigmaRegularExpression) -> Node:
    flags = "".join(sorted(REGEX_FLAGS[f] for f in value.flags if f in REGEX_FLAGS))
    return Leaf(field, "regex", str(value.regexp), True, flags)


def _cidr(field: str | None, value: SigmaCIDRExpression) -> Node:
    return Leaf(field, "cidr", str(value.network))


def _compare(field: str | None, value: SigmaCompareExpression) -> Node:
    return Leaf(field, COMPARE_OPS[value.op], str(value.number.number))


def _null(field: str | None, value: SigmaNull) -> Node:
    return Leaf(field, "null")


def _exists(field: str | None, value: SigmaExists) -> Node:
    leaf = Leaf(field, "exists")
    return leaf if value.exists else make_op("not", (leaf,))


def _fieldref(field: str | None, value: SigmaFieldReference) -> Node:
    return Leaf(field, "fieldref", value.field.lower())


_VALUE_HANDLERS: dict[type, Callable[[str | None, Any], Node]] = {
    SigmaExpansion: _expansion,
    SigmaCasedString: _string,
    SigmaString: _string,
    SigmaNumber: _number,
    SigmaBool: _bool,
    SigmaRegularExpression: _regex,
    SigmaCIDRExpression: _cidr,
    SigmaCompareExpression: _compare,
    SigmaNull: _null,
    SigmaExists: _exists,
    SigmaFieldReference: _fieldref,
}


def leaves(node: Node) -> Iterator[Leaf]:
    """Every leaf of a tree, depth first."""
    if isinstance(node, Leaf):
        yield node
    elif isinstance(node, Op):
        for child in node.children:
            yield from leaves(child)


def rename(node: Node, mapping: Mapping[str, str]) -> Node:
    """The same tree with field names mapped (the Security 4688 variant of a Sysmon rule)."""
    if isinstance(node, Leaf):
        return node.renamed(mapping)
    if isinstance(node, Op):
        return Op(node.kind, tuple(rename(c, mapping) for c in node.children))
    return node


def to_plain(node: Node) -> Any:
    """A JSON form of the tree (for caching compiled rule sets and for explaining a rule)."""
    if isinstance(node, Leaf):
        return ["leaf", node.field, node.op, node.value, node.cased, node.flags]
    if isinstance(node, Op):
        return [node.kind, *(to_plain(c) for c in node.children)]
    return node


def from_plain(data: Any, leaves: dict[tuple[Any, ...], Leaf] | None = None) -> Node:
    """The tree of ``to_plain``; ``leaves`` shares equal leaves between trees (fewer objects)."""
    if isinstance(data, bool):
        return data
    if data[0] == "leaf":
        key = tuple(data[1:6])
        if leaves is None:
            return Leaf(*key)
        found = leaves.get(key)
        if found is None:
            found = leaves[key] = Leaf(*key)
        return found
    return Op(data[0], tuple(from_plain(c, leaves) for c in data[1:]))
