"""Byte-exact, deterministic builders for the demo's attachments: a Windows shortcut (.lnk), a
ZIP (optionally with traditional PKWARE encryption) and a Word document whose settings point at a
remote template.

These exist because the demo must be reproducible byte for byte (the same case written twice must
hash the same, so re-ingesting it adds nothing); the general libraries draw random salts and
timestamps. Nothing here is ever executed: the payloads are inert text.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

LNK_CLSID = bytes.fromhex("0114020000000000c000000000000046")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

# LinkFlags (MS-SHLLINK 2.1.1)
HAS_LINK_INFO = 0x02
HAS_NAME = 0x04
HAS_RELATIVE_PATH = 0x08
HAS_WORKING_DIR = 0x10
HAS_ARGUMENTS = 0x20
HAS_ICON_LOCATION = 0x40
IS_UNICODE = 0x80
SW_SHOWMINNOACTIVE = 7


def filetime(when: datetime) -> int:
    """A Windows FILETIME (100 ns ticks since 1601) for a UTC datetime."""
    return int((when - _FILETIME_EPOCH).total_seconds()) * 10_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Shortcut:
    """What a shortcut does: the program it starts, with which arguments, under which icon."""

    target: str
    arguments: str
    icon: str
    description: str = ""
    working_dir: str = ""
    when: datetime = datetime(2022, 6, 27, tzinfo=UTC)


def make_lnk(s: Shortcut) -> bytes:
    """A shell link (MS-SHLLINK) with LinkInfo, name, arguments and icon location."""
    flags = HAS_LINK_INFO | HAS_RELATIVE_PATH | HAS_ARGUMENTS | HAS_ICON_LOCATION | IS_UNICODE
    strings = []
    if s.description:
        flags |= HAS_NAME
        strings.append(s.description)
    strings.append(".\\" + s.target.rsplit("\\", 1)[-1])
    if s.working_dir:
        flags |= HAS_WORKING_DIR
        strings.append(s.working_dir)
    strings += [s.arguments, s.icon]
    return (
        _lnk_header(flags, s.when)
        + _link_info(s.target)
        + b"".join(map(_lnk_string, strings))
        + b"\0" * 4
    )


def _lnk_header(flags: int, when: datetime) -> bytes:
    ft = filetime(when)
    return struct.pack(
        "<I16sIIQQQIiIHHII",
        0x4C,
        LNK_CLSID,
        flags,
        0x20,
        ft,
        ft,
        ft,
        0,
        0,
        SW_SHOWMINNOACTIVE,
        0,
        0,
        0,
        0,
    )


def _link_info(local_path: str) -> bytes:
    volume = struct.pack("<IIII", 17, 3, 0x5A3C9E21, 0x10) + b"\0"
    base_path = local_path.encode("ascii") + b"\0"
    header_size = 0x1C
    volume_at = header_size
    base_at = volume_at + len(volume)
    suffix_at = base_at + len(base_path)
    size = suffix_at + 1
    head = struct.pack("<IIIIIII", size, header_size, 1, volume_at, base_at, 0, suffix_at)
    return head + volume + base_path + b"\0"


def _lnk_string(text: str) -> bytes:
    return struct.pack("<H", len(text)) + text.encode("utf-16-le")


# ---- ZIP -------------------------------------------------------------------------------------

_DOS_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Member:
    """One file to put in a ZIP."""

    name: str
    data: bytes
    when: tuple[int, int, int, int, int, int] = _DOS_EPOCH


def make_zip(members: Sequence[Member], password: str | None = None) -> bytes:
    """A deflated ZIP; with a password, members use traditional PKWARE (ZipCrypto) encryption,
    which is what the lures used (it opens on any Windows machine without extra software)."""
    body = bytearray()
    central = bytearray()
    for m in members:
        local, entry = _zip_member(m, len(body), password)
        body += local
        central += entry
    eocd = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0
    )
    return bytes(body + central + eocd)


def _zip_member(m: Member, offset: int, password: str | None) -> tuple[bytes, bytes]:
    name = m.name.encode("utf-8")
    crc = zlib.crc32(m.data)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = packer.compress(m.data) + packer.flush()
    flags = 0x800  # names are UTF-8
    if password is not None:
        flags |= 0x1
        payload = _zipcrypto(payload, password, crc, seed=m.name.encode("utf-8") + m.data)
    dtime, ddate = _dos_time(m.when)
    common = struct.pack(
        "<HHHHHIIIHH", 20, flags, 8, dtime, ddate, crc, len(payload), len(m.data), len(name), 0
    )
    local = struct.pack("<I", 0x04034B50) + common + name + payload
    entry = (
        struct.pack("<IH", 0x02014B50, 20)
        + common
        + struct.pack("<HHHII", 0, 0, 0, 0x20, offset)
        + name
    )
    return local, entry


def _dos_time(t: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, s = t
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC = _crc_table()


class _ZipCryptoKeys:
    """The three PKWARE stream-cipher keys (APPNOTE 6.1)."""

    def __init__(self, password: bytes) -> None:
        self.k = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self.update(byte)

    def update(self, byte: int) -> None:
        k0, k1, k2 = self.k
        k0 = _CRC[(k0 ^ byte) & 0xFF] ^ (k0 >> 8)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _CRC[(k2 ^ (k1 >> 24)) & 0xFF] ^ (k2 >> 8)
        self.k = [k0, k1, k2]

    def encrypt(self, plain: bytes) -> bytes:
        out = bytearray()
        for byte in plain:
            t = (self.k[2] | 2) & 0xFFFF
            out.append(byte ^ (((t * (t ^ 1)) >> 8) & 0xFF))
            self.update(byte)
        return bytes(out)


def _zipcrypto(payload: bytes, password: str, crc: int, seed: bytes) -> bytes:
    # The 12-byte header is random in real archivers; here it is derived from the content so the
    # archive is reproducible. Its last byte is the CRC's high byte (the password check).
    header = hashlib.sha256(seed).digest()[:11] + bytes([crc >> 24])
    return _ZipCryptoKeys(password.encode("utf-8")).encrypt(header + payload)


# ---- Word document with a remote template -----------------------------------------------------

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"""
_DOC_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/></Relationships>"""
_SETTINGS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:attachedTemplate r:id="rId1"/><w:defaultTabStop w:val="840"/></w:settings>"""
_SETTINGS_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="{url}" TargetMode="External"/></Relationships>"""
_CORE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title><dc:creator>{author}</dc:creator><cp:lastModifiedBy>{author}</cp:lastModifiedBy><dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created></cp:coreProperties>"""
_DOCUMENT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{paras}</w:body></w:document>"""


def _xml_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def make_remote_template_docx(
    template_url: str, paragraphs: Sequence[str], *, title: str, author: str, when: datetime
) -> bytes:
    """A .docx whose settings part loads its template from ``template_url`` (ATT&CK T1221)."""
    paras = "".join(f"<w:p><w:r><w:t>{_xml_text(p)}</w:t></w:r></w:p>" for p in paragraphs)
    parts = [
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _ROOT_RELS),
        (
            "docProps/core.xml",
            _CORE.format(
                title=_xml_text(title),
                author=_xml_text(author),
                when=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
        ),
        ("word/document.xml", _DOCUMENT.format(paras=paras)),
        ("word/_rels/document.xml.rels", _DOC_RELS),
        ("word/settings.xml", _SETTINGS),
        ("word/_rels/settings.xml.rels", _SETTINGS_RELS.format(url=_xml_text(template_url))),
    ]
    return make_zip([Member(name, text.encode("utf-8")) for name, text in parts])
