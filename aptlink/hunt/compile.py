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
from collections.abc import Callable, Iterator
from typing import Any

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

from aptlink.hunt.tree import Leaf, Node, Op, from_plain, leaves, make_op, rename, to_plain

# The tree types live in ``tree`` (no pySigma import); named here too for the callers of old.
__all__ = [
    "Leaf",
    "Node",
    "Op",
    "UnsupportedRule",
    "compile_condition",
    "compile_value",
    "from_plain",
    "leaves",
    "make_op",
    "rename",
    "to_plain",
]


class UnsupportedRule(ValueError):
    """A rule construct this engine cannot evaluate (the rule is reported and skipped)."""


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
