"""A hunt: event files (or ready tables) streamed in batches through the engine, on every core.

The parent process reads and flattens events; worker processes (forked, so they share the compiled
rules) match batches and send back only detections. At most two batches per worker are in flight,
so memory stays bounded however large the input is.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import multiprocessing
import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from aptlink.errors import EvidenceError, UnsupportedEvidence
from aptlink.evidence.base import NOT_REGULAR, ParseContext, Warning_, is_regular, path_text
from aptlink.hunt.engine import Batch, NeedleIndex, match_rules, matched_fields
from aptlink.hunt.events import META_FILE, META_RECORD, META_TIME, CellTable, Row, batched_cells
from aptlink.hunt.rules import CompiledRule, RuleSet
from aptlink.hunt.unpack import EVENT_SUFFIXES, Unpacked, is_collection

Progress = Callable[[str, int, int], None]
BATCH_ROWS = 50_000
PIECE_BYTES = 32 << 20  # a big EVTX file is read in ranges of chunks of about this size, at most
JSON_BYTES_PER_EVENT = 1000  # a JSON-lines export's events, estimated from its size
SPLIT_JSON_BYTES = 32 << 20  # a bigger JSON-lines export is counted and shared among the workers
JSON_LINES = (".jsonl", ".ndjson", ".json")
BLOCK_BYTES = 64 << 10  # the ranges of a big JSON-lines export are of these blocks (as EVTX chunks)
READ_BYTES = 1 << 20
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
_CONTEXT_NAMES = {name.lower(): name for name in CONTEXT_FIELDS}
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


# A detection as it travels from a worker to the parent: the rule by its number in the rule set,
# then file, record, time, computer, channel, event id, matched fields, context and group fields.
# A tuple pickles and unpickles at a third of the cost of the frozen dataclass (whose state goes
# through Python functions, field by field); the parent makes the ``Detection``.
Found = tuple[
    int, str, str, str | None, str | None, str | None, str | None,
    dict[str, str], dict[str, str], dict[str, str],
]  # fmt: skip


@dataclasses.dataclass(slots=True)
class _Tally:
    """What a task or a hunt tallies: warnings, each file's status, events, and the time spent."""

    warnings: list[Warning_] = dataclasses.field(default_factory=list)
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    events: int = 0
    parse_seconds: float = 0.0
    match_seconds: float = 0.0


@dataclasses.dataclass(slots=True)
class Part(_Tally):
    """What one task (a group of files, or one table) gave: sent back from the worker whole."""

    found: list[Found] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class HuntResult(_Tally):
    """What a hunt found and what it could not read: its parts merged, and the wall time."""

    detections: list[Detection] = dataclasses.field(default_factory=list)
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
    _TAGS.clear()


def find(table: pa.Table | CellTable) -> tuple[list[Found], float]:
    """What the installed rules find in one table, as the tuples a worker sends back (the parent
    makes them ``detections``), and the seconds it took."""
    started = time.perf_counter()
    batch = Batch(table, _NEEDLES)
    matches = match_rules(batch, _RULES)
    found: list[Found] = []
    if matches:
        records = _records(batch, np.unique(np.concatenate([rows for _, rows in matches])))
        for index, rows in matches:
            named = _NEEDLES.field_leaves[index] if _NEEDLES is not None else None
            fields_per_row = matched_fields(batch, _RULES[index], rows, named)
            for row, fields in zip(rows.tolist(), fields_per_row, strict=True):
                file, record, time_, computer, channel, event_id, context, group = records[row]
                found.append(
                    (
                        index,
                        file,
                        record,
                        time_,
                        computer,
                        channel,
                        event_id,
                        fields,
                        context,
                        group,
                    )
                )
    return found, time.perf_counter() - started


# file, record, time, computer, channel, event id, context fields, correlation group fields
Record = tuple[
    str, str, str | None, str | None, str | None, str | None, dict[str, str], dict[str, str]
]


def _records(batch: Batch, rows: npt.NDArray[np.int64]) -> dict[int, Record]:
    """The reported fields of the matched rows, taken from the table in one go: per row its
    event fields, its context fields and its correlation group fields."""
    wanted = [*CONTEXT_FIELDS, *EVENT_FIELDS, *_GROUP_FIELDS]
    names = list(dict.fromkeys(batch.names[f.lower()] for f in wanted if f.lower() in batch.names))
    taken = batch.table.select(names).take(pa.array(rows)).to_pydict()  # column-wise: cheaper
    rowed: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    for name, values in taken.items():
        lower = name.lower()
        for record, value in zip(rowed, values, strict=True):
            if value:
                record.setdefault(lower, value)
    records: dict[int, Record] = {}
    for row, lowered in zip(rows.tolist(), rowed, strict=True):
        context = {
            _CONTEXT_NAMES[lower]: str(value)[:4096]
            for lower, value in lowered.items()
            if lower in _CONTEXT_NAMES
        }  # fmt: skip (lowered is in CONTEXT_FIELDS order)
        group = {f: str(lowered[f.lower()]) for f in _GROUP_FIELDS if f.lower() in lowered}
        records[row] = (
            lowered.get(META_FILE, ""),
            lowered.get(META_RECORD, ""),
            lowered.get(META_TIME),
            lowered.get("computer"),
            lowered.get("channel"),
            lowered.get("eventid"),
            context,
            group,
        )
    return records


_TAGS: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def detections(found: Iterable[Found]) -> Iterator[Detection]:
    """The detections of found tuples, by the installed rules (the same in parent and workers:
    they are forked with them). Every detection has its own context and group (a worker's
    detections of one event share them)."""
    rules, tags = _RULES, _TAGS
    for index, file, record, time_, computer, channel, event_id, fields, context, group in found:
        rule = rules[index]
        tagged = tags.get(index)
        if tagged is None:  # (properties, computed from the rule's tags: once per rule)
            tagged = tags[index] = (rule.techniques, rule.tactics)
        yield Detection(
            rule.id, rule.title, rule.level, tagged[0], tagged[1], file, record, time_,
            computer, channel, event_id, fields, dict(context), rule.path, dict(group),
        )  # fmt: skip


# -- parent side -------------------------------------------------------------------------------


def read_events(
    path: Path, ctx: ParseContext, chunks: tuple[int, ...] | None = None
) -> Iterator[Row]:
    """Rows of one event file, by content: EVTX (``chunks``: a range of its chunks), JSON lines
    (``chunks``: a range of 64 KB blocks and the lines before it) or XML; anything else raises."""
    from aptlink.evidence.eventjson import EventJsonParser, read_event_json
    from aptlink.evidence.eventxml import EventXmlParser, read_event_xml
    from aptlink.evidence.evtx import MAGIC, read_evtx

    fd = os.open(path, os.O_RDONLY)  # (not a buffered file: a hunt opens tens of thousands)
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, 8192, 0)
    finally:
        os.close(fd)
    if head.startswith(MAGIC):
        span = (chunks[0], chunks[1]) if chunks else None
        return read_evtx(path, ctx, span, (head, size))
    if EventJsonParser.sniff(head, path):
        if chunks is not None and len(chunks) == 3:  # (a range of a big export's lines)
            first, end, before = chunks
            return read_event_json(path, ctx, (first * BLOCK_BYTES, end * BLOCK_BYTES, before))
        return read_event_json(path, ctx)
    if chunks is not None and chunks[0] > 0:
        return iter(())  # (other files are not split; the first piece reads the whole file)
    if EventXmlParser.sniff(head, path):
        return read_event_xml(path, ctx)
    if path.name.lower().endswith(".evtx"):  # (named as an event log: a broken one, failed)
        raise EvidenceError("not an EVTX file (no ElfFile header)", path_text(path))
    raise UnsupportedEvidence(
        "not an EVTX file nor Windows events as JSON lines or XML", path_text(path)
    )


def event_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith((*EVENT_SUFFIXES, ".zip")):
                        yield Path(root) / name
        else:
            yield path


# a file, a range of a big EVTX file's chunks, or a range of a big JSON-lines export's 64 KB blocks
# with the lines before it
Piece = Path | tuple[Path, int, int] | tuple[Path, int, int, int]


def _all_rows(pieces: Sequence[Piece], part: Part, ctx: ParseContext) -> Iterator[Row]:
    for piece in pieces:
        path, chunks = (piece, None) if isinstance(piece, Path) else (piece[0], piece[1:])
        where = path_text(path)
        if not is_regular(path):  # a named pipe would block the worker; a device never ends
            part.files[where] = f"failed: {NOT_REGULAR}"
            ctx.warn(where, NOT_REGULAR)
            continue
        try:
            yield from read_events(path, ctx, chunks)
            part.files.setdefault(where, "analysed")
        except UnsupportedEvidence as exc:  # not an event log (an XML or JSON file of a folder)
            part.files[where] = f"skipped: {exc.message}"
        except (EvidenceError, OSError) as exc:
            reason = exc.message if isinstance(exc, EvidenceError) else str(exc)
            part.files[where] = f"failed: {reason}"
            ctx.warn(where, reason)


Loader = Callable[[Any, "Part", ParseContext], Iterator[pa.Table | CellTable]]
_LOADER: Loader | None = None


def load_files(task: Any, part: Part, ctx: ParseContext) -> Iterator[pa.Table | CellTable]:
    """Tables of the task's files (a batch spans files, so small files make no small batches)."""
    paths, batch_rows = task
    return batched_cells(_all_rows(paths, part, ctx), batch_rows)


def load_table(task: Any, part: Part, ctx: ParseContext) -> Iterator[pa.Table | CellTable]:
    """The task is already a table."""
    return iter([task])


def run_task(task: Any) -> Part:
    """Parse (via the installed loader) and match one task, in a worker or in this process."""
    assert _LOADER is not None
    part, ctx = Part(), ParseContext()
    tables = _LOADER(task, part, ctx)
    while True:
        started = time.perf_counter()
        table = next(tables, None)
        part.parse_seconds += time.perf_counter() - started
        if table is None:
            break
        found, seconds = find(table)
        part.found.extend(found)
        part.events += table.num_rows
        part.match_seconds += seconds
    part.warnings = ctx.warnings
    return part


def correlate(detections: list[Detection], ruleset: RuleSet) -> list[Detection]:
    """The detections to report: with the correlations' own, without the detections of the rules
    they are built on (unless a correlation says ``generate: true``)."""
    from aptlink.hunt.correlate import reported

    if not ruleset.correlations:
        return detections
    return reported(detections, ruleset.correlations, ruleset.quiet)


def fields_needed(correlations: Sequence[Any]) -> set[str]:
    from aptlink.hunt.correlate import fields_needed as needed

    return needed(correlations)


def run_tables(
    tables: Iterable[pa.Table | CellTable],
    ruleset: RuleSet,
    *,
    workers: int | None = None,
    result: HuntResult | None = None,
    progress: Progress | None = None,
) -> HuntResult:
    """Match tables already in memory (each one task)."""
    return run_tasks(tables, load_table, ruleset, workers=workers, result=result, progress=progress)


def run_tasks(
    tasks: Iterable[Any],
    loader: Loader,
    ruleset: RuleSet,
    *,
    workers: int | None = None,
    result: HuntResult | None = None,
    progress: Progress | None = None,
    total: int = 0,
) -> HuntResult:
    """Run every task (the loader makes its tables) in ``workers`` processes (1 = this one); the
    workers are forked after the rules are compiled, so they share them."""
    global _LOADER
    result = result or HuntResult()
    started = time.perf_counter()
    _install(ruleset.rules, NeedleIndex(ruleset.rules), fields_needed(ruleset.correlations))
    _LOADER = loader
    workers = workers or min(2, os.cpu_count() or 1)
    # The compiled rules (~150,000 objects) live as long as the hunt: out of the collector's sight,
    # its full collections no longer walk them again and again while rows are read (and forked
    # workers do not touch their pages for it).
    gc.freeze()
    # With workers, this process only merges what they send (~150,000 detections of 1 M events,
    # each with three dicts): no garbage cycles, and collections would walk them again and again,
    # on a core the workers need. The workers turn it back on (the pool's initializer).
    collecting = gc.isenabled()
    if workers > 1:
        gc.disable()
    try:
        for done, part in enumerate(_parts(tasks, workers), 1):
            _merge(result, part)
            if progress and loader is load_files:
                progress("files", len(result.files), total)
            elif progress:
                progress("batches", done, total)
            if progress:
                progress("events", result.events, result.events)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()
    result.detections = correlate(result.detections, ruleset)
    result.detections.sort(key=lambda d: (d.time or "", d.file, d.record, d.rule_id))
    result.wall_seconds = time.perf_counter() - started
    return result


def _parts(tasks: Iterable[Any], workers: int) -> Iterator[Part]:
    if workers <= 1:
        yield from map(run_task, tasks)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker) as pool:
        pending: list[Future[Part]] = []
        for task in tasks:
            pending.append(pool.submit(run_task, task))
            while len(pending) >= 2 * workers:  # bounded: at most two tasks per worker in flight
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def _start_worker() -> None:
    """Collections on in a worker, but rarer: a batch allocates millions of containers, nearly
    all freed by reference counting (a gen-0 pass per 50,000 instead of 700 costs 0.8 % fewer
    instructions over a hunt; cycles are still collected)."""
    gc.set_threshold(50_000, 10, 10)
    gc.enable()


def _merge(result: HuntResult, part: Part) -> None:
    result.detections.extend(detections(part.found))
    result.warnings.extend(part.warnings)
    for path, status in part.files.items():  # a split file failed if any piece failed
        if not result.files.get(path, "").startswith("failed"):
            result.files[path] = status
    result.events += part.events
    result.parse_seconds += part.parse_seconds
    result.match_seconds += part.match_seconds


def file_tasks(
    files: Sequence[Path], workers: int, batch_rows: int, piece_bytes: int = PIECE_BYTES
) -> list[Any]:
    """Every task of ``stream_tasks``, as a list."""
    return list(stream_tasks(files, workers, batch_rows, piece_bytes))


def stream_tasks(
    files: Iterable[Path], workers: int, batch_rows: int, piece_bytes: int = PIECE_BYTES
) -> Iterator[Any]:
    """Groups of files holding about ``batch_rows`` events each (fewer when the input is small:
    at least two groups per worker), so that every batch a worker matches is full: a batch never
    spans two tasks, and the engine's work per batch follows its distinct values, not its rows
    (half-full batches of sparse logs cost ~30 % more CPU end to end). Events are counted from
    the EVTX chunk headers (JSON lines estimated from their size). An EVTX file bigger than a
    group, or than ``piece_bytes``, is cut into ranges of chunks, so every core shares it.

    Tasks come as soon as they are known: files are counted only until two groups per worker
    are certainly full (then every group holds up to ``batch_rows``), so the workers start while
    the rest of the files are still being found and counted."""
    from aptlink.evidence.evtx import CHUNK_BYTES

    enough = 2 * workers * batch_rows  # any more and the target is batch_rows
    counted: list[tuple[Path, list[int]]] = []
    total = 0
    remaining = iter(files)
    for path in remaining:
        counted.append((path, _event_counts(path)))
        total += sum(counted[-1][1])
        if total >= enough:
            break
    target = max(1, min(batch_rows, total // max(1, 2 * workers)))
    most_chunks = max(1, piece_bytes // CHUNK_BYTES)
    group: list[Piece] = []
    held = 0
    for path, per_chunk in itertools.chain(counted, ((f, _event_counts(f)) for f in remaining)):
        for piece, events in _pieces(path, per_chunk, target, most_chunks):
            if group and held + events > target:
                yield (tuple(group), batch_rows)
                group, held = [], 0
            group.append(piece)
            held += events
    if group:
        yield (tuple(group), batch_rows)


def _event_counts(path: Path) -> list[int]:
    """Events per chunk of an EVTX file (one entry for any other file: its estimated events)."""
    from aptlink.evidence.evtx import chunk_records

    try:
        st = path.stat()
    except OSError:
        return [1]  # gone: its read fails, with the reason, where it is read
    if path.name.lower().endswith(".evtx") and stat.S_ISREG(st.st_mode):  # a pipe would block
        found = chunk_records(path, st.st_size)
        if found is not None:
            return found
    if (
        st.st_size > SPLIT_JSON_BYTES
        and path.name.lower().endswith(JSON_LINES)
        and stat.S_ISREG(st.st_mode)
    ):
        return _lines_per_block(path)
    return [max(1, st.st_size // JSON_BYTES_PER_EVENT)]


def _lines_per_block(path: Path) -> list[int]:
    """Lines (events) per 64 KB block of a big JSON-lines export, counted in C a megabyte at a
    time: what splits it among the workers and numbers the lines of each range. [1] when the
    file cannot be read (its read fails, with the reason, where it is read)."""
    counts: list[int] = []
    try:
        with path.open("rb") as fh:
            while data := fh.read(READ_BYTES):  # (whole blocks: a short read only at the end)
                blocks = range(0, len(data), BLOCK_BYTES)
                counts += [data.count(b"\n", at, at + BLOCK_BYTES) for at in blocks]
    except OSError:
        return [1]
    return counts or [1]


def _pieces(
    path: Path, per_chunk: list[int], target: int, most_chunks: int
) -> Iterator[tuple[Piece, int]]:
    """The file whole, or (a big .evtx or JSON-lines export) as ranges of chunks or blocks of at
    most ``target`` events and ``most_chunks`` chunks, each with its events (a JSON range also
    with the lines before it)."""
    if len(per_chunk) <= 1 or (sum(per_chunk) <= target and len(per_chunk) <= most_chunks):
        yield path, sum(per_chunk)
        return
    lines = not path.name.lower().endswith(".evtx")
    first, held, before = 0, 0, 0
    for number, events in enumerate(per_chunk):
        if number > first and (held + events > target or number - first >= most_chunks):
            yield ((path, first, number, before) if lines else (path, first, number)), held
            first, before, held = number, before + held, 0
        held += events
    yield ((path, first, len(per_chunk), before) if lines else (path, first, len(per_chunk))), held


def hunt(
    paths: Sequence[Path],
    ruleset: RuleSet,
    *,
    workers: int | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
    piece_bytes: int = PIECE_BYTES,
) -> HuntResult:
    """Run the rule set over every event file under ``paths``: each worker parses and matches its
    own group of files (or chunk ranges of a big file), so both stages use every core."""
    workers = workers or min(2, os.cpu_count() or 1)
    files: list[Path] = []  # every file found so far (the tasks are made while they are found)
    unpacked = Unpacked()  # the collections' event files, unpacked as they are met

    def found(paths: Sequence[Path]) -> Iterator[Path]:
        for path in event_files(paths):
            members = unpacked.unpack(path) if is_collection(path) else iter((path,))
            for member in members:
                files.append(member)
                yield member

    def progress_of_files(stage: str, done: int, total: int) -> None:
        assert progress is not None
        progress(stage, done, len(files) if stage == "files" else total)

    tasks = stream_tasks(found(paths), workers, batch_rows, piece_bytes)
    try:
        result = run_tasks(tasks, load_files, ruleset, workers=workers,
                           progress=progress_of_files if progress else None)  # fmt: skip
    finally:
        unpacked.remove()
    names = map(path_text, files)
    result.files = {name: result.files.get(name, "not read") for name in names}
    archives = unpacked.names or unpacked.skipped or unpacked.failed
    return _named_by_archive(result, unpacked) if archives else result


def _named_by_archive(result: HuntResult, unpacked: Unpacked) -> HuntResult:
    """Files, detections and warnings of unpacked members named ``archive!member``; the members
    that were not unpacked, with the reason."""
    files = {unpacked.label(name): status for name, status in result.files.items()}
    files |= {name: f"skipped: {reason}" for name, reason in unpacked.skipped.items()}
    files |= {name: f"failed: {reason}" for name, reason in unpacked.failed.items()}
    result.files = files
    result.warnings = [Warning_(unpacked.label(w.where), w.message) for w in result.warnings]
    result.warnings += [Warning_(name, reason) for name, reason in unpacked.failed.items()]
    result.detections = sorted(
        (dataclasses.replace(d, file=unpacked.label(d.file)) for d in result.detections),
        key=lambda d: (d.time or "", d.file, d.record, d.rule_id),
    )
    return result
