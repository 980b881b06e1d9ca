"""Sigma correlation rules (v2) over a hunt's detections: ``event_count``, ``value_count`` and
``temporal`` / ``temporal_ordered``.

A correlation looks at the detections of the rules it names (by rule ``name`` or id), grouped by its
``group-by`` fields, in a sliding window of ``timespan``; when the condition holds it becomes a
detection of its own (one per group and window), whose matched fields list the group and the
count. ``value_sum``/``value_avg``/percentile/median correlations are reported as not supported.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aptlink.hunt.runner import Detection

SUPPORTED = ("event_count", "value_count", "temporal", "temporal_ordered")
OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Correlation:
    """A correlation rule in the form the evaluator needs."""

    id: str
    title: str
    level: str
    kind: str
    rules: tuple[str, ...]
    group_by: tuple[str, ...]
    seconds: int
    op: str
    count: int
    field: str | None
    tags: tuple[str, ...] = ()
    path: str = ""


def from_sigma(rule: Any, path: str, names: dict[str, str]) -> Correlation:
    """A Correlation from pySigma's SigmaCorrelationRule; rule references mapped to rule ids."""
    kind = str(rule.type.name).lower()
    if kind not in SUPPORTED:
        raise ValueError(f"correlation type {kind} is not supported")
    references = [names.get(r.reference, r.reference) for r in rule.rules or []]
    condition = rule.condition
    field = condition.fieldref if isinstance(condition.fieldref, str) else None
    return Correlation(
        id=str(rule.id or rule.name or rule.title),
        title=str(rule.title),
        level=str(rule.level.name.lower()) if rule.level else "medium",
        kind=kind,
        rules=tuple(references),
        group_by=tuple(rule.group_by or ()),
        seconds=int(rule.timespan.seconds),
        op=str(condition.op.name).lower(),
        count=int(condition.count),
        field=field,
        tags=tuple(f"{t.namespace}.{t.name}".lower() for t in rule.tags),
        path=path,
    )


def fields_needed(correlations: Iterable[Correlation]) -> set[str]:
    """Event fields the detections must carry for the correlations to group and count."""
    return {f for c in correlations for f in (*c.group_by, *([c.field] if c.field else []))}


def correlate(
    detections: Sequence[Detection], correlations: Iterable[Correlation]
) -> list[Detection]:
    """Detections of every correlation whose condition holds in some window."""
    found: list[Detection] = []
    for correlation in correlations:
        found.extend(_one(detections, correlation))
    return found


def _one(detections: Sequence[Detection], c: Correlation) -> list[Detection]:
    groups: dict[tuple[str, ...], list[tuple[float, Detection]]] = defaultdict(list)
    wanted = set(c.rules)
    for d in detections:
        if d.rule_id in wanted and d.time:
            key = tuple(_value(d, f) for f in c.group_by)
            groups[key].append((_seconds(d.time), d))
    found = []
    for key, timed in sorted(groups.items()):
        timed.sort(key=lambda pair: pair[0])
        hit = _window(timed, c)
        if hit is not None:
            found.append(_detection(c, key, hit))
    return found


def _window(timed: list[tuple[float, Detection]], c: Correlation) -> list[Detection] | None:
    """The first window of ``c.seconds`` whose detections satisfy the condition."""
    check = OPERATORS.get(c.op, operator.ge)
    start = 0
    for end in range(len(timed)):
        while timed[end][0] - timed[start][0] > c.seconds:
            start += 1
        window = [d for _, d in timed[start : end + 1]]
        if _holds(window, c, check):
            return window
    return None


def _holds(window: list[Detection], c: Correlation, check: Callable[[int, int], bool]) -> bool:
    if c.kind == "event_count":
        return check(len(window), c.count)
    if c.kind == "value_count":
        values = {_value(d, c.field) for d in window if c.field and _value(d, c.field)}
        return check(len(values), c.count)
    seen = [d.rule_id for d in window]
    if c.kind == "temporal":
        return set(c.rules) <= set(seen)
    return _in_order(seen, list(c.rules))


def _in_order(seen: list[str], wanted: list[str]) -> bool:
    position = 0
    for rule_id in seen:
        if position < len(wanted) and rule_id == wanted[position]:
            position += 1
    return position == len(wanted)


def _value(d: Detection, field: str | None) -> str:
    if not field:
        return ""
    lowered = field.lower()
    for source in (d.fields, d.context, d.group):
        for name, value in source.items():
            if name.lower() == lowered:
                return value
    return ""


def _seconds(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _detection(c: Correlation, key: tuple[str, ...], window: list[Detection]) -> Detection:
    first, last = window[0], window[-1]
    fields = dict(zip(c.group_by, key, strict=True))
    fields["correlation"] = f"{c.kind}: {len(window)} events in {c.seconds}s"
    from aptlink.hunt.rules import CompiledRule
    from aptlink.hunt.runner import Detection

    meta = CompiledRule(id=c.id, title=c.title, level=c.level, path=c.path, tags=c.tags)
    return Detection(
        rule_id=c.id,
        title=c.title,
        level=c.level,
        techniques=meta.techniques,
        tactics=meta.tactics,
        file=last.file,
        record=last.record,
        time=first.time,
        computer=last.computer,
        channel=last.channel,
        event_id=last.event_id,
        fields=fields,
        context={"first": first.time or "", "last": last.time or ""},
        rule_path=c.path,
    )
