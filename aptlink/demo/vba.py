"""A minimal, deterministic writer for the demo's macro document: an OLE compound file (MS-CFB,
version 3) holding a Word 97-2003 document stream and a VBA project (MS-OVBA) with one module.

The macro is inert text that no one runs; it is there so that the attachment analysis (oletools)
finds an auto-executing macro with a download-and-run command, as in the LODEINFO lures of
2019-2020 ("click Enable Content").
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from aptlink.analysis.cfbwriter import write_cfb

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
CFB_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")


# ---- MS-OVBA ---------------------------------------------------------------------------------


CHUNK = 4096
MAX_CHUNK_BYTES = 4098  # header + data of one compressed chunk


def compress(data: bytes) -> bytes:
    """An MS-OVBA compressed container (2.4.1): 4096-byte chunks, LZ77 copy tokens."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        out += _chunk(data[start : start + CHUNK])
    return bytes(out)


def _chunk(chunk: bytes) -> bytes:
    body = _tokens(chunk)
    if len(body) + 2 <= MAX_CHUNK_BYTES:
        return struct.pack("<H", (len(body) - 1) | (0b011 << 12) | (1 << 15)) + body
    if len(chunk) == CHUNK:  # incompressible: a raw chunk
        return struct.pack("<H", (CHUNK - 1) | (0b011 << 12)) + chunk
    raise ValueError("an incompressible final chunk cannot be stored")


def _tokens(chunk: bytes) -> bytes:
    """Token sequences: a flag byte, then up to 8 literal bytes or 2-byte copy tokens."""
    out = bytearray()
    seen: dict[bytes, list[int]] = {}
    pos = 0
    while pos < len(chunk):
        flag_at, flags = len(out), 0
        out.append(0)
        for bit in range(8):
            if pos >= len(chunk):
                break
            offset, length = _longest_match(chunk, pos, seen)
            step = length if length >= 3 else 1
            if length >= 3:
                out += struct.pack("<H", _copy_token(pos, offset, length))
                flags |= 1 << bit
            else:
                out.append(chunk[pos])
            for p in range(pos, pos + step):
                seen.setdefault(chunk[p : p + 3], []).append(p)
            pos += step
        out[flag_at] = flags
    return bytes(out)


def _bit_count(pos: int) -> int:
    return max((pos - 1).bit_length(), 4)


def _longest_match(chunk: bytes, pos: int, seen: dict[bytes, list[int]]) -> tuple[int, int]:
    if pos == 0:
        return 0, 0
    limit = min((0xFFFF >> _bit_count(pos)) + 3, len(chunk) - pos)
    best = (0, 0)
    for start in reversed(seen.get(chunk[pos : pos + 3], [])[-64:]):
        length = 0
        while length < limit and chunk[start + length] == chunk[pos + length]:
            length += 1
        if length > best[1]:
            best = (pos - start, length)
    return best


def _copy_token(pos: int, offset: int, length: int) -> int:
    bits = _bit_count(pos)
    return ((offset - 1) << (16 - bits)) | (length - 3)


def _rec(rid: int, payload: bytes) -> bytes:
    return struct.pack("<HI", rid, len(payload)) + payload


def dir_stream(modules: Sequence[str], codepage: int = 932) -> bytes:
    """The uncompressed ``VBA/dir`` stream: project information, no references, the modules."""
    info = (
        _rec(0x0001, struct.pack("<I", 1))
        + _rec(0x0002, struct.pack("<I", 0x0411))
        + _rec(0x0014, struct.pack("<I", 0x0411))
        + _rec(0x0003, struct.pack("<H", codepage))
        + _rec(0x0004, b"Project")
        + _rec(0x0005, b"")
        + _rec(0x0040, b"")
        + _rec(0x0006, b"")
        + _rec(0x003D, b"")
        + _rec(0x0007, struct.pack("<I", 0))
        + _rec(0x0008, struct.pack("<I", 0))
        + struct.pack("<HIIH", 0x0009, 4, 1, 0)
        + _rec(0x000C, b"")
        + _rec(0x003C, b"")
    )
    mods = _rec(0x000F, struct.pack("<H", len(modules))) + _rec(0x0013, struct.pack("<H", 0xFFFF))
    for name in modules:
        mods += _module_record(name)
    return info + mods + struct.pack("<HI", 0x0010, 0)


def _module_record(name: str) -> bytes:
    raw, wide = name.encode("ascii"), name.encode("utf-16-le")
    return (
        _rec(0x0019, raw)
        + _rec(0x0047, wide)
        + _rec(0x001A, raw)
        + _rec(0x0032, wide)
        + _rec(0x001C, b"")
        + _rec(0x0048, b"")
        + _rec(0x0031, struct.pack("<I", 0))
        + _rec(0x001E, struct.pack("<I", 0))
        + _rec(0x002C, struct.pack("<H", 0xFFFF))
        + _rec(0x0022, b"")
        + struct.pack("<HI", 0x002B, 0)
    )


def project_stream(module: str) -> bytes:
    lines = [
        'ID="{5B2D9A41-7C3E-4F60-9E1A-2D4B6C8E0F13}"',
        f"Document={module}/&H00000000",
        'Name="Project"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        'CMG="4A48E8F4ECF4ECF4ECF4EC"',
        'DPB="7C7EDCD8DCD8DCD8"',
        'GC="C2C062C162C162"',
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
        f"{module}=0, 0, 0, 0, C",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def vba_streams(
    source: str, module: str = "ThisDocument", root: str = "Macros"
) -> dict[str, bytes]:
    """The streams of a VBA project with one document module holding ``source``."""
    return {
        f"{root}/PROJECT": project_stream(module),
        f"{root}/PROJECTwm": module.encode("ascii")
        + b"\0"
        + module.encode("utf-16-le")
        + b"\0\0\0\0",
        f"{root}/VBA/_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x00\x00",
        f"{root}/VBA/dir": compress(dir_stream([module])),
        f"{root}/VBA/{module}": compress(source.replace("\n", "\r\n").encode("cp932")),
    }


def word97_stub(text: str) -> dict[str, bytes]:
    """A WordDocument stream whose FIB says Word 97 and a table stream: enough to be typed as .doc."""
    fib = bytearray(1472)
    struct.pack_into("<HHH", fib, 0, 0xA5EC, 0x00C1, 0x0000)
    body = text.encode("utf-16-le")
    return {"WordDocument": bytes(fib) + body, "1Table": b"\0" * 1024}


# ---- MS-CFB ----------------------------------------------------------------------------------


def make_cfb(streams: Mapping[str, bytes]) -> bytes:
    """A compound file holding ``streams`` (paths with ``/`` make storages)."""
    return write_cfb(streams)
