"""What a file is, judged by its content first and its name only where content cannot tell
(scripts are plain text). The type names are the ``AttachmentReport.type`` vocabulary.
"""

from __future__ import annotations

import re
import struct

import olefile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
LNK_MAGIC = b"\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
RAR_MAGIC = b"Rar!\x1a\x07"
ISO_OFFSETS = (0x8001, 0x8801, 0x9001)
ISO_IDS = (b"CD001", b"BEA01", b"NSR02", b"NSR03")
MSG_MARK = "__substg1.0_".encode("utf-16-le")
ONENOTE_MAGIC = bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3")
MSI_CLSID = "000C1084-0000-0000-C000-000000000046"
URL_SHORTCUT = re.compile(rb"^(?:\xef\xbb\xbf)?\s{0,64}\[InternetShortcut\]", re.I)

SCRIPT_EXTENSIONS = {
    ".js": "script-js",
    ".jse": "script-js",
    ".vbs": "script-vbs",
    ".vbe": "script-vbs",
    ".wsf": "script-wsf",
    ".wsh": "script-wsf",
    ".hta": "script-hta",
    ".ps1": "script-ps1",
    ".psm1": "script-ps1",
    ".bat": "script-bat",
    ".cmd": "script-bat",
}
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml", ".shtml", ".svg", ".mht", ".mhtml"})
HTML_HEAD = re.compile(rb"(?i)<(?:!doctype\s+html|html|head|body|script|svg|iframe|meta\s)")
MAIL_HEAD = re.compile(
    rb"(?im)^(?:received|from|to|subject|date|message-id|mime-version|return-path|content-type):[ \t]"
)
IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def extension(name: str) -> str:
    """The last extension, lower case, with its dot ('' when none)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].rstrip(" .\u3000")
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def detect(name: str, data: bytes) -> str:
    """The content type of ``data``; ``name`` decides only between text formats."""
    return _by_magic(data) or _by_text(name, data)


def _by_magic(data: bytes) -> str | None:
    head = data[:8]
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_kind(data)
    if head[:6] == SEVEN_ZIP_MAGIC:
        return "7z"
    if head[:6] == RAR_MAGIC:
        return "rar"
    if head == OLE_MAGIC:
        return _ole_kind(data)
    if data[:20] == LNK_MAGIC:
        return "lnk"
    if data[:16] == ONENOTE_MAGIC:
        return "onenote"
    if head[:4] == b"ITSF":
        return "chm"
    if head[:2] == b"MZ":
        return "pe" if is_pe(data) else "mz"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:64].lstrip()[:4] == b"{\\rt":
        return "rtf"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if data[257:262] == b"ustar":
        return "tar"
    if any(data[off : off + 5] in ISO_IDS for off in ISO_OFFSETS):
        return "iso"
    if head == b"conectix" or data[-512:-504] == b"conectix" or head == b"vhdxfile":
        return "vhd"
    if any(data.startswith(m) for m in IMAGE_MAGICS):
        return "image"
    return None


def _zip_kind(data: bytes) -> str:
    if b"[Content_Types].xml" in data:
        return "ooxml"
    if b"META-INF/MANIFEST.MF" in data:
        return "jar"
    return "zip"


def _ole_kind(data: bytes) -> str:
    if MSG_MARK in data:
        return "msg"
    if _ole_root_clsid(data) == MSI_CLSID:
        return "msi"
    return "ole-doc"


def _ole_root_clsid(data: bytes) -> str:
    try:
        with olefile.OleFileIO(data) as ole:
            return str(ole.root.clsid).upper()
    except (OSError, ValueError, struct.error, IndexError):
        return ""


def is_pe(data: bytes) -> bool:
    if len(data) < 0x40:
        return False
    offset = struct.unpack_from("<I", data, 0x3C)[0]
    return data[offset : offset + 4] == b"PE\x00\x00"


def _by_text(name: str, data: bytes) -> str:
    ext = extension(name)
    head = data[:4096]
    if ext in SCRIPT_EXTENSIONS:
        return SCRIPT_EXTENSIONS[ext]
    if URL_SHORTCUT.match(head):
        return "url-shortcut"
    if head.startswith(b"#@~^"):
        return "script-vbs"
    if ext == ".eml" or _looks_like_mail(head):
        return "eml"
    if ext in HTML_EXTENSIONS or HTML_HEAD.search(head[:1024]):
        return "html"
    if _is_text(head):
        return "text"
    return "data"


def _looks_like_mail(head: bytes) -> bool:
    lines = head.lstrip(b"\xef\xbb\xbf\r\n").split(b"\n", 30)[:30]
    known = sum(1 for line in lines if MAIL_HEAD.match(line))
    return known >= 2 and bool(MAIL_HEAD.match(lines[0]))


def _is_text(head: bytes) -> bool:
    if not head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls / len(head) < 0.02
