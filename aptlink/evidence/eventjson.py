"""Windows events exported as JSON lines (Winlogbeat, Velociraptor, evtx_dump, flat exports).

One event per line; each becomes a flat row (see ``aptlink.hunt.events``) and the rows come out in
batches (Arrow tables, item kind ``eventlog``) for the hunt. A line that is not a JSON object is a
warning with its line number; the rest of the file is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from aptlink.errors import UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source, path_text
from aptlink.hunt.rows import META_FILE, META_RECORD, META_TIME, Row, flatten
from aptlink.hunt.rows import event_time as row_time

MAX_LINE_BYTES = 4 * 1024 * 1024
# Keys that show a JSON object is a Windows event in one of the shapes we read.
EVENT_MARKERS = (b'"winlog"', b'"EventID"', b'"Event"', b'"System"', b'"event_id"')


class EventJsonParser(Parser):
    """JSON-lines Windows event exports, one event per line."""

    name = "eventjson"
    description = "Windows events as JSON lines (Winlogbeat, Velociraptor, evtx_dump)"
    extensions = (".jsonl", ".ndjson", ".json")

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
        if not first.startswith(b"{"):
            return 0
        if not any(marker in first for marker in EVENT_MARKERS):
            return 0
        # a Windows event, not a MISP export that also opens with {"Event": ...}
        windows = b'"winlog"' in first or (b'"System"' in first and b'"EventID"' in first)
        return 92 if windows or b'"Channel"' in first else 70

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        if self.sniff(source.head(), source.path) == 0:
            raise UnsupportedEvidence("not JSON lines of Windows events", source.where)
        from aptlink.hunt.events import eventlog_items  # Arrow, only once events are read

        yield from eventlog_items(self.name, source, read_event_json(source.path, ctx))


def read_event_json(
    path: Path, ctx: ParseContext, span: tuple[int, int, int] | None = None
) -> Iterator[Row]:
    """Flat rows, one per JSON line; bad lines become warnings with their line number.

    ``span`` (start, end, lines before start): only the lines that start in that byte range, so
    that the processes of a hunt share one big export (a line belongs to the range it starts in;
    the caller counted the lines before ``start``, which number the ones read)."""
    start, end, before = span if span is not None else (0, -1, 0)
    with path.open("rb") as fh:
        number = before + 1
        if start > 0:
            fh.seek(start - 1)
            if fh.readline(1) != b"\n":  # the tail of a line of the range before
                _skip_line(fh)
                number += 1
        offset = fh.tell()
        while end < 0 or offset < end:
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            offset += len(line)
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                offset += _skip_line(fh)  # (never held whole: a hostile file may have no newline)
                ctx.warn(f"{path_text(path)}:{number}", f"line over the {MAX_LINE_BYTES} limit")
            else:
                row = _row(line, number, path, ctx)
                if row is not None:
                    yield row
            number += 1


def _skip_line(fh: BinaryIO) -> int:
    """Read past the end of the current line, a megabyte at a time; the bytes skipped."""
    skipped = 0
    while True:
        part = fh.readline(1 << 20)
        skipped += len(part)
        if not part or part.endswith(b"\n"):
            return skipped


def _row(line: bytes, number: int, path: Path, ctx: ParseContext) -> Row | None:
    line = line.strip()
    if number == 1:
        line = line.removeprefix(b"\xef\xbb\xbf")  # (Windows PowerShell writes UTF-8 with a BOM)
    if not line:
        return None
    where = f"{path_text(path)}:{number}"
    if len(line) > MAX_LINE_BYTES:
        ctx.warn(where, f"line of {len(line)} bytes is over the {MAX_LINE_BYTES} limit")
        return None
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        ctx.warn(where, f"not JSON: {exc}")
        return None
    if not isinstance(event, dict):
        ctx.warn(where, "not a JSON object")
        return None
    source = event.get("_source")
    if isinstance(source, dict) and not {"winlog", "Event", "System"} & event.keys():
        event = source  # an Elasticsearch document (elasticdump, a scroll or search export)
    row = flatten(event)
    row[META_FILE] = path_text(path)
    row[META_RECORD] = row.get("EventRecordID") or f"line {number}"
    time = row_time(row)
    if time:
        row[META_TIME] = time
    return row
