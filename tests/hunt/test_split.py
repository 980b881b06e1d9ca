"""A big .evtx file is read as ranges of its chunks by several processes: the same rows and the
same detections as reading it whole, and a broken file is still reported once, with its place."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aptlink.evidence.base import ParseContext
from aptlink.evidence.evtx import CHUNK_BYTES, HEADER_BYTES, chunk_count, read_evtx
from aptlink.hunt.rules import PACKAGE_RULES, load_rules
from aptlink.hunt.runner import file_tasks, hunt, stream_tasks

PANACHE = "evtx/attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx"


def test_chunk_ranges_give_the_rows_of_the_whole_file(shared: Path) -> None:
    path = shared / PANACHE
    whole = list(read_evtx(path, ParseContext()))
    chunks = chunk_count(path.stat().st_size)
    assert chunks == 17
    pieces = [
        row
        for first in range(0, chunks, 3)
        for row in read_evtx(path, ParseContext(), (first, min(chunks, first + 3)))
    ]
    assert len(whole) == 565
    assert pieces == whole


def test_big_file_is_cut_into_tasks(shared: Path) -> None:
    path = shared / PANACHE
    tasks = file_tasks([path], workers=2, batch_rows=1000, piece_bytes=4 * CHUNK_BYTES)
    pieces = [piece for group, _ in tasks for piece in group]
    assert len(tasks) >= 4  # 565 events: at least two tasks per worker
    assert pieces[0][1] == 0 and pieces[-1][2] == 17  # every chunk, once, in order
    assert all(a[2] == b[1] for a, b in itertools.pairwise(pieces))
    assert all(0 < end - first <= 4 for _, first, end in pieces)  # at most piece_bytes


def test_tasks_hold_about_a_batch_of_events(shared: Path) -> None:
    # 277 sample files, 8,255 events (counted from the chunk headers): tasks of at most
    # batch_rows events, so that every batch a worker matches is full
    files = sorted((shared / "evtx" / "attack-samples").rglob("*.evtx"))
    tasks = file_tasks(files, workers=2, batch_rows=2000)
    assert len(tasks) == 5 or len(tasks) == 6
    assert sorted(p for group, _ in tasks for p in group) == files


def test_split_hunt_equals_whole_hunt(shared: Path) -> None:
    ruleset = load_rules([shared / "sigma" / "rules" / "windows" / "process_creation"])
    path = shared / PANACHE
    whole = hunt([path], ruleset, workers=1)
    split = hunt([path], ruleset, workers=2, piece_bytes=2 * CHUNK_BYTES)
    assert whole.events == split.events == 565
    assert [d.to_dict() for d in split.detections] == [d.to_dict() for d in whole.detections]
    assert len(whole.detections) > 0
    assert split.files == {str(path): "analysed"}


def test_truncated_big_file_warns_once(tmp_path: Path, shared: Path) -> None:
    data = (shared / PANACHE).read_bytes()
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(data[: HEADER_BYTES + 5 * CHUNK_BYTES + 100])
    result = hunt([cut], load_rules([PACKAGE_RULES]), workers=2, piece_bytes=2 * CHUNK_BYTES)
    truncated = [w for w in result.warnings if "truncated" in w.message]
    assert len(truncated) == 1 and truncated[0].where == str(cut)
    assert result.events > 0
    assert result.files[str(cut)] == "analysed"


def _tasks_counted_first(files: list[Path], workers: int, batch_rows: int) -> list[object]:
    """The tasks as they were made before streaming: every file counted, then grouped."""
    from aptlink.hunt.runner import _event_counts, _pieces

    counts = [_event_counts(f) for f in files]
    target = max(1, min(batch_rows, sum(map(sum, counts)) // (2 * workers)))
    tasks, group, held = [], [], 0
    for path, per_chunk in zip(files, counts, strict=True):
        for piece, events in _pieces(path, per_chunk, target, 512):
            if group and held + events > target:
                tasks.append((tuple(group), batch_rows))
                group, held = [], 0
            group.append(piece)
            held += events
    if group:
        tasks.append((tuple(group), batch_rows))
    return tasks


@pytest.mark.parametrize("batch_rows", [150, 300, 2000, 5000, 100_000])
def test_streamed_tasks_equal_tasks_of_every_file_counted(shared: Path, batch_rows: int) -> None:
    files = sorted((shared / "evtx" / "attack-samples").rglob("*.evtx"))
    assert file_tasks(files, 2, batch_rows) == _tasks_counted_first(files, 2, batch_rows)


def test_tasks_come_before_every_file_is_counted(shared: Path) -> None:
    files = sorted((shared / "evtx" / "attack-samples").rglob("*.evtx"))
    pulled: list[Path] = []

    def walk() -> Iterator[Path]:
        for path in files:
            pulled.append(path)
            yield path

    first = next(stream_tasks(walk(), workers=2, batch_rows=300))
    assert len(first[0]) < len(pulled) < len(files) // 2


def _big_export(path: Path, copies: int, dated: bool = True) -> None:
    """The MirrorFace cases again and again (record ids made unique), with the lines a real
    export has now and then: an empty one, one that is not JSON, one without a record id.
    ``dated``: every copy on its own day; else the factory's times (minutes past 59, unreadable)."""
    import json

    from hunt_factory import CASES, event

    lines = []
    for copy in range(copies):
        for record, shape, channel, event_id, data, _ in CASES:
            if shape in ("winlogbeat", "evtx", "flat"):
                text = json.dumps(event(copy * 1000 + record, shape, channel, event_id, data))
                when = f"2024-{1 + copy // 28:02d}-{1 + copy % 28:02d}T01:{record:02d}:00.000Z"
                lines.append(re.sub(r"2024-06-20T01:\d+:00.000Z", when, text) if dated else text)
        lines += ["", "{not json" if copy % 7 == 3 else '{"Channel": "System", "EventID": 7036}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _whole_and_split(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The hunt of ``path`` read whole by one process, and shared by two in ranges of blocks."""
    from aptlink.hunt import runner

    rules = load_rules([PACKAGE_RULES])
    monkeypatch.setattr(runner, "SPLIT_JSON_BYTES", 1 << 40)
    one = hunt([path], rules, workers=1)
    monkeypatch.setattr(runner, "SPLIT_JSON_BYTES", 1)
    two = hunt([path], rules, workers=2, batch_rows=500, piece_bytes=2 * runner.BLOCK_BYTES)
    return one, two


def test_a_big_json_lines_export_is_shared_by_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges of 64 KB blocks, cut anywhere in a line: every line read once, numbered as in the
    whole file (warnings name the same lines), and the same detections with two workers."""
    from aptlink.evidence import eventjson
    from aptlink.hunt import runner

    path = tmp_path / "winlogbeat.ndjson"
    _big_export(path, copies=120)
    size = path.stat().st_size
    assert size > 4 * runner.BLOCK_BYTES
    whole_ctx = ParseContext()
    whole = list(eventjson.read_event_json(path, whole_ctx))
    monkeypatch.setattr(runner, "SPLIT_JSON_BYTES", 1)
    per_block = runner._event_counts(path)
    assert len(per_block) == -(-size // runner.BLOCK_BYTES)
    assert sum(per_block) == path.read_bytes().count(b"\n")
    tasks = file_tasks([path], workers=2, batch_rows=500, piece_bytes=runner.BLOCK_BYTES)
    pieces = [piece for group, _ in tasks for piece in group]
    assert len(pieces) == len(per_block) and all(len(p) == 4 for p in pieces)
    split_ctx = ParseContext()
    split = [r for p in pieces for r in runner.read_events(path, split_ctx, p[1:])]
    assert split == whole
    assert split_ctx.warnings == whole_ctx.warnings and whole_ctx.warnings
    one, two = _whole_and_split(path, monkeypatch)
    assert [d.to_dict() for d in two.detections] == [d.to_dict() for d in one.detections]
    assert sorted(two.warnings, key=str) == sorted(one.warnings, key=str)
    assert two.events == one.events == len(whole) and two.files == one.files


def test_an_export_without_newlines_is_read_in_bounded_pieces(tmp_path: Path) -> None:
    from aptlink.evidence import eventjson

    path = tmp_path / "one-line.jsonl"
    path.write_bytes(
        b'{"Channel": "' + b"x" * (eventjson.MAX_LINE_BYTES + 10) + b'"}\n{"EventID": 1}'
    )
    ctx = ParseContext()
    rows = list(eventjson.read_event_json(path, ctx))
    assert [r["EventID"] for r in rows] == ["1"]
    assert [(w.where, w.message) for w in ctx.warnings] == [
        (f"{path}:1", f"line over the {eventjson.MAX_LINE_BYTES} limit")
    ]


def test_correlations_do_not_depend_on_the_number_of_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal or unreadable times (here the factory's minutes past 59): the correlation windows
    are the same whichever worker's detections come back first."""
    path = tmp_path / "ties.ndjson"
    _big_export(path, copies=120, dated=False)
    one, two = _whole_and_split(path, monkeypatch)
    assert [d.to_dict() for d in two.detections] == [d.to_dict() for d in one.detections]
    assert any("correlation" in d.fields for d in one.detections)
