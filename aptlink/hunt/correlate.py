"""Sigma correlation rules (v2) over a hunt's detections: ``event_count``, ``value_count`` and
``temporal`` / ``temporal_ordered``, with field name ``aliases``, chains and ``generate``.

A correlation looks at the detections of the rules it names (by rule ``name`` or id), grouped by its
``group-by`` fields, in a sliding window of ``timespan``; when the condition holds it becomes a
detection of its own (one per group and episode: the next window starts after the one that held),
whose matched fields list the group and the count. "At most" conditions (``lt``, ``lte``, ``neq``)
are judged on whole windows. A correlation may name other correlations (a chain: "many failed
logons, then a successful one"); they are evaluated first. A ``group-by`` name may be an alias,
read from a different field in the detections of each rule. The rules a correlation names are not
reported on their own unless it says ``generate: true`` (what the specification and pySigma do).
``value_sum``/``value_avg``/percentile/median (proposals beyond the 2.0 specification) are
reported as not supported.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aptlink.hunt.runner import Detection

SUPPORTED = ("event_count", "value_count", "temporal", "temporal_ordered")
AT_MOST = frozenset({"lt", "lte", "neq"})  # conditions judged on whole windows only
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
    name: str = ""
    # group-by alias -> ((rule id, the field it is read from in that rule's detections), ...)
    aliases: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    generate: bool = False

    def source_field(self, name: str, rule_id: str) -> str:
        """The field a group-by name is read from in the detections of ``rule_id``."""
        for alias, fields in self.aliases:
            if alias == name:
                return next((f for r, f in fields if r == rule_id), name)
        return name


def correlation_id(rule: Any) -> str:
    """The id a correlation's detections carry (its id, else its name, else its title)."""
    return str(rule.id or rule.name or rule.title)


def from_sigma(rule: Any, path: str, names: dict[str, str]) -> Correlation:
    """A Correlation from pySigma's SigmaCorrelationRule; rule references (names or ids, of
    detection rules or other correlations) mapped to ids."""
    kind = str(rule.type.name).lower()
    if kind not in SUPPORTED:
        raise ValueError(f"correlation type {kind} is not supported")
    references = [names.get(r.reference, r.reference) for r in rule.rules or []]
    condition = rule.condition
    field = condition.fieldref if isinstance(condition.fieldref, str) else None
    aliases = tuple(
        (
            str(alias.alias),
            tuple((names.get(r.reference, r.reference), str(f)) for r, f in alias.mapping.items()),
        )
        for alias in rule.aliases
    )
    return Correlation(
        id=correlation_id(rule),
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
        name=str(rule.name or ""),
        aliases=aliases,
        generate=bool(rule.generate),
    )


def in_order(correlations: Sequence[Correlation]) -> tuple[list[Correlation], list[Correlation]]:
    """The correlations with every one after those it names (a chain is evaluated from its first
    link), and those that cannot be: in a loop, or naming one that is. Iterative (Kahn's
    algorithm), so a hostile chain thousands of links long cannot exhaust the stack."""
    ids = {c.id for c in correlations}
    waiting = [{r for r in c.rules if r in ids} for c in correlations]
    users: dict[str, list[int]] = defaultdict(list)
    for number, names in enumerate(waiting):
        for name in names:
            users[name].append(number)
    ready = deque(n for n, names in enumerate(waiting) if not names)
    ordered: list[Correlation] = []
    while ready:
        c = correlations[ready.popleft()]
        ordered.append(c)
        for number in users.pop(c.id, ()):
            waiting[number].discard(c.id)
            if not waiting[number]:
                ready.append(number)
    placed = {id(c) for c in ordered}
    return ordered, [c for c in correlations if id(c) not in placed]


def fields_needed(correlations: Iterable[Correlation]) -> set[str]:
    """Event fields the detections must carry for the correlations to group and count (with
    the fields every alias is read from)."""
    needed: set[str] = set()
    for c in correlations:
        needed.update(c.group_by)
        needed.update([c.field] if c.field else [])
        needed.update(f for _, fields in c.aliases for _, f in fields)
    return needed


def correlate(
    detections: Sequence[Detection], correlations: Sequence[Correlation]
) -> list[Detection]:
    """Detections of every correlation whose condition holds in some window; a correlation
    that names another one reads that one's detections (``correlations`` come in chain order)."""
    found: list[Detection] = []
    for correlation in correlations:
        found.extend(_one([*detections, *found] if found else detections, correlation))
    return found


def hidden(correlations: Sequence[Correlation], quiet: Iterable[str] = ()) -> set[str]:
    """Ids of the rules and correlations whose detections are not reported on their own: those
    correlations name, unless one naming them says ``generate: true`` (the specification makes
    them building blocks), and ``quiet`` ones (kept below ``--min-level`` only as blocks)."""
    shown = {r for c in correlations if c.generate for r in c.rules}
    return (named(correlations) - shown) | set(quiet)


def named(correlations: Sequence[Correlation]) -> set[str]:
    """Ids of the rules and correlations that correlations read."""
    return {r for c in correlations for r in c.rules}


def reported(
    detections: Sequence[Detection], correlations: Sequence[Correlation], quiet: Iterable[str] = ()
) -> list[Detection]:
    """The detections and the correlations' own detections an analyst is shown (without the
    ``hidden`` building blocks)."""
    found = correlate(detections, correlations)
    left_out = hidden(correlations, quiet)
    if not left_out:
        return [*detections, *found]
    return [d for d in (*detections, *found) if d.rule_id not in left_out]


def _one(detections: Sequence[Detection], c: Correlation) -> list[Detection]:
    groups: dict[tuple[str, ...], list[tuple[float, Detection]]] = defaultdict(list)
    wanted = set(c.rules)
    for d in detections:
        if d.rule_id in wanted and d.time:
            key = tuple(_value(d, c.source_field(f, d.rule_id)) for f in c.group_by)
            groups[key].append((_seconds(d.time), d))
    found: list[Detection] = []
    for key, timed in sorted(groups.items()):
        # (ties broken by the event, not by which worker sent its detection first: the same
        # correlations whatever the number of processes)
        timed.sort(key=lambda pair: (pair[0], pair[1].file, pair[1].record, pair[1].rule_id))
        found.extend(_detection(c, key, window) for window in _episodes(timed, c))
    return found


def _episodes(timed: list[tuple[float, Detection]], c: Correlation) -> Iterator[list[Detection]]:
    """Every window of at most ``c.seconds`` whose detections satisfy the condition, each one
    starting after the last ended: a burst of failed logons on Monday and another on Friday are
    two detections. One pass; the window's counts are kept up to date as it slides."""
    check = OPERATORS.get(c.op, operator.ge)
    window = _Window(c, [d for _, d in timed])
    if c.op in AT_MOST:
        yield from _closed_episodes(timed, window, check)
        return
    for end, (at, _) in enumerate(timed):
        window.add(end)
        while at - timed[window.start][0] > c.seconds:
            window.drop()
        if window.holds(check):
            yield [d for _, d in timed[window.start : end + 1]]
            window.restart(end + 1)


def _closed_episodes(
    timed: list[tuple[float, Detection]], window: _Window, check: Callable[[int, int], bool]
) -> Iterator[list[Detection]]:
    """For "at most" conditions (``lt``, ``lte``, ``neq``) a window is judged only once it is
    whole: from a detection to the last one within ``timespan`` of it; the next window starts at
    the first detection after it. (Judged as it grows, every single detection would count.)"""
    seconds = window.c.seconds
    for end, (at, _) in enumerate(timed):
        if window.size and at - timed[window.start][0] > seconds:
            if window.holds(check):
                yield [d for _, d in timed[window.start : end]]
            window.restart(end)
        window.add(end)
    if window.size and window.holds(check):
        yield [d for _, d in timed[window.start :]]


class _Window:
    """The detections ``start`` to the last one added, with what the condition counts in them:
    events, distinct values of the field, detections per rule."""

    def __init__(self, c: Correlation, detections: list[Detection]) -> None:
        self.c, self.detections = c, detections
        self.values = [_value(d, c.field) for d in detections] if c.kind == "value_count" else []
        self.start = self.size = 0
        self.counts: Counter[str] = Counter()

    def _key(self, position: int) -> str | None:
        if self.c.kind == "value_count":
            return self.values[position] or None
        if self.c.kind in ("temporal", "temporal_ordered"):
            return self.detections[position].rule_id
        return None

    def add(self, position: int) -> None:
        self.size += 1
        key = self._key(position)
        if key is not None:
            self.counts[key] += 1

    def drop(self) -> None:
        key = self._key(self.start)
        if key is not None:
            self.counts[key] -= 1
            if not self.counts[key]:
                del self.counts[key]
        self.start += 1
        self.size -= 1

    def restart(self, position: int) -> None:
        self.start, self.size = position, 0
        self.counts.clear()

    def holds(self, check: Callable[[int, int], bool]) -> bool:
        c = self.c
        if c.kind == "event_count":
            return check(self.size, c.count)
        if c.kind == "value_count":
            return check(len(self.counts), c.count)
        if len(self.counts) < len(set(c.rules)):
            return False
        if c.kind == "temporal":
            return True
        seen = [d.rule_id for d in self.detections[self.start : self.start + self.size]]
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


def _summary(c: Correlation, window: list[Detection]) -> str:
    """What the window held, in the terms of the condition."""
    span = f"{len(window)} events within {_timespan(c.seconds)}"
    if c.kind == "value_count" and c.field:
        distinct = len({v for v in (_value(d, c.field) for d in window) if v})
        return f"value_count: {distinct} distinct {c.field} in {span}"
    return f"{c.kind}: {span}"


def _timespan(seconds: int) -> str:
    """Seconds as the rule wrote them: 300 -> 5m, 604800 -> 7d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _seconds(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _detection(c: Correlation, key: tuple[str, ...], window: list[Detection]) -> Detection:
    first, last = window[0], window[-1]
    fields = dict(zip(c.group_by, key, strict=True))
    fields["correlation"] = _summary(c, window)
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
