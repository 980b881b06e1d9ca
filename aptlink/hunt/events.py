"""Batches of flat event rows as columnar tables (Arrow), what the hunt engine matches.

The rows themselves (flattening, field names, times) are in :mod:`aptlink.hunt.rows`, which the
event parsers use without importing Arrow; their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from aptlink.evidence.base import Item, Source
from aptlink.hunt.rows import (
    HASH_LIST_FIELDS,
    META_FIELDS,
    META_FILE,
    META_RECORD,
    META_TIME,
    SYSTEM_NAMES,
    Row,
    event_time,
    flatten,
    normalise_time,
    text,
)

__all__ = [
    "HASH_LIST_FIELDS",
    "META_FIELDS",
    "META_FILE",
    "META_RECORD",
    "META_TIME",
    "SYSTEM_NAMES",
    "BatchTooBig",
    "CellTable",
    "Row",
    "batched",
    "batched_cells",
    "cell_table",
    "event_time",
    "flatten",
    "normalise_time",
    "text",
    "to_table",
]


BATCH_ROWS = 50_000  # rows per table of an event file in ``investigate``


def to_table(rows: Iterable[Row]) -> pa.Table:
    """A columnar table (one string column per field, null where absent) from flat rows."""
    return cell_table(rows).to_table()


class BatchTooBig(ValueError):
    """The text of a batch is over ``MAX_BATCH_TEXT`` (Arrow strings hold at most 2 GiB)."""


MAX_BATCH_TEXT = 1 << 30  # long PowerShell script blocks can make 50,000 events exceed 2 GiB


def cell_table(rows: Iterable[Row]) -> CellTable:
    """The rows as a ``CellTable``: every value of every row goes into one flat list in C
    (``extend``), then Arrow and numpy sort the cells by field; no Python loop per cell, and no
    null per absent cell (a batch has hundreds of fields, each event a few dozen). Field names are
    numbered per row *shape* (its tuple of names: events of one kind share it, a batch has a few
    hundred), not per cell. Raises ``BatchTooBig`` when the text is over ``MAX_BATCH_TEXT``
    (``batched_cells`` then halves it)."""
    shapes: dict[tuple[str, ...], int] = {}
    shape_of_row: list[int] = []
    values: list[str] = []
    for row in rows:
        values.extend(row.values())
        shape = tuple(row)
        number = shapes.get(shape)
        if number is None:
            number = shapes[shape] = len(shapes)
        shape_of_row.append(number)
    text = pa.array(values, pa.string())
    if isinstance(text, pa.ChunkedArray) or _text_bytes(text) > MAX_BATCH_TEXT:
        raise BatchTooBig(f"{len(shape_of_row)} rows hold over {MAX_BATCH_TEXT} bytes of text")
    return CellTable(*_field_codes(shapes, shape_of_row), text)


def _field_codes(
    shapes: dict[tuple[str, ...], int], shape_of_row: list[int]
) -> tuple[list[str], npt.NDArray[np.integer], npt.NDArray[np.int64]]:
    """Field names in order of first appearance, the field number of every cell, and the number
    of cells of every row. Shapes are numbered in order of first appearance, so numbering their
    names in turn gives the order of the cells (what ``dictionary_encode`` of the names gave)."""
    numbers: dict[str, int] = {}
    per_shape = [[numbers.setdefault(name, len(numbers)) for name in shape] for shape in shapes]
    # 16-bit numbers sort by radix (a batch has hundreds of fields; hostile input may have more)
    kind = np.int16 if len(numbers) < np.iinfo(np.int16).max else np.int64
    arrays = [np.array(codes, kind) for codes in per_shape]
    rows = np.asarray(shape_of_row, np.int64)
    widths = np.array([len(codes) for codes in per_shape], np.int64)[rows]
    codes: npt.NDArray[np.integer] = (
        np.concatenate([arrays[n] for n in shape_of_row]) if shape_of_row else np.empty(0, kind)
    )
    return list(numbers), codes, widths


class CellTable:
    """A batch of flat rows as cells sorted by field, each column made as Arrow only when asked
    for: the hunt touches a third of a batch's fields (those its rules name), and a column's
    present values alone serve the full-text (keyword) search. Offers the part of ``pa.Table``
    the engine uses (``num_rows``, ``column_names``, ``column``, ``select``)."""

    def __init__(
        self,
        names: list[str],
        codes: npt.NDArray[np.integer],
        widths: npt.NDArray[np.int64],
        values: pa.Array,
    ) -> None:
        """``codes``: per cell (in row order) the number of its field in ``names``; ``widths``:
        cells per row; ``values``: the cells' text, in row order."""
        self.num_rows = count = len(widths)
        self.column_names: list[str] = names
        row_of = np.repeat(np.arange(count, dtype=np.int64), widths)
        order = np.argsort(codes, kind="stable")  # by field, rows ascending within a field
        ordered = values.take(pa.array(order)) if len(order) else values
        if isinstance(ordered, pa.ChunkedArray):
            ordered = ordered.combine_chunks()
        self._ordered: pa.Array = ordered
        self._rows = row_of[order]
        self._bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        self._number = {name: number for number, name in enumerate(names)}
        self._dense: dict[str, pa.Array] = {}

    @property
    def num_columns(self) -> int:
        return len(self.column_names)

    def _span(self, name: str) -> tuple[int, int]:
        number = self._number[name]
        return int(self._bounds[number]), int(self._bounds[number + 1])

    def present(self, name: str) -> pa.Array:
        """The field's values in the rows that have it, in row order (no nulls)."""
        lo, hi = self._span(name)
        return self._ordered.slice(lo, hi - lo)

    def present_rows(self, name: str) -> npt.NDArray[np.int64]:
        """The rows that have the field, ascending (aligned with ``present``)."""
        lo, hi = self._span(name)
        return self._rows[lo:hi]

    def column(self, name: str) -> pa.Array:
        """The field as a full-length string column (null where absent), made once."""
        found = self._dense.get(name)
        if found is None:
            found = self._dense[name] = self._build(name)
        return found

    def _build(self, name: str) -> pa.Array:
        """From buffers: the values are a contiguous run of the sorted text, so only offsets (and
        a validity bitmap when some rows lack the field) are computed, with numpy."""
        count, (lo, hi) = self.num_rows, self._span(name)
        starts = np.frombuffer(self._ordered.buffers()[1], np.int32, len(self._ordered) + 1)
        starts = starts[self._ordered.offset :]
        sizes = np.zeros(count, np.int32)
        rows = self._rows[lo:hi]
        sizes[rows] = np.diff(starts[lo : hi + 1])
        offsets = np.empty(count + 1, np.int32)
        offsets[0] = starts[lo]
        np.cumsum(sizes, out=offsets[1:])
        offsets[1:] += starts[lo]
        validity = None
        if hi - lo < count:
            present = np.zeros(count, np.bool_)
            present[rows] = True
            validity = pa.py_buffer(np.packbits(present, bitorder="little"))
        return pa.StringArray.from_buffers(
            count, pa.py_buffer(offsets), self._ordered.buffers()[2], validity, count - (hi - lo)
        )

    def select(self, names: Iterable[str]) -> pa.Table:
        return pa.table({name: self.column(name) for name in names})

    def to_table(self) -> pa.Table:
        if not self.column_names:
            return pa.table({META_RECORD: pa.nulls(self.num_rows, pa.string())})
        return self.select(self.column_names)


def eventlog_items(parser: str, source: Source, rows: Iterable[Row]) -> Iterator[Item]:
    """The items an event parser gives ``investigate``: tables of ``BATCH_ROWS`` rows, kind
    ``eventlog``, each with its batch number as the record."""
    if source.name:  # (a stand-in file, e.g. a collection's member: rows name the member)
        rows = _named(rows, source.name)
    for number, table in enumerate(batched(rows, BATCH_ROWS)):
        prov = source.provenance(parser, record=f"batch {number}")
        yield Item(kind="eventlog", provenance=prov, data=table)


def _named(rows: Iterable[Row], name: str) -> Iterator[Row]:
    for row in rows:  # (each row is the reader's own, fresh dict)
        row[META_FILE] = name
        yield row


def batched(rows: Iterable[Row], size: int) -> Iterator[pa.Table]:
    """Tables of at most ``size`` rows: memory stays bounded however long the input is."""
    for cells in batched_cells(rows, size):
        yield cells.to_table()


def batched_cells(rows: Iterable[Row], size: int) -> Iterator[CellTable]:
    """``CellTable`` batches of at most ``size`` rows (what the hunt matches)."""
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield from _cell_tables(chunk)
            chunk = []
    if chunk:
        yield from _cell_tables(chunk)


def _text_bytes(text: pa.Array) -> int:
    """Bytes of text in a string array (from its offsets), without touching the values."""
    if not len(text):
        return 0
    offsets = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1 + text.offset)
    return int(offsets[-1] - offsets[text.offset])


def _cell_tables(rows: list[Row]) -> Iterator[CellTable]:
    """One table, or (text over the limit) the two halves' tables, recursively."""
    try:
        yield cell_table(rows)
    except BatchTooBig:
        if len(rows) == 1:
            raise
        half = len(rows) // 2
        yield from _cell_tables(rows[:half])
        yield from _cell_tables(rows[half:])
