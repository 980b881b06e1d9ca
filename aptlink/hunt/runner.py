"""A hunt: event files (or ready tables) streamed in batches through the engine, on every core.

The parent process reads and flattens events; worker processes (forked, so they share the compiled
rules) match batches and send back only detections. At most two batches per worker are in flight,
so memory stays bounded however large the input is.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from aptlink.errors import EvidenceError
from aptlink.evidence.base import ParseContext, Warning_
from aptlink.hunt.engine import Batch, NeedleIndex, match_rules, matched_fields
from aptlink.hunt.events import META_FILE, META_RECORD, META_TIME, Row, batched
from aptlink.hunt.rules import CompiledRule, RuleSet

Progress = Callable[[str, int, int], None]
BATCH_ROWS = 50_000
# Fields worth keeping with a detection: what an analyst pivots on, and what becomes observations.
CONTEXT_FIELDS = (
    "Image",
    "CommandLine",
    "ParentImage",
    "ParentCommandLine",
    "OriginalFileName",
    "User",
    "TargetUserName",
    "SubjectUserName",
    "TargetFilename",
    "ImageLoaded",
    "Signed",
    "Signature",
    "TargetObject",
    "Details",
    "DestinationIp",
    "DestinationHostname",
    "DestinationPort",
    "SourceIp",
    "QueryName",
    "IpAddress",
    "ServiceName",
    "ImagePath",
    "NewProcessName",
    "ParentProcessName",
    "ScriptBlockText",
    "Hashes",
    "MD5",
    "SHA1",
    "SHA256",
    "PipeName",
    "TargetImage",
    "SourceImage",
    "GrantedAccess",
    "ObjectName",
    "ShareName",
    "RelativeTargetName",
)
EVENT_FIELDS = (META_FILE, META_RECORD, META_TIME, "Computer", "Channel", "EventID")


@dataclasses.dataclass(frozen=True, slots=True)
class Detection:
    """One rule matching one event."""

    rule_id: str
    title: str
    level: str
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]
    file: str
    record: str
    time: str | None
    computer: str | None
    channel: str | None
    event_id: str | None
    fields: dict[str, str]
    context: dict[str, str]
    rule_path: str = ""
    group: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "level": self.level,
            "attack": list(self.techniques),
            "tactics": list(self.tactics),
            "file": self.file,
            "event_record_id": self.record,
            "timestamp": self.time,
            "computer": self.computer,
            "channel": self.channel,
            "event_id": self.event_id,
            "matched": self.fields,
            "context": self.context,
        }


@dataclasses.dataclass(slots=True)
class HuntResult:
    """What a hunt found and what it could not read."""

    detections: list[Detection] = dataclasses.field(default_factory=list)
    warnings: list[Warning_] = dataclasses.field(default_factory=list)
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    events: int = 0
    parse_seconds: float = 0.0
    match_seconds: float = 0.0
    wall_seconds: float = 0.0

    def per_rule(self) -> list[dict[str, Any]]:
        counts = Counter((d.rule_id, d.title, d.level) for d in self.detections)
        return [
            {"rule_id": rid, "title": title, "level": level, "events": n}
            for (rid, title, level), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1]))
        ]

    def per_tactic(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for d in self.detections:
            for tactic in d.tactics or ("(no tactic)",):
                counts[tactic] += 1
        return dict(counts.most_common())


# -- worker side -------------------------------------------------------------------------------

_RULES: Sequence[CompiledRule] = ()
_NEEDLES: NeedleIndex | None = None
_GROUP_FIELDS: tuple[str, ...] = ()


def _install(rules: Sequence[CompiledRule], needles: NeedleIndex, group: Iterable[str]) -> None:
    global _RULES, _NEEDLES, _GROUP_FIELDS
    _RULES, _NEEDLES, _GROUP_FIELDS = rules, needles, tuple(sorted(group))


def detect_table(table: pa.Table) -> tuple[list[Detection], float]:
    """Detections of the installed rules in one table, and the seconds it took."""
    started = time.perf_counter()
    batch = Batch(table, _NEEDLES)
    matches = match_rules(batch, _RULES)
    found: list[Detection] = []
    if matches:
        records = _records(batch, np.unique(np.concatenate([rows for _, rows in matches])))
        for index, rows in matches:
            rule = _RULES[index]
            for row, fields in zip(rows.tolist(), matched_fields(batch, rule, rows), strict=True):
                found.append(_detection(rule, records[row], fields))
    return found, time.perf_counter() - started


def _records(batch: Batch, rows: npt.NDArray[np.int64]) -> dict[int, dict[str, Any]]:
    """The reported fields of the matched rows, taken from the table in one go."""
    wanted = [*CONTEXT_FIELDS, *EVENT_FIELDS, *_GROUP_FIELDS]
    names = [batch.names[f.lower()] for f in wanted if f.lower() in batch.names]
    taken = batch.table.select(names).take(pa.array(rows)).to_pylist()
    return dict(zip(rows.tolist(), taken, strict=True))


def _detection(rule: CompiledRule, record: dict[str, Any], fields: dict[str, str]) -> Detection:
    lowered = {k.lower(): v for k, v in record.items() if v}
    context = {name: str(lowered[name.lower()])[:4096] for name in CONTEXT_FIELDS
               if name.lower() in lowered}  # fmt: skip
    return Detection(
        rule_id=rule.id,
        title=rule.title,
        level=rule.level,
        techniques=rule.techniques,
        tactics=rule.tactics,
        file=lowered.get(META_FILE, ""),
        record=lowered.get(META_RECORD, ""),
        time=lowered.get(META_TIME),
        computer=lowered.get("computer"),
        channel=lowered.get("channel"),
        event_id=lowered.get("eventid"),
        fields=fields,
        context=context,
        rule_path=rule.path,
        group={f: str(lowered[f.lower()]) for f in _GROUP_FIELDS if f.lower() in lowered},
    )


# -- parent side -------------------------------------------------------------------------------


def read_events(path: Path, ctx: ParseContext) -> Iterator[Row]:
    """Rows of one event file, by content: EVTX or JSON lines; anything else raises."""
    from aptlink.evidence.eventjson import EventJsonParser, read_event_json
    from aptlink.evidence.evtx import MAGIC, read_evtx

    with path.open("rb") as fh:
        head = fh.read(8192)
    if head.startswith(MAGIC):
        return read_evtx(path, ctx)
    if EventJsonParser.sniff(head, path):
        return read_event_json(path, ctx)
    raise EvidenceError("not an EVTX file nor JSON lines of Windows events", str(path))


def event_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith((".evtx", ".jsonl", ".ndjson", ".json")):
                        yield Path(root) / name
        else:
            yield path


def file_tables(
    paths: Sequence[Path],
    result: HuntResult,
    ctx: ParseContext,
    batch_rows: int,
    progress: Progress | None = None,
) -> Iterator[pa.Table]:
    """Tables of flattened events across all files (a batch may span files, so small files do not
    make small batches); unreadable files are recorded, not raised."""
    tables = batched(_all_rows(paths, result, ctx, progress), batch_rows)
    while True:
        started = time.perf_counter()
        table = next(tables, None)
        result.parse_seconds += time.perf_counter() - started
        if table is None:
            return
        yield table


def _all_rows(
    paths: Sequence[Path], result: HuntResult, ctx: ParseContext, progress: Progress | None
) -> Iterator[Row]:
    files = list(event_files(paths))
    for number, path in enumerate(files, 1):
        try:
            yield from read_events(path, ctx)
            result.files[str(path)] = "analysed"
        except (EvidenceError, OSError) as exc:
            reason = exc.message if isinstance(exc, EvidenceError) else str(exc)
            result.files[str(path)] = f"failed: {reason}"
            ctx.warn(str(path), reason)
        if progress:
            progress("files", number, len(files))


def correlate(detections: Sequence[Detection], correlations: Sequence[Any]) -> list[Detection]:
    from aptlink.hunt.correlate import correlate as run_correlations

    return run_correlations(detections, correlations) if correlations else []


def fields_needed(correlations: Sequence[Any]) -> set[str]:
    from aptlink.hunt.correlate import fields_needed as needed

    return needed(correlations)


def run_tables(
    tables: Iterable[pa.Table],
    ruleset: RuleSet,
    *,
    workers: int | None = None,
    result: HuntResult | None = None,
    progress: Progress | None = None,
) -> HuntResult:
    """Match every table against the rule set, in ``workers`` processes (1 = in this process)."""
    result = result or HuntResult()
    started = time.perf_counter()
    _install(ruleset.rules, NeedleIndex(ruleset.rules), fields_needed(ruleset.correlations))
    workers = workers or min(2, os.cpu_count() or 1)
    if workers <= 1:
        for table in tables:
            _collect(result, table.num_rows, detect_table(table), progress)
    else:
        _run_pool(tables, workers, result, progress)
    result.detections.extend(correlate(result.detections, ruleset.correlations))
    result.detections.sort(key=lambda d: (d.time or "", d.file, d.record, d.rule_id))
    result.wall_seconds = time.perf_counter() - started
    return result


def _run_pool(
    tables: Iterable[pa.Table], workers: int, result: HuntResult, progress: Progress | None
) -> None:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: list[tuple[int, Future[tuple[list[Detection], float]]]] = []
        for table in tables:
            pending.append((table.num_rows, pool.submit(detect_table, table)))
            while len(pending) >= 2 * workers:
                rows, future = pending.pop(0)
                _collect(result, rows, future.result(), progress)
        for rows, future in pending:
            _collect(result, rows, future.result(), progress)


def _collect(
    result: HuntResult, rows: int, outcome: tuple[list[Detection], float], progress: Progress | None
) -> None:
    found, seconds = outcome
    result.detections.extend(found)
    result.events += rows
    result.match_seconds += seconds
    if progress:
        progress("events", result.events, 0)


def hunt(
    paths: Sequence[Path],
    ruleset: RuleSet,
    *,
    workers: int | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> HuntResult:
    """Run the rule set over every event file under ``paths``."""
    result = HuntResult()
    ctx = ParseContext()
    tables = file_tables(paths, result, ctx, batch_rows, progress)
    run_tables(tables, ruleset, workers=workers, result=result, progress=progress)
    result.warnings = ctx.warnings
    return result
