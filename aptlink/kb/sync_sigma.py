"""`kb sync` for the SigmaHQ rule release: download the official release zip, extract it safely
and swap it into ``<cache>/sigma`` (where ``aptlink hunt`` looks for ``rules/windows``) atomically.

The zip is hostile until checked: bounded download, member count, sizes and compression ratio; a
member with an absolute path, a ``..`` component or a symlink rejects the whole archive (a release
does not contain them, so it was tampered with); only ``.yml``/``.yaml`` files are written. The
rules are extracted into a fresh folder under ``<cache>/sigma.d/`` and ``<cache>/sigma`` is a
symlink that is replaced in one rename, so a hunt never sees a half-written rule set and a failed
download leaves the previous rules in place.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import stat
import tempfile
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from aptlink.errors import KnowledgeError

RELEASE_URL = "https://github.com/SigmaHQ/sigma/releases/latest/download/{}"
# The packages SigmaHQ attaches to every release (Releases.md; .github/workflows/release.yml).
PACKAGES = {
    "core": "sigma_core.zip",
    "core+": "sigma_core+.zip",
    "core++": "sigma_core++.zip",
    "emerging-threats": "sigma_emerging_threats_addon.zip",
    "all": "sigma_all_rules.zip",
}
DEFAULT_PACKAGE = "all"
LINK = "sigma"
RELEASES = "sigma.d"
RULE_SUFFIXES = (".yml", ".yaml")


@dataclasses.dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds for the release archive (sigma_all_rules.zip is about 4 MB, 3,000 rules)."""

    download: int = 64 * 1024 * 1024
    members: int = 50_000
    member_size: int = 2 * 1024 * 1024
    total_size: int = 256 * 1024 * 1024
    ratio: int = 100  # uncompressed / compressed, for members larger than 64 KiB
    min_rules: int = 1


def mirror_path(package: str) -> str:
    return f"sigma/{asset_name(package)}"


def asset_name(package: str) -> str:
    try:
        return PACKAGES[package]
    except KeyError:
        raise KnowledgeError(
            f"unknown Sigma package {package!r}; one of {', '.join(PACKAGES)}", "sigma"
        ) from None


_TAG = re.compile(r"/releases/download/(r(\d{4})-(\d{2})-(\d{2}))/")


def release_tag(url: str) -> tuple[str | None, str | None]:
    """The release tag and its date from the URL GitHub redirected ``latest`` to."""
    m = _TAG.search(url)
    if not m:
        return None, None
    return m.group(1), f"{m.group(2)}-{m.group(3)}-{m.group(4)}"


def check_member(info: zipfile.ZipInfo, limits: ZipLimits, where: str) -> PurePosixPath | None:
    """The safe relative path of a rule member, None for what is skipped; raises on tampering."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise KnowledgeError(f"archive member {name!r} is a symlink", where)
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\0" in name:
        raise KnowledgeError(f"archive member {name!r} has an absolute or foreign path", where)
    parts = PurePosixPath(name).parts
    if any(p in ("..", "") for p in parts) or not parts:
        raise KnowledgeError(f"archive member {name!r} escapes the folder", where)
    if info.is_dir() or not name.lower().endswith(RULE_SUFFIXES):
        return None
    if info.file_size > limits.member_size:
        raise KnowledgeError(f"archive member {name!r} is larger than {limits.member_size}", where)
    if info.file_size > 65536 and info.file_size > limits.ratio * max(info.compress_size, 1):
        raise KnowledgeError(f"archive member {name!r} has a suspicious compression ratio", where)
    return PurePosixPath(*parts)


def extract_rules(archive: Path, dest: Path, limits: ZipLimits, where: str) -> dict[str, Any]:
    """Write the rule files of ``archive`` under ``dest``; return counts and the newest rule date."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        raise KnowledgeError(f"not a zip archive: {exc}", where) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.members:
            raise KnowledgeError(f"archive has more than {limits.members} members", where)
        wanted = [(i, check_member(i, limits, where)) for i in infos]
        total = sum(i.file_size for i, rel in wanted if rel is not None)
        if total > limits.total_size:
            raise KnowledgeError(f"archive expands to more than {limits.total_size} bytes", where)
        counts: dict[str, int] = {"rules": 0, "windows": 0, "skipped": 0}
        newest: str | None = None
        for info, rel in wanted:
            if rel is None:
                counts["skipped"] += 0 if info.is_dir() else 1
                continue
            data = _read_member(zf, info, limits, where)
            _write(dest.joinpath(*rel.parts), data, info.filename, where)
            counts["rules"] += 1
            counts["windows"] += rel.parts[:2] == ("rules", "windows")
            newest = max(filter(None, (newest, rule_date(data))), default=None)
    if counts["rules"] < limits.min_rules:
        raise KnowledgeError("archive holds no Sigma rules (.yml)", where)
    return {**counts, "newest_rule": newest}


def _write(target: Path, data: bytes, name: str, where: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:  # "x": two members with one name are not merged
            out.write(data)
    except FileExistsError:
        raise KnowledgeError(f"archive member {name!r} appears twice", where) from None
    except OSError as exc:
        raise KnowledgeError(f"cannot write archive member {name!r}: {exc}", where) from None


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, where: str
) -> bytes:
    try:
        with zf.open(info) as src:
            data = src.read(limits.member_size + 1)  # the header's size may lie
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
        raise KnowledgeError(f"archive member {info.filename!r} is corrupt: {exc}", where) from None
    if len(data) > limits.member_size:
        raise KnowledgeError(f"archive member {info.filename!r} is larger than declared", where)
    return data


_DATE = re.compile(rb"^(?:modified|date):\s*['\"]?(\d{4})[-/](\d{2})[-/](\d{2})", re.M)


def rule_date(data: bytes) -> str | None:
    """The newest ``date``/``modified`` of one rule, ISO formatted."""
    found = [f"{y.decode()}-{m.decode()}-{d.decode()}" for y, m, d in _DATE.findall(data[:8192])]
    valid = [f for f in found if _is_date(f)]
    return max(valid, default=None)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def sync_sigma(
    cache_dir: Path,
    url: str,
    timeout: float,
    package: str = DEFAULT_PACKAGE,
    sha: str | None = None,
    limits: ZipLimits | None = None,
) -> dict[str, Any]:
    """Download, check, extract and swap in a Sigma release; return its manifest entry."""
    from aptlink.kb.sync import download_to

    limits = limits or ZipLimits()
    releases = cache_dir / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".download.", suffix=".zip.part", dir=releases)
    archive = Path(tmp_name)
    staging = Path(tempfile.mkdtemp(prefix=".staging.", dir=releases))
    try:
        with os.fdopen(fd, "wb") as out:
            digest, size, final = download_to(url, out, timeout, limits.download)
        if sha and sha.lower() != digest:
            raise KnowledgeError(f"sha256 mismatch: expected {sha.lower()}, got {digest}", url)
        counts = extract_rules(archive, staging, limits, url)
        tag, tag_date = release_tag(final)
        release = releases / f"{tag or 'release'}-{digest[:12]}"
        installed = install(cache_dir, staging, release)
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    fetched = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "name": "sigma",
        "url": url,
        "release_url": final,
        "package": asset_name(package),
        "path": str(installed),
        "sha256": digest,
        "size": size,
        "fetched": fetched,
        "version": tag,
        "date": tag_date or counts["newest_rule"],
        "objects": counts["rules"],
        "windows_rules": counts["windows"],
        "skipped_files": counts["skipped"],
    }


def install(cache_dir: Path, staging: Path, release: Path) -> Path:
    """Make ``<cache>/sigma`` point at ``release`` (moved from ``staging``) in one rename."""
    link = cache_dir / LINK
    if not release.exists():
        staging.rename(release)
    tmp_link = cache_dir / f".{LINK}.{os.getpid()}.link"
    tmp_link.unlink(missing_ok=True)
    try:
        os.symlink(Path(RELEASES) / release.name, tmp_link, target_is_directory=True)
    except OSError:  # no symlinks here (some Windows set-ups): swap folders, a short gap
        return _swap_folders(link, release)
    if link.is_dir() and not link.is_symlink():  # a folder put there by hand: kept, never deleted
        link.rename(_free_name(cache_dir / f"{LINK}.previous"))
    os.replace(tmp_link, link)
    _prune(cache_dir / RELEASES, keep=release.name)
    return link


def _free_name(path: Path) -> Path:
    n = 0
    while (candidate := path.with_name(f"{path.name}{n or ''}")).exists():
        n += 1
    return candidate


def _swap_folders(link: Path, release: Path) -> Path:
    old = link.with_name(f".{LINK}.old.{os.getpid()}")
    if link.exists():
        link.rename(old)
    shutil.copytree(release, link)
    shutil.rmtree(old, ignore_errors=True)
    return link


def _prune(releases: Path, keep: str) -> None:
    """Remove older releases; a hunt started before the swap may still read one, which is fine
    on POSIX (open files stay readable) and the next sync retries what could not be removed."""
    for entry in releases.iterdir():
        if entry.name != keep and not entry.name.startswith((".download.", ".staging.")):
            shutil.rmtree(entry, ignore_errors=True)


def installed_rules(cache_dir: Path) -> Path | None:
    """The synced rules folder, when there is one."""
    link = cache_dir / LINK
    return link if link.is_dir() else None
