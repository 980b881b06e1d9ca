"""Office documents: OLE (Word/Excel/PowerPoint 97-2003), OOXML and RTF.

Finds VBA and Excel 4.0 (XLM) macros and whether they run on open (oletools olevba), DDE fields
(msodde), embedded OLE objects and packages (oleobj, rtfobj), external relationships such as remote
template injection, encrypted documents (msoffcrypto-tool: Excel's default password, then the mail's
passwords; the decrypted document is analysed as a child), and author and template metadata.
All libraries are given bytes; nothing is written to disk.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator

import msoffcrypto
import olefile
from oletools import msodde, oleobj, olevba, rtfobj

from aptlink.analysis.base import BOMB_MIN_BYTES, Analysis, Member, Scan, read_bounded
from aptlink.analysis.text import urls_in
from aptlink.model import Kind

DEFAULT_PASSWORD = "VelvetSweatshop"
# Triggers that run without the reader doing anything but opening, closing or viewing the document.
AUTO_RUN = re.compile(
    r"(?i)^(?:auto_?(?:open|close|exec|exit|new)|(?:document|workbook|presentation)_?"
    r"(?:open|close|beforeclose|new|activate)|\w+_(?:layout|painted|resize|gotfocus|open|close))$"
)
# olevba's "suspicious" entries that only say something was encoded; reported as text, not weighted.
QUIET_SUSPICIOUS = frozenset({"Hex Strings", "Base64 Strings", "Dridex Strings", "XLM macro"})
REL_RE = re.compile(rb"<(?:\w+:)?Relationship\b[^>]{0,4096}>")
ATTR_RE = re.compile(rb'\b(Type|Target|TargetMode)\s*=\s*"([^"]{0,4096})"')
XLM_AUTO_RE = re.compile(
    rb'(?i)<definedName[^>]{0,512}name="(?:_xlnm\.)?(auto_(?:open|close|activate)\w{0,64})"'
)
XLM_PART = re.compile(r"(?i)(?:^|/)(?:macrosheets|intl-macrosheets|xl/macrosheets)/")
DDE_LINK_RE = re.compile(rb'ddeService="([^"]{0,256})"[^>]{0,512}?ddeTopic="([^"]{0,1024})"')
CORE_AUTHOR_RE = re.compile(rb"<(?:dc:creator|cp:lastModifiedBy)>([^<]{1,256})</")
APP_TEMPLATE_RE = re.compile(rb"<Template>([^<]{1,512})</Template>")
DDE_FIELD_RE = re.compile(r"(?i)^\s*dde(?:auto)?\b")
PART_CAP = 32 << 20
RTF_URL_SCAN = 4 << 20
EXPLOIT_CLASSES = frozenset({"equation.3", "equation.2", "ole2link", "equation.dsmt4"})

# oletools logs its parsing troubles; they become our errors instead.
for _logger in ("olevba", "msodde", "oleobj", "rtfobj", "ooxml", "msoffcrypto"):
    logging.getLogger(_logger).setLevel(logging.CRITICAL)


# --- OLE compound files ---------------------------------------------------------------------------


def analyse_ole(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """A Word/Excel/PowerPoint 97-2003 file or an encrypted OOXML package."""
    if _is_encrypted(data, out):
        _decrypt(name, data, scan, out)
        return
    _macros(name, data, out)
    _ole_dde(data, out)
    _ole_native_objects(data, out)
    _ole_metadata(data, out)


def _is_encrypted(data: bytes, out: Analysis) -> bool:
    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted())
    except Exception as exc:  # msoffcrypto raises many types on files it does not know
        if "Unrecognized" not in str(exc) and "Unsupported" not in str(exc):
            out.error(f"encryption check failed: {_why(exc)}")
        return False


def _decrypt(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    out.encrypted = True
    out.flag("office-encrypted", f"{name} is an encrypted Office document")
    for password in scan.candidates(first=(DEFAULT_PASSWORD,)):
        plain = _try_decrypt(data, password)
        if plain is None:
            continue
        out.opened_with = password
        if password == DEFAULT_PASSWORD:
            out.flag(
                "office-default-password", "decrypted with VelvetSweatshop: opens without a prompt"
            )
        else:
            out.note(Kind.PASSWORD_PHRASE, password)
        out.members.append(Member(f"{name} (decrypted)", plain))
        return
    out.error(
        "encrypted; neither the default password nor one from the mail opened it: cannot inspect"
    )


def _try_decrypt(data: bytes, password: str) -> bytes | None:
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        office.load_key(password=password)
        sink = io.BytesIO()
        office.decrypt(sink)
    except Exception:  # a wrong key surfaces as several exception types, depending on the format
        return None
    return sink.getvalue() or None


def _ole_dde(data: bytes, out: Analysis) -> None:
    try:
        ole = olefile.OleFileIO(data)
    except (OSError, ValueError) as exc:
        out.error(f"not a readable OLE file: {_why(exc)}")
        return
    with ole:
        if not ole.exists("WordDocument"):
            return
        try:
            text = msodde.process_doc(ole)
        except Exception as exc:  # msodde walks Word's binary text; hostile files break it
            out.error(f"DDE scan failed: {_why(exc)}")
            return
    _dde_fields(text.splitlines(), out)


def _dde_fields(fields: list[str], out: Analysis) -> None:
    for field in fields:
        if DDE_FIELD_RE.match(field):
            out.flag("dde", f"DDE field: {field.strip()[:200]}")
            out.note(Kind.COMMAND_LINE, field.strip(), source="dde")


def _ole_native_objects(data: bytes, out: Analysis) -> None:
    try:
        ole = olefile.OleFileIO(data)
    except (OSError, ValueError):
        return
    with ole:
        for path in ole.listdir():
            if path[-1] == "\x01Ole10Native":
                _native(ole.openstream(path).read(), "/".join(path), out)


def _native(stream: bytes, where: str, out: Analysis) -> None:
    try:
        native = oleobj.OleNativeStream(stream)
    except Exception as exc:  # oleobj parses attacker-controlled length fields
        out.error(f"{where}: unreadable OLE package ({_why(exc)})")
        return
    filename = _text(native.filename) or "embedded.bin"
    out.flag("embedded-object", f"embedded package {filename!r}")
    out.note(Kind.FILE_NAME, filename, source="ole-package")
    for path in (native.src_path, native.temp_path):
        if _text(path):
            out.note(Kind.FILE_NAME, _text(path), source="ole-package-path")
    if native.data:
        out.members.append(Member(filename, bytes(native.data)))


def _ole_metadata(data: bytes, out: Analysis) -> None:
    try:
        with olefile.OleFileIO(data) as ole:
            meta = ole.get_metadata()
    except Exception:  # metadata is optional; a broken property set is not worth an error
        return
    for field in ("author", "last_saved_by"):
        if _text(getattr(meta, field, None)):
            out.note(Kind.DOC_AUTHOR, _text(getattr(meta, field)), field=field)
    template = _text(getattr(meta, "template", None))
    if template:
        out.note(Kind.DOC_TEMPLATE, template)


# --- macros (OLE and OOXML) -----------------------------------------------------------------------


def _macros(name: str, data: bytes, out: Analysis) -> None:
    try:
        parser = olevba.VBA_Parser(name, data=data)
    except Exception as exc:  # olevba raises FileOpenError and others on what it cannot read
        out.error(f"macro scan: {_why(exc)}")
        return
    try:
        _macro_findings(parser, out)
    except Exception as exc:  # hostile VBA projects break the decompressor in many ways
        out.error(f"macro scan failed: {_why(exc)}")
    finally:
        parser.close()


def _macro_findings(parser: olevba.VBA_Parser, out: Analysis) -> None:
    vba = bool(parser.detect_vba_macros())
    xlm = bool(parser.detect_xlm_macros()) if parser.type == "OLE" else False
    if not (vba or xlm):
        return
    if vba:
        modules = sorted({str(m[2]) for m in parser.extract_macros() if m[3]})
        out.flag("macro-vba", f"VBA modules: {', '.join(modules)[:300]}")
    if xlm:
        out.flag("macro-xlm", "Excel 4.0 (XLM) macro sheet")
    _macro_keywords(parser.analyze_macros() or [], out)


def _macro_keywords(results: list[tuple[str, str, str]], out: Analysis) -> None:
    triggers = [kw for kind, kw, _ in results if kind == "AutoExec"]
    auto = [kw for kw in triggers if AUTO_RUN.match(kw)]
    events = [kw for kw in triggers if kw not in auto]
    if auto:
        out.flag("macro-autoexec", f"runs on its own: {', '.join(auto)}")
    if events:
        out.flag("macro-event-handler", f"runs on control events: {', '.join(events)}")
    loud = sorted(
        {kw for kind, kw, _ in results if kind == "Suspicious" and kw not in QUIET_SUSPICIOUS}
    )
    if loud:
        out.flag("macro-suspicious", f"keywords: {', '.join(loud)[:300]}")
    for kind, kw, _ in results:
        if kind == "IOC" and re.match(r"(?i)^(?:https?|ftp)://", kw):
            out.note(Kind.URL, kw, source="macro")


# --- OOXML ----------------------------------------------------------------------------------------


def analyse_ooxml(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """A Word/Excel/PowerPoint 2007+ package."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        out.flag("archive-corrupt", f"unreadable OOXML package ({_why(exc)})")
        out.error(f"unreadable OOXML package: {_why(exc)}")
        return
    with package:
        parts = _Parts(package, scan, out)
        _relationships(parts, out)
        _xlm_parts(parts, out)
        _embeddings(parts, out)
        _ooxml_metadata(parts, out)
        _excel_dde(parts, out)
        # olevba is given the VBA project alone, read under our bounds, not the whole package.
        for part, project in parts.matching(lambda n: n.lower().endswith("vbaproject.bin")):
            _macros(part, project, out)
    if any(n.startswith("word/") for n in parts.names) and not out.flagged("archive-bomb"):
        _word_dde(data, out)


class _Parts:
    """Bounded access to the parts of an OOXML package."""

    def __init__(self, package: zipfile.ZipFile, scan: Scan, out: Analysis) -> None:
        self.package, self.scan, self.out = package, scan, out
        self.names = [i.filename for i in package.infolist()[: scan.limits.max_members * 4]]

    def matching(self, test: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
        for part in self.names:
            if test(part):
                body = self.read(part)
                if body is not None:
                    yield part, body

    def read(self, part: str) -> bytes | None:
        info = self.package.getinfo(part)
        limit = min(PART_CAP, self.scan.limits.max_member_bytes)
        if (
            info.file_size > BOMB_MIN_BYTES
            and info.file_size > info.compress_size * self.scan.limits.max_ratio
        ):
            self.out.flag(
                "archive-bomb", f"{part}: {info.file_size} bytes packed into {info.compress_size}"
            )
            return None
        try:
            with self.package.open(info) as fh:
                body, more = read_bounded(fh, limit)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            self.out.error(f"{part}: {_why(exc)}")
            return None
        if more:
            self.out.flag("oversized-member", f"{part}: over {limit} bytes")
            return None
        return body


def _relationships(parts: _Parts, out: Analysis) -> None:
    for part, body in parts.matching(lambda n: n.endswith(".rels")):
        for rel in REL_RE.findall(body):
            attrs = {k.decode(): v.decode("utf-8", "replace") for k, v in ATTR_RE.findall(rel)}
            if attrs.get("TargetMode", "").lower() == "external":
                _external(part, attrs.get("Type", ""), attrs.get("Target", ""), out)


def _external(part: str, rel_type: str, target: str, out: Analysis) -> None:
    kind = rel_type.rsplit("/", 1)[-1]
    if re.match(r"(?i)^(?:[a-z][a-z0-9+.-]{1,20}:|\\\\)", target):
        out.note(Kind.URL, target, relationship=kind, part=part)
    if kind == "hyperlink":
        return  # ordinary links in text: indicators, not a signal
    if kind == "attachedTemplate":
        out.flag("remote-template", f"template loaded from {target[:200]}")
        out.note(Kind.DOC_TEMPLATE, target, part=part)
    elif kind in ("oleObject", "frame", "subDocument", "package"):
        out.flag("external-object", f"{kind} loaded from {target[:200]}")
    else:
        out.flag("external-relationship", f"{kind} -> {target[:200]} ({part})")


def _xlm_parts(parts: _Parts, out: Analysis) -> None:
    sheets = [n for n in parts.names if XLM_PART.search(n)]
    if sheets:
        out.flag("macro-xlm", f"Excel 4.0 macro sheets: {', '.join(sheets)[:200]}")
    for _, body in parts.matching(lambda n: n == "xl/workbook.xml"):
        names = sorted({m.decode("utf-8", "replace") for m in XLM_AUTO_RE.findall(body)})
        if names and sheets:
            out.flag("macro-autoexec", f"XLM runs on its own: {', '.join(names)}")


def _embeddings(parts: _Parts, out: Analysis) -> None:
    for part, body in parts.matching(lambda n: "/embeddings/" in n):
        if body[:8] == olefile.MAGIC:
            _embedded_ole(part, body, out)
        else:
            out.flag("embedded-object", f"embedded file {part}")
            out.members.append(Member(part.rsplit("/", 1)[-1], body))


def _embedded_ole(part: str, body: bytes, out: Analysis) -> None:
    try:
        with olefile.OleFileIO(body) as ole:
            streams = [p for p in ole.listdir() if p[-1] == "\x01Ole10Native"]
            natives = [ole.openstream(p).read() for p in streams]
    except (OSError, ValueError) as exc:
        out.error(f"{part}: unreadable embedded OLE ({_why(exc)})")
        return
    for stream in natives:
        _native(stream, part, out)
    if not natives:
        out.flag("embedded-object", f"embedded OLE object {part}")
        out.members.append(Member(part.rsplit("/", 1)[-1], body))


def _ooxml_metadata(parts: _Parts, out: Analysis) -> None:
    for _, body in parts.matching(lambda n: n == "docProps/core.xml"):
        for author in CORE_AUTHOR_RE.findall(body):
            out.note(Kind.DOC_AUTHOR, author.decode("utf-8", "replace"))
    for _, body in parts.matching(lambda n: n == "docProps/app.xml"):
        for template in APP_TEMPLATE_RE.findall(body):
            out.note(Kind.DOC_TEMPLATE, template.decode("utf-8", "replace"))


def _excel_dde(parts: _Parts, out: Analysis) -> None:
    for part, body in parts.matching(
        lambda n: n.startswith("xl/externalLinks/") and n.endswith(".xml")
    ):
        for service, topic in DDE_LINK_RE.findall(body):
            link = f"{service.decode('utf-8', 'replace')}|{topic.decode('utf-8', 'replace')}"
            out.flag("dde", f"DDE link {link[:200]} ({part})")
            out.note(Kind.COMMAND_LINE, link, source="dde")


def _word_dde(data: bytes, out: Analysis) -> None:
    try:
        text = msodde.process_docx(io.BytesIO(data), msodde.FIELD_FILTER_DDE)
    except Exception as exc:  # msodde parses XML from the attacker; report and go on
        out.error(f"DDE scan failed: {_why(exc)}")
        return
    _dde_fields(text.splitlines(), out)


# --- RTF ------------------------------------------------------------------------------------------


def analyse_rtf(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Objects embedded in RTF (\\object, \\objdata), with the OLE classes exploits use."""
    try:
        parser = rtfobj.RtfObjParser(data)
        parser.parse()
    except Exception as exc:  # rtfobj on malformed RTF
        out.error(f"RTF object scan failed: {_why(exc)}")
        return
    for index, obj in enumerate(parser.objects):
        if obj.is_ole:
            _rtf_object(index, obj, out)
    for url in urls_in(data[:RTF_URL_SCAN].decode("latin-1")):
        out.note(Kind.URL, url, source="rtf")


def _rtf_object(index: int, obj: rtfobj.RtfObject, out: Analysis) -> None:
    cls = _text(obj.class_name) or "unknown"
    if cls.lower() in EXPLOIT_CLASSES:
        out.flag("rtf-exploit-class", f"object {index} of class {cls}")
    if obj.is_package:
        filename = _text(obj.filename) or f"rtf-object-{index}.bin"
        out.flag("rtf-object", f"object {index}: package {filename!r}")
        out.note(Kind.FILE_NAME, filename, source="rtf-package")
        out.members.append(Member(filename, bytes(obj.olepkgdata or b"")))
    else:
        out.flag("rtf-object", f"object {index}: OLE class {cls}")
        if obj.oledata:
            out.members.append(Member(f"rtf-object-{index}.{cls}.bin", bytes(obj.oledata)))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        for codec in ("utf-8", "cp932", "latin-1"):
            try:
                return value.decode(codec).strip("\x00 ").strip()
            except UnicodeDecodeError:
                continue
    return str(value).strip("\x00 ").strip()


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {
    "ole-doc": analyse_ole,
    "ooxml": analyse_ooxml,
    "rtf": analyse_rtf,
}
