"""Compressed and encrypted RAR members, unpacked in memory by the UnRAR library (unrar2-cffi).

rarfile reads RAR headers and stored members in pure Python but hands anything compressed or
encrypted to an external ``unrar`` program through a copy on disk, which evidence must never get.
The UnRAR library itself (bundled in the unrar2-cffi wheel) opens archives by path only, so the
archive is given to it as an anonymous in-memory file (``memfd_create``, Linux): nothing touches
the disk. UnRAR runs in test mode (decompress and verify the CRC, never write); its data callback
collects each wanted member and aborts it once over the member's byte cap or past the deadline.
Where memfd or the library is missing, :func:`available` is false and callers report the members
as not unpacked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

try:
    from unrar.cffi._unrarlib import ffi, lib
    from unrar.cffi.unrarlib import BadRarFile, RarArchive
except ImportError:  # pragma: no cover - the wheel is a declared dependency
    ffi = lib = None

# RARProcessFileW results other than success that mean "the password is wrong or missing".
_PASSWORD_CODES = frozenset(
    () if lib is None else (lib.C_ERAR_BAD_PASSWORD, lib.C_ERAR_MISSING_PASSWORD)
)
ABORTED = -1  # what a callback returns to make UnRAR stop the member


def available() -> bool:
    """Whether compressed RAR members can be unpacked here without a disk copy."""
    return lib is not None and hasattr(os, "memfd_create")


@dataclasses.dataclass(slots=True)
class Unpacked:
    """What one pass over the archive produced."""

    members: dict[str, bytes] = dataclasses.field(default_factory=dict)
    overflowed: list[str] = dataclasses.field(default_factory=list)  # wrote past their cap
    failed: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> why
    wrong_password: bool = False
    timed_out: bool = False


@contextlib.contextmanager
def in_memory_path(data: bytes) -> Iterator[str]:
    """A path the UnRAR library can open that names ``data`` in memory, never on disk."""
    fd = os.memfd_create("aptlink-rar", getattr(os, "MFD_CLOEXEC", 0))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


class _Collector:
    """The UnRAR data callback for one member: keeps its bytes up to ``cap``, then aborts."""

    def __init__(self, cap: int, deadline: float) -> None:
        self.cap, self.deadline = cap, deadline
        self.parts: list[bytes] = []
        self.size = 0
        self.overflow = self.late = False

    def __call__(self, msg: int, p1: int, p2: int) -> int:
        # Any exception here would be printed and swallowed by cffi, so none may escape.
        try:
            if msg != lib.UCM_PROCESSDATA:
                return ABORTED  # a password prompt, a next volume, a huge dictionary: refuse
            if time.monotonic() > self.deadline:
                self.late = True
                return ABORTED
            if self.size + p2 > self.cap:
                self.overflow = True
                return ABORTED
            self.parts.append(bytes(ffi.buffer(ffi.cast("char *", p1), p2)))
            self.size += p2
            return 1
        except BaseException:  # TimeUp from the wall clock lands here too
            self.late = True
            return ABORTED


def listing(data: bytes, password: str) -> list[tuple[str, int, int]] | None:
    """Names, unpacked and packed sizes of an archive whose names are encrypted; None when the
    password does not open it."""
    try:
        with (
            in_memory_path(data) as path,
            RarArchive.open_for_metadata(path, pwd=password.encode("ascii").decode()) as archive,
        ):
            found = []
            for header in archive.iterate_headers():
                if not header.Flags & lib.C_RHDF_DIRECTORY:
                    size = header.UnpSize + (header.UnpSizeHigh << 32)
                    packed = header.PackSize + (header.PackSizeHigh << 32)
                    found.append((header.FileNameW, size, packed))
                header.skip()  # UnRAR moves to the next header only after a skip or a process
            return found
    except (BadRarFile, UnicodeEncodeError):
        return None


def unpack(data: bytes, caps: Mapping[str, int], password: str | None, deadline: float) -> Unpacked:
    """Unpack the members named in ``caps`` (name -> byte cap) in one pass over the archive."""
    result = Unpacked()
    try:
        pwd = password.encode("ascii") if password else None
    except UnicodeEncodeError:  # the library's binding takes ASCII passwords only
        result.wrong_password = True
        return result
    with in_memory_path(data) as path:
        try:
            archive = RarArchive.open_for_processing(path, pwd=pwd.decode() if pwd else None)
        except BadRarFile as exc:
            result.wrong_password = exc.code in _PASSWORD_CODES
            result.failed[""] = f"UnRAR cannot open the archive (code {exc.code})"
            return result
        with archive:
            _walk(archive, caps, deadline, result)
    return result


def _walk(archive: Any, caps: Mapping[str, int], deadline: float, result: Unpacked) -> None:
    for header in archive.iterate_headers():
        name = header.FileNameW
        if name not in caps or name in result.members:
            header.skip()
            continue
        collector = _Collector(caps[name], deadline)
        code = _test(archive.handle, collector)
        if collector.late:
            result.timed_out = True
            return
        if collector.overflow:
            result.overflowed.append(name)
        elif code in _PASSWORD_CODES:
            result.wrong_password = True
            return
        elif code != lib.C_ERAR_SUCCESS:
            result.failed[name] = f"UnRAR error code {code} (corrupt data or wrong password)"
        else:
            result.members[name] = b"".join(collector.parts)


def _test(handle: Any, collector: _Collector) -> int:
    """Decompress the current member in test mode, feeding ``collector``; UnRAR's result code."""
    user_data = ffi.new_handle(collector)
    lib.RARSetCallbackPtr(handle, lib.PyUNRARCALLBACKStub, user_data)
    try:
        return int(lib.RARProcessFileW(handle, lib.C_RAR_TEST, ffi.NULL, ffi.NULL))
    finally:
        lib.RARSetCallbackPtr(handle, ffi.NULL, ffi.NULL)
