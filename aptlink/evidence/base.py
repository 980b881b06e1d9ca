"""The parser abstraction: a class that recognises a format and turns a file into items.

An *item* is one parsed unit a detector looks at (a mail, an event log, an inventory, an incident
from a STIX bundle), with the observations it carries. A parser never executes or writes evidence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from aptlink.errors import CorruptEvidence, LimitExceeded
from aptlink.model import Observation, Provenance
from aptlink.registry import Registry

HEAD_SIZE = 8192


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on hostile evidence. Configuration is data: override per run, never per branch."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_member_bytes: int = 50 * 1024 * 1024
    max_total_unpacked: int = 256 * 1024 * 1024
    max_ratio: float = 200.0
    max_depth: int = 6
    max_members: int = 500
    max_text_chars: int = 2_000_000
    parse_seconds: float = 30.0
    file_seconds_per_mb: float = 2.0  # a whole file's parse: parse_seconds plus this per MB

    def file_seconds(self, size: int) -> float:
        """How long parsing one file of ``size`` bytes may take before it is stopped."""
        return self.parse_seconds + self.file_seconds_per_mb * size / (1024 * 1024)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One parsed unit handed to detectors. ``kind`` routes it (``mail``, ``eventlog`` ...)."""

    kind: str
    provenance: Provenance
    data: Any
    observations: tuple[Observation, ...] = ()
    time: datetime | None = None


NOT_REGULAR = "not a regular file (a named pipe, socket or device): not read"


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    """Every regular file under the given files and folders, in a stable order; no symlink loops."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
        else:
            yield path


def path_text(path: Path | str) -> str:
    """A path as text that every output can carry: a name that is not UTF-8 (its bytes held as
    surrogates, e.g. Shift_JIS from a Japanese volume) with those bytes as ``\\xNN`` escapes;
    Arrow, SQLite and JSON refuse surrogates."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def is_regular(path: Path) -> bool:
    """A regular file (through symbolic links), or a path that is gone (its read fails, with the
    reason, where it is read); False for named pipes, sockets and devices, whose reading would
    block or never end: every walk over evidence asks this first."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return True


@dataclasses.dataclass(slots=True)
class Source:
    """A file offered to the parsers; content is read lazily and hashed once."""

    path: Path
    limits: Limits = dataclasses.field(default_factory=Limits)
    _data: bytes | None = None
    _sha256: str | None = None
    name: str | None = None  # what reports call it when the path is a stand-in (archive!member)

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def where(self) -> str:
        """The file as text for reports and errors: its ``name``, else ``path_text``."""
        return self.name or path_text(self.path)

    def head(self, n: int = HEAD_SIZE) -> bytes:
        if self._data is not None:
            return self._data[:n]
        with self.path.open("rb") as fh:
            return fh.read(n)

    def read(self) -> bytes:
        if self._data is None:
            if self.size > self.limits.max_file_bytes:
                raise LimitExceeded(
                    f"file is {self.size} bytes, over the {self.limits.max_file_bytes} limit",
                    self.where,
                )
            self._data = self.path.read_bytes()
        return self._data

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            digest = hashlib.sha256()
            with self.path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            self._sha256 = digest.hexdigest()
        return self._sha256

    def provenance(self, parser: str, record: str | None = None) -> Provenance:
        return Provenance(file=self.where, sha256=self.sha256, record=record, chain=(parser,))


def read_json(source: Source, what: str = "JSON") -> Any:
    """The JSON document of a whole file; CorruptEvidence naming the file when it is not JSON, not
    UTF-8, or nested deeper than the reader can follow (a hostile file of ``[[[[...`` exhausts
    Python's recursion, which must read as a broken file, not as a crash)."""
    try:
        return json.loads(source.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptEvidence(f"not valid {what}: {exc}", source.where) from None
    except RecursionError:
        raise CorruptEvidence(
            f"not readable as {what}: nested deeper than the reader allows (about 1,000 levels)",
            source.where,
        ) from None


@dataclasses.dataclass(frozen=True, slots=True)
class Warning_:
    """A problem with one record that did not stop the file: stored with where it came from."""

    where: str
    message: str


@dataclasses.dataclass(slots=True)
class ParseContext:
    """What a parser may use: limits, run options, and a place to leave warnings."""

    limits: Limits = dataclasses.field(default_factory=Limits)
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    warnings: list[Warning_] = dataclasses.field(default_factory=list)

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(Warning_(where, message))


PARSERS: Registry[Parser] = Registry("parser")


class Parser:
    """Base of all parsers. Subclassing registers the subclass under its ``name``.

    ``sniff`` returns a confidence 0-100 from the first bytes (content first, extension as a hint);
    ``parse`` yields items, raising ``UnsupportedEvidence`` if the file is not its format after all
    and ``CorruptEvidence`` if it is but cannot be read.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    abstract: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("abstract", False):
            PARSERS.register(cls)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        return 10 if path.suffix.lower() in cls.extensions else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        raise NotImplementedError


def choose_parser(source: Source) -> type[Parser] | None:
    """The registered parser most confident about this file, or None."""
    head = source.head()
    best: tuple[int, type[Parser]] | None = None
    for cls in PARSERS:
        score = cls.sniff(head, source.path)
        if score > 0 and (best is None or score > best[0]):
            best = (score, cls)
    return best[1] if best else None
