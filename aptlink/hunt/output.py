"""How a hunt is written out: detections as JSON lines, a timeline (CSV or JSONL) sorted by time,
and a summary per rule and per ATT&CK tactic."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from aptlink.errors import ConfigError
from aptlink.hunt.rules import RuleSet
from aptlink.hunt.runner import Detection, HuntResult

TIMELINE_COLUMNS = (
    "timestamp", "computer", "channel", "event_id", "event_record_id", "level", "title",
    "rule_id", "attack", "file", "matched",
)  # fmt: skip


def json_line(detection: Detection) -> bytes:
    """One compact JSON object, UTF-8 (orjson: a million-event hunt writes ~150,000)."""
    data = detection.to_dict()
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:  # a lone surrogate from a JSON-lines export: escape it
        return json.dumps(data).encode()


def json_lines(detections: Iterable[Detection]) -> Iterable[str]:
    """``json_line`` of each detection, as text."""
    return (json_line(d).decode() for d in detections)


def write_json_lines(detections: Iterable[Detection], out: BinaryIO, block: int = 2000) -> None:
    """``json_line`` of each detection written to a binary stream a block at a time: orjson
    makes bytes, so no decoding to text and encoding back (a million-event hunt writes ~180 MB)."""
    held: list[bytes] = []
    for detection in detections:
        held.append(json_line(detection))
        if len(held) >= block:
            held.append(b"")
            out.write(b"\n".join(held))
            held = []
    if held:
        held.append(b"")
        out.write(b"\n".join(held))


def timeline_rows(detections: Iterable[Detection]) -> list[dict[str, str]]:
    rows = []
    for d in sorted(detections, key=lambda d: (d.time or "", d.computer or "", d.record)):
        rows.append(
            {
                "timestamp": d.time or "",
                "computer": d.computer or "",
                "channel": d.channel or "",
                "event_id": d.event_id or "",
                "event_record_id": d.record,
                "level": d.level,
                "title": d.title,
                "rule_id": d.rule_id,
                "attack": " ".join(d.techniques),
                "file": d.file,
                "matched": "; ".join(f"{k}={v}" for k, v in d.fields.items()),
            }
        )
    return rows


# A cell starting with one of these is a formula to Excel and LibreOffice (=cmd|' /C calc'!A0
# runs a program when the sheet is opened): command lines, host and file names come from the
# evidence, i.e. from the attacker.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: str) -> str:
    """``value`` as text a spreadsheet shows and never evaluates: a leading apostrophe before a
    formula's first character (OWASP's advice for CSV injection), anything else as it is."""
    return "'" + value if value.startswith(FORMULA_START) else value


def write_timeline(detections: Iterable[Detection], path: Path) -> int:
    """Write the timeline as CSV or JSONL (by extension); returns the number of rows. The CSV is
    for spreadsheets: UTF-8 with a byte-order mark (without one, Excel reads Japanese paths and
    names as Shift_JIS) and no cell a spreadsheet would evaluate. A lone surrogate (from a
    JSON-lines export) is written escaped, in both forms."""
    rows = timeline_rows(detections)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=TIMELINE_COLUMNS)
        writer.writeheader()
        writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)
        path.write_text(buffer.getvalue(), encoding="utf-8-sig", errors="backslashreplace")
    elif suffix in (".jsonl", ".ndjson", ".json"):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
    else:
        raise ConfigError("timeline must end in .csv or .jsonl", str(path))
    return len(rows)


def _skipped(status: str) -> bool:
    return status.startswith("skipped:")


def summary(result: HuntResult, ruleset: RuleSet) -> dict[str, Any]:
    """Counts for the closing report: files, events, rules, hits per rule and per tactic."""
    failed = {f: s for f, s in result.files.items() if s != "analysed" and not _skipped(s)}
    return {
        "files": len(result.files),
        "files_failed": failed,
        "files_skipped": {f: s for f, s in result.files.items() if _skipped(s)},
        "events": result.events,
        "rules_loaded": len(ruleset.rules),
        "correlations_loaded": len(ruleset.correlations),
        "filters_applied": [{"file": f, "title": t, "rules": n} for f, t, n in ruleset.filters],
        "rules_not_loaded": len(ruleset.problems),
        "rules_hit": len({d.rule_id for d in result.detections}),
        "detections": len(result.detections),
        "per_rule": result.per_rule(),
        "per_tactic": result.per_tactic(),
        "warnings": len(result.warnings),
        "seconds": {
            "parse": round(result.parse_seconds, 3),
            "match": round(result.match_seconds, 3),
            "wall": round(result.wall_seconds, 3),
        },
    }
