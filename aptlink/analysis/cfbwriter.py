"""A minimal writer of Compound File Binary files (MS-CFB, version 3, 512-byte sectors), enough to
build the OLE containers the evidence builders need (a VBA project). Streams under 4096 bytes go to
the mini stream, as the format requires; siblings form a balanced, all-black search tree.
"""

from __future__ import annotations

import dataclasses
import struct
import uuid
from collections.abc import Mapping

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREE, END, FAT_MARK, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
STORAGE, STREAM, ROOT = 1, 2, 5


@dataclasses.dataclass(slots=True)
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[_Entry] = dataclasses.field(default_factory=list)
    sid: int = 0
    left: int = NONE
    right: int = NONE
    child: int = NONE
    start: int = END
    clsid: bytes = bytes(16)


def write_cfb(streams: Mapping[str, bytes], *, root_clsid: str | None = None) -> bytes:
    """A compound file holding ``streams``, keyed by slash-separated paths (storages are implied);
    ``root_clsid`` names the application class of the whole file (an MSI package has one)."""
    root = _tree(streams)
    if root_clsid:
        root.clsid = uuid.UUID(root_clsid).bytes_le
    entries = _number(root)
    mini_fat, mini_stream = _mini(entries)
    return _layout(entries, mini_fat, mini_stream)


def _tree(streams: Mapping[str, bytes]) -> _Entry:
    root = _Entry("Root Entry", ROOT)
    for path, data in streams.items():
        node = root
        *storages, leaf = path.split("/")
        for name in storages:
            found = next((c for c in node.children if c.name == name and c.kind == STORAGE), None)
            if found is None:
                found = _Entry(name, STORAGE)
                node.children.append(found)
            node = found
        node.children.append(_Entry(leaf, STREAM, data))
    return root


def _number(root: _Entry) -> list[_Entry]:
    entries = [root]
    pending = [root]
    while pending:
        node = pending.pop(0)
        for child in node.children:
            child.sid = len(entries)
            entries.append(child)
            pending.append(child)
    for node in entries:
        node.child = _balanced(sorted(node.children, key=_order))
    return entries


def _order(entry: _Entry) -> tuple[int, str]:
    # MS-CFB compares names by length first, then by upper-case code points.
    return len(entry.name), entry.name.upper()


def _balanced(siblings: list[_Entry]) -> int:
    if not siblings:
        return NONE
    middle = len(siblings) // 2
    node = siblings[middle]
    node.left = _balanced(siblings[:middle])
    node.right = _balanced(siblings[middle + 1 :])
    return node.sid


def _mini(entries: list[_Entry]) -> tuple[list[int], bytes]:
    fat: list[int] = []
    stream = bytearray()
    for entry in entries:
        if entry.kind == STREAM and 0 < len(entry.data) < MINI_CUTOFF:
            entry.start = len(fat)
            count = -(-len(entry.data) // MINI_SECTOR)
            fat += [len(fat) + i + 1 for i in range(count - 1)] + [END]
            stream += entry.data.ljust(count * MINI_SECTOR, b"\x00")
    return fat, bytes(stream)


def _sectors(data: bytes) -> int:
    return -(-len(data) // SECTOR)


def _layout(entries: list[_Entry], mini_fat: list[int], mini_stream: bytes) -> bytes:
    big = [e for e in entries if e.kind == STREAM and len(e.data) >= MINI_CUTOFF]
    dir_count = -(-len(entries) // 4)
    mini_fat_bytes = b"".join(struct.pack("<I", v) for v in mini_fat)
    runs = [
        dir_count,
        _sectors(mini_fat_bytes),
        _sectors(mini_stream),
        *(_sectors(e.data) for e in big),
    ]
    fat_count = 1
    while fat_count * 128 < fat_count + sum(runs):
        fat_count += 1
    fat = [FAT_MARK] * fat_count
    starts = []
    for run in runs:
        starts.append(len(fat) if run else END)
        fat += [len(fat) + i + 1 for i in range(run - 1)] + ([END] if run else [])
    entries[0].start = starts[2]
    for entry, start in zip(big, starts[3:], strict=True):
        entry.start = start
    body = _directory(entries, dir_count, len(mini_stream))
    body += _pad(mini_fat_bytes) + _pad(mini_stream) + b"".join(_pad(e.data) for e in big)
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat).ljust(fat_count * SECTOR, b"\xff")
    return _header(fat_count, starts[0], starts[1], _sectors(mini_fat_bytes)) + fat_bytes + body


def _pad(data: bytes) -> bytes:
    return data.ljust(_sectors(data) * SECTOR, b"\x00")


def _directory(entries: list[_Entry], dir_count: int, mini_size: int) -> bytes:
    out = b"".join(_dir_entry(e, mini_size) for e in entries)
    empty = b"\x00" * 64 + struct.pack("<HBBIII", 0, 0, 0, NONE, NONE, NONE) + b"\x00" * 48
    return out + empty * (dir_count * 4 - len(entries))


def _dir_entry(entry: _Entry, mini_size: int) -> bytes:
    name = entry.name.encode("utf-16-le")[:62] + b"\x00\x00"
    size = mini_size if entry.kind == ROOT else len(entry.data)
    start = entry.start if (entry.kind == ROOT and mini_size) or entry.data else END
    if entry.kind == STORAGE:
        start, size = 0, 0
    head = name.ljust(64, b"\x00") + struct.pack("<HBB", len(name), entry.kind, 1)
    links = struct.pack("<III", entry.left, entry.right, entry.child)
    return head + links + entry.clsid + struct.pack("<IQQIQ", 0, 0, 0, start, size)


def _header(fat_count: int, dir_start: int, mini_fat_start: int, mini_fat_count: int) -> bytes:
    difat = [fat for fat in range(fat_count)] + [FREE] * (109 - fat_count)
    head = MAGIC + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    head += struct.pack(
        "<IIIIIIIII",
        0,
        fat_count,
        dir_start,
        0,
        MINI_CUTOFF,
        mini_fat_start,
        mini_fat_count,
        END,
        0,
    )
    return head + b"".join(struct.pack("<I", v) for v in difat)
