"""`kb sync --nvd`: NVD CVE API 2.0 records (CPE configurations) for the KEV CVEs of the edge
products aptlink knows, saved as ``<cache>/sources/nvd-cpe-ranges.json`` for the exposure check.

One ``cveId=`` request per CVE (about 120 for the families in ``aptlink/exposure/data/products.yaml``),
paced to NVD's published limit: 5 requests in a rolling 30 s window without a key, 50 with one
(``$NVD_API_KEY``, sent in the ``apiKey`` header, never written anywhere). A 403/429/503 answer is
NVD throttling: wait (``Retry-After`` or one window) and retry a few times, then stop and keep
what was fetched. The file is rewritten atomically as the run goes, so an interrupted run resumes
where it stopped; CVEs already in the file with CPE configurations are skipped unless ``refresh``
(those NVD has not analysed yet, or does not know, are asked again). A malformed record is
reported with its CVE id and the others are kept.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aptlink.errors import KnowledgeError

NVD_API = "https://services.nvd.nist.gov/rest/json/cves/2.0"
MIRROR_PATH = "nvd/rest/json/cves/2.0"
KEY_ENV = "NVD_API_KEY"
OUTPUT = "nvd-cpe-ranges.json"
THROTTLED = (403, 429, 503)
MAX_RECORD = 16 * 1024 * 1024
SAVE_EVERY = 10
# What apply_nvd_ranges and a reader need from a record; descriptions, metrics and references are
# dropped to keep the file small.
KEEP = ("id", "published", "lastModified", "vulnStatus", "configurations")


@dataclasses.dataclass(slots=True)
class RateLimiter:
    """At most ``requests`` calls in any rolling ``window`` seconds (plus a margin for clock skew)."""

    requests: int
    window: float
    margin: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _stamps: collections.deque[float] = dataclasses.field(default_factory=collections.deque)

    @classmethod
    def for_key(cls, api_key: str | None, **kw: Any) -> RateLimiter:
        return cls(50 if api_key else 5, 30.0, **kw)

    def wait(self) -> None:
        now = self.clock()
        span = self.window + self.margin
        while self._stamps and now - self._stamps[0] >= span:
            self._stamps.popleft()
        if len(self._stamps) >= self.requests:
            self.sleep(span - (now - self._stamps[0]))
            now = self.clock()
            self._stamps.popleft()
        self._stamps.append(now)


@dataclasses.dataclass(slots=True)
class NvdResult:
    fetched: int = 0
    kept: int = 0
    not_found: list[str] = dataclasses.field(default_factory=list)
    errors: list[dict[str, str]] = dataclasses.field(default_factory=list)
    stopped: str | None = None


class Throttled(Exception):
    def __init__(self, code: int, retry_after: float | None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


class Unreachable(KnowledgeError):
    """No answer at all (connection refused, DNS, timeout): the next CVE would fare no better."""


def edge_kev_cves(kev_path: Path | None = None) -> list[str]:
    """KEV CVEs filed under the edge-product families of ``products.yaml`` (minus exclusions)."""
    from aptlink.exposure.catalogue import load_catalogue
    from aptlink.kb.kev import load_kev

    kev = load_kev(kev_path)
    cves: set[str] = set()
    for product in load_catalogue().products.values():
        found = {e.cve for v, n in product.kev for e in kev.for_product(v, n)}
        cves |= found - product.kev_exclude
    return sorted(cves)


def api_url(base_url: str | None) -> str:
    url = f"{base_url.rstrip('/')}/{MIRROR_PATH}" if base_url else NVD_API
    if not url.startswith(("https://", "http://")):
        raise KnowledgeError("the NVD API needs an http(s) URL", url)
    return url


def request_cve(url: str, cve: str, api_key: str | None, timeout: float) -> Any:
    """One ``cveId=`` query; the parsed JSON answer. Raises Throttled, KnowledgeError."""
    full = f"{url}?{urllib.parse.urlencode({'cveId': cve})}"
    headers = {"User-Agent": "aptlink-kb-sync"} | ({"apiKey": api_key} if api_key else {})
    request = urllib.request.Request(full, headers=headers)
    try:
        with urllib.request.urlopen(
            request, timeout=timeout
        ) as resp:  # URL built from http(s) base
            body = resp.read(MAX_RECORD + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in THROTTLED:
            raise Throttled(exc.code, _retry_after(exc.headers.get("Retry-After"))) from None
        if exc.code == 404:
            return {"vulnerabilities": []}
        raise KnowledgeError(f"NVD answered HTTP {exc.code}", cve) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise Unreachable(f"NVD request failed: {getattr(exc, 'reason', exc)}", url) from None
    if len(body) > MAX_RECORD:
        raise KnowledgeError(f"NVD answer larger than {MAX_RECORD} bytes", cve)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise KnowledgeError(f"NVD answer is not valid JSON: {exc}", cve) from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def record_of(doc: Any, cve: str) -> dict[str, Any] | None:
    """The checked, trimmed ``cve`` object for ``cve`` from an answer; None when NVD has none."""
    vulns = doc.get("vulnerabilities") if isinstance(doc, dict) else None
    if not isinstance(vulns, list):
        raise KnowledgeError("NVD answer has no 'vulnerabilities' list", cve)
    records = [v.get("cve") for v in vulns if isinstance(v, dict)]
    mine = [r for r in records if isinstance(r, dict) and str(r.get("id", "")).upper() == cve]
    if not mine:
        if len(records) != len(vulns) or any(not isinstance(r, dict) for r in records):
            raise KnowledgeError("NVD answer holds a malformed record", cve)
        return None
    record = {k: mine[0][k] for k in KEEP if k in mine[0]}
    check_configurations(record.get("configurations", []), cve)
    return record


def check_configurations(configs: Any, cve: str) -> None:
    """The shape apply_nvd_ranges reads: configurations -> nodes -> cpeMatch with a CPE 2.3 name."""
    if not isinstance(configs, list):
        raise KnowledgeError("'configurations' is not a list", cve)
    for i, config in enumerate(configs):
        nodes = config.get("nodes") if isinstance(config, dict) else None
        if not isinstance(nodes, list):
            raise KnowledgeError(f"configurations[{i}] has no 'nodes' list", cve)
        for j, node in enumerate(nodes):
            matches = node.get("cpeMatch", []) if isinstance(node, dict) else None
            if not isinstance(matches, list):
                raise KnowledgeError(f"configurations[{i}].nodes[{j}] has no 'cpeMatch' list", cve)
            for k, match in enumerate(matches):
                place = f"configurations[{i}].nodes[{j}].cpeMatch[{k}]"
                if not isinstance(match, dict):
                    raise KnowledgeError(f"{place} is not an object", cve)
                criteria = match.get("criteria")
                if not isinstance(criteria, str) or not criteria.startswith("cpe:2.3:"):
                    raise KnowledgeError(f"{place} has no CPE 2.3 'criteria'", cve)
                if not isinstance(match.get("vulnerable"), bool):
                    raise KnowledgeError(f"{place} has no boolean 'vulnerable'", cve)
                for key in ("versionStartIncluding", "versionEndExcluding", "versionEndIncluding"):
                    if key in match and not isinstance(match[key], str):
                        raise KnowledgeError(f"{place}.{key} is not a string", cve)


def read_saved(path: Path) -> dict[str, dict[str, Any]]:
    """Records already saved, by CVE id; an unreadable file counts as empty (it is rewritten)."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for v in doc.get("vulnerabilities", []) if isinstance(doc, dict) else []:
        cve = v.get("cve") if isinstance(v, dict) else None
        if isinstance(cve, dict) and isinstance(cve.get("id"), str):
            out[cve["id"].upper()] = cve
    return out


def save(path: Path, records: Mapping[str, dict[str, Any]], source: str) -> None:
    """Write the records in the NVD API 2.0 answer shape, atomically."""
    doc = {
        "format": "NVD_CVE",
        "version": "2.0",
        "source": source,
        "note": "This product uses data from the NVD API but is not endorsed or certified by the NVD.",
        "timestamp": _now(),
        "totalResults": len(records),
        "vulnerabilities": [{"cve": records[c]} for c in sorted(records)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sync_nvd(
    root: Path,
    cves: Iterable[str],
    base_url: str | None = None,
    refresh: bool = False,
    timeout: float = 60.0,
    api_key: str | None = None,
    limiter: RateLimiter | None = None,
    retries: int = 3,
) -> tuple[dict[str, Any], NvdResult]:
    """Fetch the records not yet saved (all with ``refresh``); return the manifest entry and result."""
    url = api_url(base_url)
    api_key = api_key if api_key is not None else os.environ.get(KEY_ENV) or None
    limiter = limiter or RateLimiter.for_key(api_key)
    path = root / OUTPUT
    records = read_saved(path)  # with refresh, old copies stay until a new one replaces them
    result = NvdResult()
    wanted = dict.fromkeys(c.strip().upper() for c in cves)
    todo = [c for c in wanted if refresh or not records.get(c, {}).get("configurations")]
    try:
        for n, cve in enumerate(todo, 1):
            try:
                record = _fetch(url, cve, api_key, timeout, limiter, retries)
            except Throttled as exc:
                result.stopped = (
                    f"NVD throttled the requests (HTTP {exc.code}) after {retries} retries; "
                    f"{n - 1} of {len(todo)} fetched, run again to resume"
                )
                break
            except Unreachable as exc:
                result.stopped = f"{exc}; {n - 1} of {len(todo)} fetched, run again to resume"
                break
            except KnowledgeError as exc:
                result.errors.append({"cve": cve, "error": str(exc)})
                continue
            result.fetched += 1
            if record is None:
                result.not_found.append(cve)
                records.pop(cve, None)
            else:
                records[cve] = record
            if n % SAVE_EVERY == 0:
                save(path, records, url)
    finally:  # also on Ctrl-C: what was fetched stays fetched
        if records or path.exists():
            save(path, records, url)
    result.kept = len(records)
    entry = {
        "name": "nvd",
        "url": url,
        "path": str(path),
        "fetched": _now(),
        "version": "2.0",
        "objects": len(records),
        "requested": len(todo),
        "not_found": result.not_found,
        "errors": len(result.errors),
        "complete": result.stopped is None and not result.errors,
    }
    return entry, result


def _fetch(
    url: str, cve: str, api_key: str | None, timeout: float, limiter: RateLimiter, retries: int
) -> dict[str, Any] | None:
    for attempt in range(retries + 1):
        limiter.wait()
        try:
            return record_of(request_cve(url, cve, api_key, timeout), cve)
        except Throttled as exc:
            if attempt == retries:
                raise
            limiter.sleep(min(exc.retry_after or limiter.window + limiter.margin, 120.0))
    raise AssertionError("unreachable")
