"""JSON lines written as bytes are the text lines of ``json_lines``, block boundaries and the
escaped fallback for a lone surrogate included; the timeline is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from aptlink.hunt.output import json_lines, write_json_lines, write_timeline
from aptlink.hunt.runner import Detection


def _detection(number: int, value: str) -> Detection:
    return Detection(
        "id", "Rule ü", "high", ("T1059",), ("execution",), "f.evtx", str(number), None,
        "PC", "Security", "4688", {"CommandLine": value}, {"Image": "C:\\é.exe"},
    )  # fmt: skip


def test_bytes_are_the_text_lines() -> None:
    detections = [_detection(n, "cmd \udc80 /c" if n == 3 else f"cmd {n} ✓") for n in range(7)]
    out = io.BytesIO()
    write_json_lines(detections, out, block=2)
    assert out.getvalue() == ("\n".join(json_lines(detections)) + "\n").encode()
    assert out.getvalue().count(b"\n") == 7


def test_nothing_to_write() -> None:
    out = io.BytesIO()
    write_json_lines([], out)
    assert out.getvalue() == b""


def test_timeline_csv_is_safe_to_open_in_a_spreadsheet(tmp_path: Path) -> None:
    """Evidence is hostile: a host name or file name that is a formula must not run when the
    analyst opens the timeline in Excel; Japanese text must not turn into mojibake there."""
    hostile = Detection(
        "id", "Rule", "high", ("T1059",), ("execution",), "+cmd.evtx", "7", "2024-06-20T01:00:00Z",
        "=HYPERLINK(\"http://x\",\"a\")", "Security", "4688", {"CommandLine": "-c \udc80 田中"}, {},
    )  # fmt: skip
    path = tmp_path / "timeline.csv"
    assert write_timeline([hostile], path) == 1
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    (row,) = csv.DictReader(raw.decode("utf-8-sig").splitlines())
    assert row["computer"] == '\'=HYPERLINK("http://x","a")'
    assert row["file"] == "'+cmd.evtx"
    assert row["matched"] == "CommandLine=-c \\udc80 田中"
    assert row["timestamp"] == "2024-06-20T01:00:00Z" and row["event_id"] == "4688"
    jsonl = tmp_path / "timeline.jsonl"
    write_timeline([hostile], jsonl)
    assert json.loads(jsonl.read_text(encoding="utf-8"))["computer"].startswith("=HYPERLINK")
