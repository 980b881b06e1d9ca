"""Archives and disk images: ZIP (ZipCrypto and AES), 7z, RAR, gzip, tar, ISO/UDF and VHD.

Members are unpacked into memory under the scan's budget (count, member size, total size, ratio,
time); encrypted archives are opened with the passwords the mail announced. Nothing is written out.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from typing import Any, Literal

import py7zr
import pycdlib
import pyzipper
import rarfile

from aptlink.analysis import unrar
from aptlink.analysis.base import Analysis, Member, Scan, read_bounded
from aptlink.model import Kind

ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    pyzipper.BadZipFile,
    zlib.error,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    struct.error,
)
MAX_7Z_TRIES = 4
PASSWORD_PROBE_BYTES = 1 << 20
LOCAL_HEADER = re.compile(rb"PK\x03\x04")


# --- ZIP ------------------------------------------------------------------------------------------


def analyse_zip(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """List, decrypt (with the mail's passwords) and unpack a ZIP archive."""
    try:
        archive = pyzipper.AESZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except ZIP_ERRORS as exc:
        _zip_salvage(data, scan, out, exc)
        return
    with archive:
        password = _zip_password(archive, infos, scan, out)
        for info in infos:
            out.note(Kind.FILE_NAME, member_name(info), container=name)
            if out.flagged("archive-too-many"):
                break
            _zip_member(archive, info, password, scan, out)


def _zip_password(
    archive: pyzipper.AESZipFile, infos: list[zipfile.ZipInfo], scan: Scan, out: Analysis
) -> bytes | None:
    locked = [i for i in infos if i.flag_bits & 0x1]
    if not locked:
        return None
    out.encrypted = True
    method = "AES" if any(b"\x01\x99" in i.extra for i in locked) else "ZipCrypto"
    out.flag("archive-encrypted", f"{len(locked)} of {len(infos)} members encrypted ({method})")
    for candidate in scan.candidates():
        if _zip_opens(archive, locked[0], candidate.encode("utf-8")):
            _opened(out, candidate)
            return candidate.encode("utf-8")
    out.error("encrypted members not inspected: no password from the mail opened them")
    return None


def _zip_opens(archive: pyzipper.AESZipFile, info: zipfile.ZipInfo, pwd: bytes) -> bool:
    """Whether ``pwd`` opens the member. ZipCrypto's one-byte check passes one wrong password in
    256, so a small member is read to the end, where its CRC settles it."""
    try:
        with archive.open(info, pwd=pwd) as fh:
            fh.read(info.file_size + 1 if info.file_size <= PASSWORD_PROBE_BYTES else 1)
        return True
    except ZIP_ERRORS:
        return False


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author saw it: names without the UTF-8 flag are often CP932
    (Japanese Windows), which zipfile shows as CP437 mojibake."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp932")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _opened(out: Analysis, password: str) -> None:
    out.opened_with = password
    out.flag("archive-password-in-mail", "opened with a password announced in the mail")
    out.note(Kind.PASSWORD_PHRASE, password)


def _zip_member(
    archive: pyzipper.AESZipFile,
    info: zipfile.ZipInfo,
    password: bytes | None,
    scan: Scan,
    out: Analysis,
) -> None:
    cap = scan.admit(out, info.filename, info.file_size, info.compress_size)
    if cap is None or (info.flag_bits & 0x1 and password is None):
        return
    try:
        with archive.open(info, pwd=password) as fh:
            body, more = read_bounded(fh, cap)
    except ZIP_ERRORS as exc:
        out.error(f"{info.filename}: cannot unpack ({_why(exc)})")
        out.flag("archive-corrupt", f"{info.filename}: {_why(exc)}")
        return
    _keep(member_name(info), body, more, scan, out)


def _keep(member: str, body: bytes, more: bool, scan: Scan, out: Analysis) -> None:
    scan.spend(len(body))
    if more:
        out.flag(
            "archive-bomb", f"{member}: unpacks beyond {len(body)} bytes, more than it declared"
        )
        return
    out.members.append(Member(member, body))


def _zip_salvage(data: bytes, scan: Scan, out: Analysis, exc: BaseException) -> None:
    """A ZIP without a readable central directory: name what the local headers still show."""
    out.flag("archive-corrupt", f"unreadable ZIP ({_why(exc)})")
    out.error(f"unreadable ZIP: {_why(exc)}")
    for count, match in enumerate(LOCAL_HEADER.finditer(data)):
        if count >= scan.limits.max_members:
            break
        start = match.start()
        if start + 30 > len(data):
            break
        flags, name_len = (
            struct.unpack_from("<H", data, start + 6)[0],
            struct.unpack_from("<H", data, start + 26)[0],
        )
        raw = data[start + 30 : start + 30 + name_len]
        text = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if text:
            out.note(Kind.FILE_NAME, text, salvaged=True)
        if flags & 0x1:
            out.encrypted = True


# --- 7z -------------------------------------------------------------------------------------------


class _Overflow(Exception):
    """A 7z member wrote more than it was allowed to."""


class _CappedIO(py7zr.io.Py7zIO):
    """An in-memory sink for one 7z member that stops decompression once over its cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buffer = io.BytesIO()

    def write(self, s: bytes | bytearray) -> int:
        if self.buffer.tell() + len(s) > self.cap:
            raise _Overflow
        return self.buffer.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self.buffer.getbuffer().nbytes


class _CappedFactory(py7zr.io.WriterFactory):
    def __init__(self, caps: dict[str, int]) -> None:
        self.caps = caps
        self.products: dict[str, _CappedIO] = {}

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        product = _CappedIO(self.caps.get(filename, 0))
        self.products[filename] = product
        return product


SEVEN_ZIP_ERRORS: tuple[type[BaseException], ...] = (
    py7zr.exceptions.Bad7zFile,
    py7zr.exceptions.CrcError,
    py7zr.exceptions.PasswordRequired,
    py7zr.exceptions.UnsupportedCompressionMethodError,
    py7zr.exceptions.DecompressionError,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    struct.error,
    zlib.error,
    _Overflow,
)
try:  # the lzma error type is not an OSError subclass on every build
    import lzma

    SEVEN_ZIP_ERRORS = (*SEVEN_ZIP_ERRORS, lzma.LZMAError)
except ImportError:  # pragma: no cover
    pass


def analyse_7z(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """List and unpack a 7z archive; encrypted ones (content or names) are tried with the passwords.

    Each password try derives an AES key (hundreds of milliseconds), so a try also unpacks: a
    password is right when the bounded extraction succeeds.
    """
    listing = _7z_listing(data, out)
    if listing is False:
        return
    if listing is not None and not out.encrypted:
        _7z_unpack(name, data, None, listing, scan, out)
        return
    # Each try derives an AES key in pure Python (about half a second): try only the first few.
    for candidate in scan.candidates(MAX_7Z_TRIES):
        if _7z_unpack(name, data, candidate, None, scan, out):
            _opened(out, candidate)
            return
    out.error("encrypted 7z members not inspected: no password from the mail opened them")


def _7z_listing(data: bytes, out: Analysis) -> list[Any] | Literal[False] | None:
    """The listing (None when the names are encrypted; False when unreadable); flags encryption."""
    listing: list[Any] | None = None
    try:
        with py7zr.SevenZipFile(io.BytesIO(data), mode="r") as archive:
            listing = archive.list()
            locked = archive.needs_password()
    except py7zr.exceptions.PasswordRequired:
        locked = True
    except SEVEN_ZIP_ERRORS as exc:
        out.flag("archive-corrupt", f"unreadable 7z ({_why(exc)})")
        out.error(f"unreadable 7z: {_why(exc)}")
        return False
    if locked:
        out.encrypted = True
        hidden = " (names encrypted too)" if listing is None else ""
        out.flag("archive-encrypted", f"password-protected 7z{hidden}")
    return listing


def _7z_unpack(
    name: str,
    data: bytes,
    password: str | None,
    listing: list[Any] | None,
    scan: Scan,
    out: Analysis,
) -> bool:
    """Unpack within the caps; False if the password (or the archive) does not open."""
    trial = Analysis(type=out.type)
    try:
        with py7zr.SevenZipFile(io.BytesIO(data), mode="r", password=password) as archive:
            files = [f for f in (listing or archive.list()) if not f.is_directory]
            caps = _7z_caps(files, len(data), scan, trial)
            factory = _CappedFactory(caps)
            if caps:
                archive.extract(targets=list(caps), factory=factory)
    except _Overflow:
        trial.flag("archive-bomb", "a 7z member unpacks beyond what it declared")
    except SEVEN_ZIP_ERRORS as exc:
        if password is not None:
            return False
        trial.flag("archive-corrupt", f"7z members unreadable ({_why(exc)})")
        trial.error(f"7z members unreadable: {_why(exc)}")
        files, factory = [], _CappedFactory({})
    for info in files:
        out.note(Kind.FILE_NAME, info.filename, container=name)
    for member, product in factory.products.items():
        _keep(member, product.buffer.getvalue(), False, scan, trial)
    _merge(trial, out)
    return True


def _merge(trial: Analysis, out: Analysis) -> None:
    for found in trial.reasons:
        out.flag(found.code.removeprefix("attachment:"), found.detail)
    out.members.extend(trial.members)
    out.errors.extend(trial.errors)


def _7z_caps(files: list[Any], packed: int, scan: Scan, out: Analysis) -> dict[str, int]:
    caps: dict[str, int] = {}
    total = sum(f.uncompressed for f in files) or 1
    for info in files:
        share = max(1, packed * info.uncompressed // total)  # solid archives: packed size is shared
        cap = scan.admit(out, info.filename, info.uncompressed, share)
        if cap is not None:
            caps[info.filename] = cap
        if out.flagged("archive-too-many"):
            break
    return caps


# --- RAR ------------------------------------------------------------------------------------------


def analyse_rar(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """List a RAR archive (rarfile); read stored members directly and unpack compressed or
    encrypted ones in memory with the UnRAR library (aptlink.analysis.unrar)."""
    try:
        archive = rarfile.RarFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (rarfile.Error, OSError, EOFError, ValueError, struct.error) as exc:
        out.flag("archive-corrupt", f"unreadable RAR ({_why(exc)})")
        out.error(f"unreadable RAR: {_why(exc)}")
        return
    if not infos and archive.needs_password():
        _rar_hidden_names(name, data, scan, out)
        return
    if not infos:
        out.flag("archive-corrupt", "a RAR archive with no readable member (truncated?)")
        return
    locked = [i for i in infos if i.needs_password()]
    if locked:
        out.encrypted = True
        out.flag("archive-encrypted", f"{len(locked)} of {len(infos)} members encrypted (RAR)")
    for info in infos:
        out.note(Kind.FILE_NAME, info.filename, container=name)
    packed: dict[str, int] = {}
    for info in infos:
        if out.flagged("archive-too-many"):
            break
        cap = scan.admit(out, info.filename, info.file_size, info.compress_size)
        if cap is None:
            continue
        if info.needs_password() or info.compress_type != rarfile.RAR_M0:
            packed[info.filename] = cap
        else:
            _rar_stored(archive, info, cap, scan, out)
    if packed:
        _rar_packed(data, packed, [i.filename for i in locked if i.filename in packed], scan, out)


def _rar_hidden_names(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """A RAR whose names are encrypted too: the mail's passwords open the listing, then the members."""
    out.encrypted = True
    out.flag("archive-encrypted", "password-protected RAR (names encrypted too)")
    for candidate in scan.candidates() if unrar.available() else ():
        members = unrar.listing(data, candidate)
        if members is None:
            continue
        _opened(out, candidate)
        caps: dict[str, int] = {}
        for member, size, packed in members:
            out.note(Kind.FILE_NAME, member, container=name)
            cap = scan.admit(out, member, size, packed)
            if cap is not None:
                caps[member] = cap
        _rar_results(unrar.unpack(data, caps, candidate, scan.budget.deadline), caps, scan, out)
        return
    out.error(
        "RAR with encrypted names: no password from the mail opened it; members not inspected"
    )


def _rar_stored(
    archive: rarfile.RarFile, info: rarfile.RarInfo, cap: int, scan: Scan, out: Analysis
) -> None:
    try:
        with archive.open(info) as fh:
            body, more = read_bounded(fh, cap)
    except (rarfile.Error, OSError, EOFError, ValueError, struct.error) as exc:
        out.flag("archive-corrupt", f"{info.filename}: {_why(exc)}")
        out.error(f"{info.filename}: cannot unpack RAR member ({_why(exc)})")
        return
    _keep(info.filename, body, more, scan, out)


def _rar_packed(
    data: bytes, caps: dict[str, int], locked: list[str], scan: Scan, out: Analysis
) -> None:
    """Compressed or encrypted members through UnRAR; encrypted ones with the mail's passwords."""
    if not unrar.available():
        for member in caps:
            out.flag("archive-uninspected", f"{member}: RAR member not unpacked")
            out.error(f"{member}: cannot unpack RAR member (no in-memory UnRAR on this platform)")
        return
    result, password = None, None
    if not locked:
        result = unrar.unpack(data, caps, None, scan.budget.deadline)
    for candidate in scan.candidates() if locked else ():
        trial = unrar.unpack(data, caps, candidate, scan.budget.deadline)
        if any(member in trial.members for member in locked):
            result, password = trial, candidate
            break
    if result is None:
        out.error("encrypted RAR members not inspected: no password from the mail opened them")
        result = unrar.unpack(
            data, {k: v for k, v in caps.items() if k not in locked}, None, scan.budget.deadline
        )
        caps = {k: v for k, v in caps.items() if k not in locked}
    if password is not None:
        _opened(out, password)
    _rar_results(result, caps, scan, out)


def _rar_results(result: unrar.Unpacked, caps: dict[str, int], scan: Scan, out: Analysis) -> None:
    for member, body in result.members.items():
        _keep(member, body, False, scan, out)
    for member in result.overflowed:
        out.flag(
            "archive-bomb", f"{member}: unpacks beyond {caps[member]} bytes, more than allowed"
        )
    for member, why in result.failed.items():
        out.flag("archive-corrupt", f"{member or 'RAR'}: {why}")
        out.error(f"{member or 'RAR'}: cannot unpack ({why})")
    if result.timed_out:
        out.error(
            f"RAR not fully unpacked: the {scan.limits.parse_seconds:g} s time limit was reached"
        )
    done = {*result.members, *result.overflowed, *result.failed}
    for member in caps:
        if member not in done and not result.timed_out and "" not in result.failed:
            out.flag("archive-uninspected", f"{member}: RAR member not unpacked")
            out.error(f"{member}: UnRAR did not reach this member")


# --- gzip and tar ---------------------------------------------------------------------------------


def analyse_gzip(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """Unpack a gzip stream (one member named after the archive or its FNAME field)."""
    inner = _gzip_name(data) or (name[:-3] if name.lower().endswith(".gz") else name + ".out")
    declared = struct.unpack("<I", data[-4:])[0] if len(data) >= 18 else 0
    cap = scan.admit(out, inner, declared, len(data))
    if cap is None:
        return
    stream = zlib.decompressobj(wbits=47)
    try:
        body = stream.decompress(data, cap + 1)
    except zlib.error as exc:
        out.flag("archive-corrupt", f"unreadable gzip ({_why(exc)})")
        out.error(f"unreadable gzip: {_why(exc)}")
        return
    _keep(inner, body[:cap], len(body) > cap, scan, out)


def _gzip_name(data: bytes) -> str:
    if len(data) < 10 or not data[3] & 0x08:
        return ""
    start = 10
    if data[3] & 0x04:
        start += 2 + int.from_bytes(data[10:12], "little")
    end = data.find(b"\x00", start, start + 1024)
    return data[start:end].decode("latin-1") if end > start else ""


def analyse_tar(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """List and unpack a tar archive (regular files only)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for info in archive:
                if out.flagged("archive-too-many"):
                    break
                _tar_member(archive, info, scan, out)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        out.flag("archive-corrupt", f"unreadable tar ({_why(exc)})")
        out.error(f"unreadable tar: {_why(exc)}")


def _tar_member(archive: tarfile.TarFile, info: tarfile.TarInfo, scan: Scan, out: Analysis) -> None:
    if not info.isfile():
        return
    out.note(Kind.FILE_NAME, info.name)
    cap = scan.admit(out, info.name, info.size, info.size)
    fh = archive.extractfile(info) if cap is not None else None
    if fh is not None and cap is not None:
        body, more = read_bounded(fh, cap)
        _keep(info.name, body, more, scan, out)


# --- disk images ----------------------------------------------------------------------------------


def analyse_iso(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """List and unpack an ISO 9660 / Joliet / Rock Ridge / UDF image."""
    out.flag("container-image", f"{name}: a disk image; files inside lose the Mark-of-the-Web")
    iso = pycdlib.PyCdlib()
    try:
        iso.open_fp(io.BytesIO(data))
        facility = _iso_facility(iso)
        for path in _iso_files(iso, facility, scan):
            out.note(Kind.FILE_NAME, _iso_display(path), container=name)
            if out.flagged("archive-too-many"):
                break
            _iso_member(iso, facility, path, scan, out)
    except (
        pycdlib.pycdlibexception.PyCdlibException,
        OSError,
        EOFError,
        ValueError,
        struct.error,
    ) as exc:
        out.flag("archive-corrupt", f"unreadable disk image ({_why(exc)})")
        out.error(f"unreadable disk image: {_why(exc)}")
    finally:
        _iso_close(iso)


def _iso_facility(iso: pycdlib.PyCdlib) -> str:
    if iso.has_udf():
        return "udf_path"
    if iso.has_joliet():
        return "joliet_path"
    if iso.has_rock_ridge():
        return "rr_path"
    return "iso_path"


def _iso_files(iso: pycdlib.PyCdlib, facility: str, scan: Scan) -> list[str]:
    found: list[str] = []
    for dirname, _dirs, files in iso.walk(**{facility: "/"}):
        for file in files:
            found.append(dirname.rstrip("/") + "/" + file)
            if len(found) > scan.limits.max_members:
                return found
    return found


def _iso_display(path: str) -> str:
    return re.sub(r";\d+$", "", path.lstrip("/"))


def _iso_member(iso: pycdlib.PyCdlib, facility: str, path: str, scan: Scan, out: Analysis) -> None:
    size = iso.get_record(**{facility: path}).get_data_length()
    cap = scan.admit(out, path, size, None)
    if cap is None:
        return
    sink = io.BytesIO()
    iso.get_file_from_iso_fp(sink, **{facility: path})
    body = sink.getvalue()
    _keep(_iso_display(path), body[:cap], len(body) > cap, scan, out)


def _iso_close(iso: pycdlib.PyCdlib) -> None:
    # close() refuses when open failed; there is nothing to release then.
    with contextlib.suppress(pycdlib.pycdlibexception.PyCdlibException):
        iso.close()


def analyse_vhd(name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    """A virtual hard disk: flagged as a Mark-of-the-Web bypass; its file system is not read."""
    out.flag("container-image", f"{name}: a virtual disk; files inside lose the Mark-of-the-Web")
    out.error("VHD/VHDX contents are not inspected")


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


ANALYSERS: dict[str, Callable[[str, bytes, Scan, Analysis], None]] = {
    "zip": analyse_zip,
    "7z": analyse_7z,
    "rar": analyse_rar,
    "gzip": analyse_gzip,
    "tar": analyse_tar,
    "iso": analyse_iso,
    "vhd": analyse_vhd,
}
