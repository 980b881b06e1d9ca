"""`aptlink kb sync`: download the current ATT&CK, CISA KEV and MISP galaxy data into the cache.

Each file is downloaded to a temporary file beside its target, checked (it parses, it has the
expected type and a plausible number of objects, and the sha256 matches when one is given) and only
then moved into place with an atomic rename. A failed or partial download never touches the copy
already in the cache. The base URL can be pointed at a mirror (tests use a loopback server).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aptlink.errors import KnowledgeError
from aptlink.kb.attack import default_cache_dir

MAX_DOWNLOAD = 256 * 1024 * 1024
TIMEOUT = 60.0
BASE_ENV = "APTLINK_SYNC_BASE"
Check = Callable[[Any, str], dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class SyncSource:
    """One file to fetch: its name, official URL, path under a mirror base, cache path and check."""

    name: str
    url: str
    mirror_path: str
    cache_path: str
    check: Check
    optional: bool = False


def check_attack(doc: Any, where: str) -> dict[str, Any]:
    objects = doc.get("objects") if isinstance(doc, dict) and doc.get("type") == "bundle" else None
    if not isinstance(objects, list) or len(objects) < 1000:
        raise KnowledgeError("not an ATT&CK bundle (no 'objects' list of 1000+ objects)", where)
    types = {o.get("type") for o in objects if isinstance(o, dict)}
    if not {"attack-pattern", "intrusion-set", "relationship"} <= types:
        raise KnowledgeError("ATT&CK bundle lacks techniques, groups or relationships", where)
    version = next(
        (o.get("x_mitre_version") for o in objects if o.get("type") == "x-mitre-collection"), None
    )
    return {"objects": len(objects), "version": version}


def check_kev(doc: Any, where: str) -> dict[str, Any]:
    vulns = doc.get("vulnerabilities") if isinstance(doc, dict) else None
    if not isinstance(vulns, list) or len(vulns) < 100:
        raise KnowledgeError(
            "not a KEV catalogue (no 'vulnerabilities' list of 100+ entries)", where
        )
    if not all(isinstance(v, dict) and str(v.get("cveID", "")).startswith("CVE-") for v in vulns):
        raise KnowledgeError("KEV catalogue has entries without a cveID", where)
    return {"objects": len(vulns), "version": doc.get("catalogVersion")}


def check_cluster(doc: Any, where: str) -> dict[str, Any]:
    values = doc.get("values") if isinstance(doc, dict) else None
    if not isinstance(values, list) or not values or not all("value" in v for v in values):
        raise KnowledgeError("not a MISP galaxy cluster (no 'values' list)", where)
    return {"objects": len(values), "version": doc.get("version")}


ATTACK_URL = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json"
KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
GALAXY_URL = "https://raw.githubusercontent.com/MISP/misp-galaxy/main/clusters/{}.json"
GALAXY_CLUSTERS = (
    ("threat-actor", False),
    ("mitre-intrusion-set", False),
    ("mitre-attack-pattern", True),
    ("mitre-course-of-action", True),
    ("mitre-malware", True),
    ("mitre-tool", True),
)


def default_sources() -> list[SyncSource]:
    sources = [
        SyncSource(
            "attack",
            ATTACK_URL,
            "attack/enterprise-attack.json",
            "enterprise-attack.json",
            check_attack,
        ),
        SyncSource(
            "kev",
            KEV_URL,
            "kev/known_exploited_vulnerabilities.json",
            "known_exploited_vulnerabilities.json",
            check_kev,
        ),
    ]
    for name, optional in GALAXY_CLUSTERS:
        path = f"misp-galaxy/clusters/{name}.json"
        sources.append(
            SyncSource(
                f"misp-galaxy:{name}", GALAXY_URL.format(name), path, path, check_cluster, optional
            )
        )
    return sources


@dataclasses.dataclass(slots=True)
class SyncReport:
    updated: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    failed: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    skipped: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "updated": self.updated,
            "failed": self.failed,
            "skipped": self.skipped,
        }


def source_url(src: SyncSource, base_url: str | None) -> str:
    base = base_url or os.environ.get(BASE_ENV)
    return f"{base.rstrip('/')}/{src.mirror_path}" if base else src.url


def sync(
    cache_dir: Path | None = None,
    base_url: str | None = None,
    only: Iterable[str] = (),
    sha256: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    *,
    nvd: bool = False,
    refresh: bool = False,
    sigma_package: str = "all",
    nvd_options: Mapping[str, Any] | None = None,
) -> SyncReport:
    """Fetch every source (or those named in ``only``); report what was updated or failed.

    The Sigma rule release comes with every source unless ``only`` leaves it out; the NVD records
    (many paced requests) only with ``nvd`` or ``only=["nvd"]``.
    """
    cache = cache_dir or default_cache_dir()
    root = cache / "sources"
    wanted = {o.lower() for o in only}
    report = SyncReport()
    manifest = read_manifest(root)
    for src in default_sources():
        if wanted and src.name not in wanted and src.name.split(":")[0] not in wanted:
            continue
        url = source_url(src, base_url)
        try:
            entry = fetch_one(src, url, root, (sha256 or {}).get(src.name), timeout)
        except _NotFound:
            (report.skipped if src.optional else report.failed).append(
                {"name": src.name, "url": url, "error": "not found (404)"}
            )
            continue
        except KnowledgeError as exc:
            report.failed.append({"name": src.name, "url": url, "error": str(exc)})
            continue
        manifest[src.name] = entry
        report.updated.append(entry)
    if not wanted or "sigma" in wanted:
        _sync_sigma(
            cache, base_url, sigma_package, (sha256 or {}).get("sigma"), timeout, report, manifest
        )
    if nvd or "nvd" in wanted:
        _sync_nvd(cache, base_url, refresh, timeout, nvd_options or {}, report, manifest)
    write_manifest(root, manifest)
    return report


def _sync_sigma(
    cache: Path,
    base_url: str | None,
    package: str,
    sha: str | None,
    timeout: float,
    report: SyncReport,
    manifest: dict[str, Any],
) -> None:
    from aptlink.kb import sync_sigma

    base = base_url or os.environ.get(BASE_ENV)
    try:
        asset = sync_sigma.asset_name(package)
        url = (
            f"{base.rstrip('/')}/{sync_sigma.mirror_path(package)}"
            if base
            else sync_sigma.RELEASE_URL.format(asset)
        )
        entry = sync_sigma.sync_sigma(cache, url, timeout, package, sha)
    except _NotFound as exc:
        report.skipped.append({"name": "sigma", "url": str(exc), "error": "not found (404)"})
        return
    except KnowledgeError as exc:
        report.failed.append({"name": "sigma", "url": exc.where or "", "error": str(exc)})
        return
    except OSError as exc:  # the cache itself: read-only, full, ...
        report.failed.append({"name": "sigma", "url": str(cache), "error": f"cache: {exc}"})
        return
    manifest["sigma"] = entry
    report.updated.append(entry)


def _sync_nvd(
    cache: Path,
    base_url: str | None,
    refresh: bool,
    timeout: float,
    options: Mapping[str, Any],
    report: SyncReport,
    manifest: dict[str, Any],
) -> None:
    from aptlink.kb import sync_nvd

    root = cache / "sources"
    kev = root / "known_exploited_vulnerabilities.json"
    try:
        cves = sync_nvd.edge_kev_cves(kev if kev.is_file() else None)
        entry, result = sync_nvd.sync_nvd(
            root, cves, base_url or os.environ.get(BASE_ENV), refresh, timeout, **options
        )
    except KnowledgeError as exc:
        report.failed.append({"name": "nvd", "url": exc.where or "", "error": str(exc)})
        return
    except OSError as exc:
        report.failed.append({"name": "nvd", "url": str(root), "error": f"cache: {exc}"})
        return
    manifest["nvd"] = entry
    report.updated.append(entry)
    for err in result.errors:
        report.failed.append(
            {"name": f"nvd:{err['cve']}", "url": entry["url"], "error": err["error"]}
        )
    if result.stopped:
        report.failed.append({"name": "nvd", "url": entry["url"], "error": result.stopped})


class _NotFound(Exception):
    pass


def fetch_one(
    src: SyncSource, url: str, root: Path, sha: str | None, timeout: float
) -> dict[str, Any]:
    target = root / src.cache_path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest, size = download(url, out, timeout)
        info = verify(src, tmp, url, digest, sha)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    fetched = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "name": src.name,
        "url": url,
        "path": str(target),
        "sha256": digest,
        "size": size,
        "fetched": fetched,
        **info,
    }


def download(url: str, out: Any, timeout: float) -> tuple[str, int]:
    """Stream a URL into a file; return its sha256 and size. Only http(s) and file URLs."""
    digest, size, _ = download_to(url, out, timeout)
    return digest, size


def download_to(
    url: str, out: Any, timeout: float, limit: int = MAX_DOWNLOAD
) -> tuple[str, int, str]:
    """Stream a URL into a file; return its sha256, size and the URL it ended at (redirects)."""
    if not url.startswith(("https://", "http://", "file://")):
        raise KnowledgeError("unsupported URL scheme", url)
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # the scheme was checked above
            final = str(resp.geturl() or url)
            while chunk := resp.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise KnowledgeError(f"download larger than {limit} bytes", url)
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise _NotFound(url) from exc
        raise KnowledgeError(f"download failed: HTTP {exc.code}", url) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise KnowledgeError(f"download failed: {getattr(exc, 'reason', exc)}", url) from exc
    return digest.hexdigest(), size, final


def verify(src: SyncSource, tmp: Path, url: str, digest: str, sha: str | None) -> dict[str, Any]:
    if sha and sha.lower() != digest:
        raise KnowledgeError(f"sha256 mismatch: expected {sha.lower()}, got {digest}", url)
    try:
        doc = json.loads(tmp.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise KnowledgeError(f"downloaded file is not valid JSON: {exc}", url) from exc
    try:
        return src.check(doc, url)
    except (AttributeError, TypeError) as exc:
        raise KnowledgeError(f"downloaded file has an unexpected shape: {exc}", url) from exc


def read_manifest(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def write_manifest(root: Path, manifest: Mapping[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".manifest.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, root / "manifest.json")
