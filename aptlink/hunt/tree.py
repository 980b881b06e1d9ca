"""The boolean tree a compiled Sigma rule is: ``Leaf`` predicates on one field under and/or/not.

Kept apart from ``compile`` (which needs pySigma) so that a hunt reading compiled rules from the
cache never imports pySigma: it is a third of the command's start-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, Union


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
