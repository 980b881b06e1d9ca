"""Windows event logs (.evtx), read with the ``evtx`` Rust parser, as batches of flat event rows.

Each item is one batch (an Arrow table of flattened events, kind ``eventlog``) that the hunt detector
runs Sigma rules over. A broken chunk or record is a warning with its place; the other chunks are
still read. A truncated file (fewer chunks than its header announces) is a warning too.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import evtx
import orjson

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source, path_text
from aptlink.hunt.rows import (
    META_FILE,
    META_RECORD,
    META_TIME,
    Row,
    flatten,
    flatten_evtx_json,
    normalise_time,
)
from aptlink.hunt.rows import event_time as row_time

MAGIC = b"ElfFile\x00"
HEADER_BYTES = 4096
CHUNK_BYTES = 65536
MAX_ERRORS_PER_FILE = 1000


class EvtxParser(Parser):
    """Windows XML event logs (.evtx) as batches of flattened events."""

    name = "evtx"
    description = "Windows event log (.evtx), read with the evtx Rust parser"
    extensions = (".evtx",)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        return 95 if head.startswith(MAGIC) else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        if not source.head(8).startswith(MAGIC):
            raise UnsupportedEvidence("not an EVTX file (no ElfFile header)", source.where)
        from aptlink.hunt.events import eventlog_items  # Arrow, only once events are read

        yield from eventlog_items(self.name, source, read_evtx(source.path, ctx))


def read_evtx(
    path: Path,
    ctx: ParseContext,
    chunks: tuple[int, int] | None = None,
    header: tuple[bytes, int] | None = None,
) -> Iterator[Row]:
    """Flat rows of every readable record; broken chunks and truncation become warnings.

    ``chunks`` (first, end): only those 64 KB chunks, so that the processes of a hunt can share
    one big file (a chunk holds whole records; the truncation check goes with chunk 0).
    ``header``: the file's first bytes and its size when the caller has read them already (a
    hunt reads tens of thousands of small files: one open less each)."""
    where = path_text(path)
    if chunks is None or chunks[0] == 0:
        _warn_if_truncated(path, ctx, header)
    source: str | BinaryIO = where
    try:
        source = _parser_source(path) if chunks is None else _chunk_range(path, *chunks)
        # one thread: the hunt already runs a parsing process per core
        records = evtx.PyEvtxParser(source, number_of_threads=1).records_json()
    except (OSError, RuntimeError, ValueError) as exc:
        _close(source)
        raise CorruptEvidence(f"unreadable EVTX: {exc}", where) from None
    try:
        yield from _rows(records, path, where, ctx, chunks)
    finally:
        _close(source)


def _close(source: str | BinaryIO) -> None:
    if not isinstance(source, str):
        source.close()


def _rows(
    records: Iterator[object],
    path: Path,
    where: str,
    ctx: ParseContext,
    chunks: tuple[int, int] | None,
) -> Iterator[Row]:
    errors = rows = 0
    while errors < MAX_ERRORS_PER_FILE:
        try:
            record = next(records)
        except StopIteration:
            if not rows and not errors and (chunks is None or chunks[0] == 0):
                _warn_if_empty(path, ctx)
            return
        except (OSError, RuntimeError, ValueError) as exc:
            errors += 1
            ctx.warn(where, f"skipped a broken chunk or record: {exc}")
            continue
        row = _row(record, where, ctx) if type(record) is dict else None
        if row is not None:
            rows += 1
            yield row
    ctx.warn(where, f"stopped after {errors} broken chunks or records")


def _warn_if_empty(path: Path, ctx: ParseContext) -> None:
    """No record at all from a file with room for chunks: none of them is a valid chunk (zeros,
    a wiped or overwritten log), which an analyst must hear about rather than read as "no events"."""
    size = path.stat().st_size
    if size > HEADER_BYTES:
        ctx.warn(
            path_text(path), f"no event record could be read from {chunk_count(size)} chunk slots"
        )


def _row(record: dict[str, object], where: str, ctx: ParseContext) -> Row | None:
    number = record.get("event_record_id")
    data = record.get("data")
    row = flatten_evtx_json(data) if type(data) is str else None  # the common shape, typed
    if row is None:
        row = _generic_row(record, f"{where}#{number}", ctx)
        if row is None:
            return None
    row[META_FILE] = where
    row[META_RECORD] = str(row.get("EventRecordID") or number)
    created = row.get("SystemTime")  # (nearly always: ``row_time`` looks at it first)
    time = normalise_time(created) if created else row_time(row)
    time = time or (str(record.get("timestamp") or "") or None)
    if time:
        row[META_TIME] = time
    return row


def _generic_row(record: dict[str, object], where: str, ctx: ParseContext) -> Row | None:
    """Any other record: orjson, then the generic ``flatten``."""
    try:
        event = orjson.loads(record["data"])  # type: ignore[arg-type]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        ctx.warn(where, f"record is not valid JSON: {exc}")
        return None
    if type(event) is not dict:
        ctx.warn(where, "record is not a JSON object")
        return None
    return flatten(event)


def _parser_source(path: Path) -> str | BinaryIO:
    """What the evtx parser opens: the path, or an open file when the name is not UTF-8 (bytes
    that Python holds as surrogates, e.g. a Shift_JIS name copied from a Japanese volume, which
    the parser would look up as another name: "No such file or directory")."""
    name = str(path)
    return name if path_text(name) == name else path.open("rb")


def _chunk_range(path: Path, first: int, end: int) -> BinaryIO:
    """The file header followed by chunks ``first`` to ``end`` (exclusive): an EVTX file of its
    own to the parser, which reads the chunks that are there whatever the header's count says."""
    with path.open("rb") as fh:
        header = fh.read(HEADER_BYTES)
        fh.seek(HEADER_BYTES + first * CHUNK_BYTES)
        body = fh.read((end - first) * CHUNK_BYTES)
    return io.BytesIO(header + body)


CHUNK_MAGIC = b"ElfChnk\x00"
MOST_CHUNK_RECORDS = 8192  # a 64 KB chunk cannot hold more records (each takes more than 8 bytes)


def chunk_records(path: Path, size: int) -> list[int] | None:
    """Records per chunk, from each chunk header's first and last record numbers (0 for a chunk
    without a valid header, or one that claims more than a chunk can hold): what a hunt uses to
    size its tasks, read without parsing a record (positioned reads of 24 bytes, no buffered file:
    a hunt asks this of tens of thousands of small files). None when the file cannot be read."""
    counts = []
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        for number in range(chunk_count(size)):
            head = os.pread(fd, 24, HEADER_BYTES + number * CHUNK_BYTES)
            if len(head) < 24 or not head.startswith(CHUNK_MAGIC):
                counts.append(0)
                continue
            first, last = struct.unpack_from("<QQ", head, 8)
            records = last - first + 1
            counts.append(records if 0 < records <= MOST_CHUNK_RECORDS else 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    return counts


def chunk_count(size: int) -> int:
    """Chunk slots in a file of ``size`` bytes (a cut last chunk counts)."""
    return max(0, -(-(size - HEADER_BYTES) // CHUNK_BYTES))


def _warn_if_truncated(
    path: Path, ctx: ParseContext, known: tuple[bytes, int] | None = None
) -> None:
    """The header says how many chunks follow; fewer bytes than that means the file was cut.
    ``known``: the file's first bytes (at least its header, or all it has) and its size."""
    if known is None:
        with path.open("rb") as fh:
            header = fh.read(HEADER_BYTES)
    else:
        header = known[0][:HEADER_BYTES]
    if len(header) < 0x2C or not header.startswith(MAGIC):
        return
    (chunks,) = struct.unpack_from("<H", header, 0x2A)
    expected = HEADER_BYTES + chunks * CHUNK_BYTES
    size = path.stat().st_size if known is None else known[1]
    if size < expected:
        whole = max(0, (size - HEADER_BYTES) // CHUNK_BYTES)
        ctx.warn(
            path_text(path),
            f"truncated: {size} bytes, the header announces {chunks} chunks ({expected} bytes); "
            f"{whole} whole chunks read",
        )
