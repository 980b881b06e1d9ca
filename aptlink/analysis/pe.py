"""Windows executables: a PE header, and archives appended after the image (self-extractors, as
MirrorFace sent posing as Word documents), which are unpacked as children.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from aptlink.analysis.base import Analysis, Member, Scan
from aptlink.analysis.filetype import RAR_MAGIC, SEVEN_ZIP_MAGIC

OVERLAY_MAGICS = ((b"PK\x03\x04", "zip"), (SEVEN_ZIP_MAGIC, "7z"), (RAR_MAGIC, "rar"))
SECTION_SIZE = 40


def analyse_pe(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Flag an executable and look for an archive in its overlay."""
    out.flag("executable", f"{name} is a Windows executable ({_kind(data)})")
    end = image_end(data)
    if end is None or end >= len(data):
        return
    overlay = data[end:]
    for magic, kind in OVERLAY_MAGICS:
        at = overlay.find(magic, 0, 1 << 16)
        if at >= 0:
            out.flag(
                "sfx-archive",
                f"a {kind} archive of {len(overlay) - at} bytes appended at offset {end + at}",
            )
            out.members.append(Member(f"{name}.overlay.{kind}", overlay[at:]))
            return


def image_end(data: bytes) -> int | None:
    """Where the PE image ends (the furthest raw section end), or None if the headers are broken."""
    try:
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        sections, optional_size = struct.unpack_from("<H12xH", data, pe + 6)
        table = pe + 24 + optional_size
        ends = [
            sum(struct.unpack_from("<II", data, table + i * SECTION_SIZE + 16))
            for i in range(min(sections, 96))
        ]
    except struct.error:
        return None
    return max(ends, default=None)


def _kind(data: bytes) -> str:
    try:
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        characteristics = struct.unpack_from("<H", data, pe + 22)[0]
    except struct.error:
        return "damaged headers"
    return "DLL" if characteristics & 0x2000 else "EXE"


def analyse_mz(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """An MZ (DOS) header without a valid PE: still something Windows may run."""
    out.flag("executable", f"{name} starts with an MZ executable header")


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {
    "pe": analyse_pe,
    "mz": analyse_mz,
}
