"""Event logs inside a ZIP collection (Velociraptor's offline collector, KAPE with ``--zip``, a zipped
triage folder), unpacked for the hunt into a scratch folder and reported as ``archive.zip!member``.

The archive is hostile: members are written under numbered names (a member's own name, ``../``
or absolute, never becomes a path), encrypted members are skipped with the reason, and so are
members past a bounded number, size (checked again while copying: the header's size is the
attacker's word), compression ratio (a bomb) or collection total. Only members named like event
files are unpacked; a collection's other files (other archives among them) are not event logs,
as in a folder.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from aptlink.analysis.archives import member_name
from aptlink.evidence.base import is_regular, path_text

ZIP_MAGIC = b"PK\x03\x04"
EVENT_SUFFIXES = (".evtx", ".jsonl", ".ndjson", ".json", ".xml")
MAX_MEMBER_BYTES = 8 << 30  # a Security.evtx is rarely over 4 GB
MAX_TOTAL_BYTES = 64 << 30
MAX_RATIO = 5000  # sparse .evtx files (empty chunks) compress a few hundred times, no more
MAX_MEMBERS = 100_000  # event files per collection (a host has a few hundred logs)
COPY_BYTES = 1 << 20
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError)


def is_collection(path: Path) -> bool:
    """A ZIP file (by its first bytes, whatever its name; a file named like an event log is
    not opened for this: a hunt meets tens of thousands of them)."""
    if path.name.lower().endswith(EVENT_SUFFIXES) or not is_regular(path):
        return False  # (opening a named pipe would block)
    try:
        with path.open("rb") as fh:
            return fh.read(4) == ZIP_MAGIC
    except OSError:
        return False


@dataclasses.dataclass
class Unpacked:
    """What the hunt reads in place of its collections: scratch file -> ``archive!member``."""

    folder: Path | None = None  # (made when the first collection is met)
    names: dict[str, str] = dataclasses.field(default_factory=dict)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    total: int = 0

    def unpack(self, archive: Path) -> Iterator[Path]:
        """The event files of ``archive``, each unpacked to the scratch folder as it is reached."""
        where = path_text(archive)
        try:
            zf = zipfile.ZipFile(archive)
        except ZIP_ERRORS as exc:
            self.failed[where] = f"not a readable ZIP archive: {exc}"
            return
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="aptlink-hunt-"))
        with zf:
            for info in zf.infolist():
                name = member_name(info)
                if info.is_dir() or not name.lower().endswith(EVENT_SUFFIXES):
                    continue
                label = f"{where}!{name}"
                reason = self._refused(info)
                if reason:
                    self.skipped[label] = reason
                    continue
                target = self.folder / f"{len(self.names):06d}{Path(name).suffix.lower()}"
                problem = self._copy(zf, info, target)
                if problem:
                    target.unlink(missing_ok=True)
                    self.failed[label] = problem
                    continue
                self.names[path_text(target)] = label
                yield target

    def _refused(self, info: zipfile.ZipInfo) -> str | None:
        if info.flag_bits & 0x1:
            return "encrypted member (unpack it with its password and hunt the folder)"
        if info.file_size > MAX_MEMBER_BYTES:
            return f"member of {info.file_size} bytes is over the {MAX_MEMBER_BYTES} limit"
        if info.file_size > max(1, info.compress_size) * MAX_RATIO:
            return f"compression ratio over {MAX_RATIO}:1 (a decompression bomb?)"
        if self.total + info.file_size > MAX_TOTAL_BYTES:
            return f"the collection's unpacked members would pass {MAX_TOTAL_BYTES} bytes"
        if len(self.names) >= MAX_MEMBERS:
            return f"over {MAX_MEMBERS} event files unpacked already"
        return None

    def _copy(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> str | None:
        """Copy a member, stopping at its declared size: a member that inflates beyond what its
        header says is refused."""
        written = 0
        try:
            with zf.open(info) as source, target.open("wb") as out:
                while block := source.read(COPY_BYTES):
                    written += len(block)
                    if written > info.file_size:
                        return "member inflates beyond its declared size"
                    out.write(block)
        except (*ZIP_ERRORS, NotImplementedError, RuntimeError) as exc:
            return f"unreadable member: {exc}"
        self.total += written
        return None

    def label(self, text: str) -> str:
        """``text`` (a scratch path, or a place that starts with one: ``path#record``,
        ``path:line``) as its archive and member."""
        found = self.names.get(text)
        if found is not None or self.folder is None:
            return found or text
        prefix = f"{path_text(self.folder)}/"
        if text.startswith(prefix):
            cut = min((i for i in (text.find("#", len(prefix)), text.find(":", len(prefix))) if i > 0),
                      default=len(text))  # fmt: skip
            if text[:cut] in self.names:
                return self.names[text[:cut]] + text[cut:]
        return text

    def remove(self) -> None:
        """The scratch folder and every member in it."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
