"""Uploaded evidence onto disk, bounded, private and inert.

Each upload streams into a private temporary file (mode 0600) in ``<case>/uploads/.incoming``,
counted against the request's byte budget, then moves to ``<case>/uploads/<sha256[:16]>/<name>``.
The place depends only on the content and the name, so uploading the same file again gives the same
evidence path and id, and the case gains no rows (re-ingesting is a no-op). Files are data: never
executed, no execute bit, names reduced to one plain path component.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aptlink.errors import ConfigError, LimitExceeded

CHUNK = 1 << 20
NAME_CHARS = 120
UPLOADS = "uploads"
INCOMING = ".incoming"
_UNSAFE = re.compile(r"[^\w.\-+@()\[\] ]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadLimits:
    """Bounds on one request's uploads."""

    total_bytes: int = 200 * 1024 * 1024
    files: int = 1000
    name_chars: int = NAME_CHARS


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded file as the client named it, with its content as a readable stream."""

    name: str | None
    stream: BinaryIO


def safe_name(name: str | None, limit: int = NAME_CHARS) -> str:
    """One harmless path component from a client's file name (no folders, no leading dot)."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/")).rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", "".join(ch for ch in base if ch.isprintable())).strip(" .")
    if len(base) > limit:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) < 16 else base[:limit]
    return base or "upload"


def stage(uploads: Iterable[Upload], case_dir: Path, limits: UploadLimits) -> list[Path]:
    """Write each upload under the case folder; the paths to investigate, each once."""
    uploads = list(uploads)
    if not uploads:
        raise ConfigError("no files uploaded", "field 'files'")
    if len(uploads) > limits.files:
        raise LimitExceeded(f"too many files: {len(uploads)} > {limits.files}", "upload")
    incoming = _private_dir(case_dir / UPLOADS / INCOMING)
    budget = [limits.total_bytes]
    paths: dict[Path, None] = {}
    for upload in uploads:
        paths[_store(upload, incoming, budget, limits)] = None
    return list(paths)


def _store(upload: Upload, incoming: Path, budget: list[int], limits: UploadLimits) -> Path:
    fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix="up-")  # mode 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy(upload, out, budget, limits)
        name = safe_name(upload.name, limits.name_chars)
        target = _private_dir(incoming.parent / digest[:16]) / name
        os.replace(tmp, target)
        return target
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _copy(upload: Upload, out: BinaryIO, budget: list[int], limits: UploadLimits) -> str:
    """Copy in chunks, hashing, and stop as soon as the request's byte budget is spent."""
    digest = hashlib.sha256()
    while chunk := upload.stream.read(CHUNK):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            mb = limits.total_bytes // (1024 * 1024)
            raise LimitExceeded(f"upload too large: more than {mb} MB in all", upload.name)
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
