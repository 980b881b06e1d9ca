"""What aptlink knows about edge products: how to recognise them in an inventory (``products.yaml``) and
which versions each exploited CVE affects (the curated ``ranges.yaml``, optionally extended with ranges
from NVD CPE configurations that ``kb sync`` fetches, see :func:`apply_nvd_ranges`).

A range is ``introduced`` (inclusive) up to ``fixed`` (exclusive) or ``last_affected`` (inclusive), as
in OSV; a version outside every range of a CVE is not affected by it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from aptlink.errors import KnowledgeError
from aptlink.exposure.versions import Version, VersionError, parse_version

_NON_WORD = re.compile(r"[^0-9a-z]+")


def match_text(vendor: str, product: str) -> str:
    """``vendor product`` as the product patterns see it: NFKC (full-width ``ＦｏｒｔｉＧａｔｅ`` as a Japanese
    IME types it is FortiGate), case-folded, punctuation as spaces."""
    text = unicodedata.normalize("NFKC", f"{vendor} {product}").casefold()
    return _NON_WORD.sub(" ", text).strip()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """An edge-product family: its names, version scheme and where the catalogues list it."""

    id: str
    vendor: str
    name: str
    category: str
    scheme: str
    release_parts: int = 0
    vpn: bool = False
    patterns: tuple[re.Pattern[str], ...] = ()
    kev: tuple[tuple[str, str], ...] = ()
    cpe: tuple[str, ...] = ()
    kev_exclude: frozenset[str] = frozenset()
    actions: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Range:
    """One affected range on one branch; ``fixed`` is the first fixed release when there is one."""

    introduced: Version | None = None
    fixed: Version | None = None
    last_affected: Version | None = None

    def __contains__(self, version: Version) -> bool:
        if self.introduced is not None and version < self.introduced:
            return False
        if self.fixed is not None and not version < self.fixed:
            return False
        return not (self.last_affected is not None and version > self.last_affected)

    def overlaps(self, low: Version, high: Version) -> bool:
        return (
            (self.introduced is None or self.introduced < high)
            and (self.fixed is None or low < self.fixed)
            and (self.last_affected is None or not self.last_affected < low)
        )

    def describe(self) -> str:
        start = f">= {self.introduced}" if self.introduced else "all"
        if self.fixed:
            return f"{start}, < {self.fixed}"
        if self.last_affected:
            return f"{start}, <= {self.last_affected}"
        return start


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CveRanges:
    """The affected ranges of one CVE in one product family, and where they come from."""

    cve: str
    product: str
    ranges: tuple[Range, ...]
    advisory: str
    source: str = "curated"
    note: str = ""

    def affecting(self, version: Version) -> Range | None:
        return next((r for r in self.ranges if version in r), None)

    def overlapping(self, low: Version, high: Version) -> list[Range]:
        """The ranges holding some version from ``low`` (inclusive) to ``high`` (exclusive)."""
        return [r for r in self.ranges if r.overlaps(low, high)]

    def fixed_versions(self) -> list[str]:
        return [str(r.fixed) for r in self.ranges if r.fixed]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ActorClaim:
    """A public source saying an actor exploited a CVE (kept beside ranges until the kb has it)."""

    name: str
    source: str


class Catalogue:
    """Product families and CVE ranges, looked up by product id."""

    def __init__(
        self,
        products: Iterable[Product],
        ranges: Iterable[CveRanges] = (),
        actors: Mapping[str, list[ActorClaim]] | None = None,
        endpoint_software: Iterable[re.Pattern[str]] = (),
    ) -> None:
        self.products = {p.id: p for p in products}
        self.endpoint_patterns = tuple(endpoint_software)
        self._ranges: dict[tuple[str, str], CveRanges] = {}
        self._by_product: dict[str, list[CveRanges]] = {}
        self.actors: dict[str, list[ActorClaim]] = dict(actors or {})
        for r in ranges:
            self.add(r)

    def add(self, entry: CveRanges, *, replace: bool = True) -> bool:
        """Add ranges for a (CVE, product); with ``replace=False`` existing (curated) ones win."""
        key = (entry.cve, entry.product)
        if not replace and key in self._ranges:
            return False
        self._ranges[key] = entry
        self._by_product.pop(entry.product, None)
        return True

    def identify(self, vendor: str, product: str) -> Product | None:
        """The family an inventory's vendor and product name, or None when unknown."""
        text = match_text(vendor, product)
        return next((p for p in self.products.values() if p.matches(text)), None)

    def endpoint_word(self, vendor: str, product: str) -> str | None:
        """The word that makes a row client or agent software (``client``, ``forticlient``), else None."""
        text = match_text(vendor, product)
        found = next((m for p in self.endpoint_patterns if (m := p.search(text))), None)
        return found.group(0) if found else None

    def ranges_for(self, product_id: str) -> list[CveRanges]:
        if product_id not in self._by_product:
            found = [r for (_, pid), r in self._ranges.items() if pid == product_id]
            self._by_product[product_id] = sorted(found, key=lambda r: r.cve)
        return list(self._by_product[product_id])

    def ranged(self, cve: str, product_id: str) -> CveRanges | None:
        return self._ranges.get((cve, product_id))

    def cves(self) -> list[str]:
        return sorted({cve for cve, _ in self._ranges})

    def by_cpe(self, vendor_product: str) -> list[Product]:
        return [p for p in self.products.values() if vendor_product in p.cpe]


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _data(name: str) -> Any:
    text = (resources.files("aptlink.exposure") / "data" / name).read_text("utf-8")
    return yaml.load(text, Loader=_LOADER)


NVD_ENV = "APTLINK_NVD_RANGES"
NVD_SYNCED = "nvd-cpe-ranges.json"


def default_nvd_path() -> Path | None:
    """NVD ranges from ``$APTLINK_NVD_RANGES`` or, when ``kb sync`` saved them, ``<cache>/sources/``."""
    env = os.environ.get(NVD_ENV)
    if env:
        return Path(env)
    from aptlink.kb.attack import default_cache_dir

    synced = default_cache_dir() / "sources" / NVD_SYNCED
    return synced if synced.is_file() else None


def load_catalogue(ranges_path: Path | None = None, nvd_path: Path | None = None) -> Catalogue:
    """The packaged products and curated ranges (or ``ranges_path``), plus NVD ranges when given."""
    spec = _data("products.yaml")
    products = [_product(pid, entry) for pid, entry in spec["products"].items()]
    endpoint = [re.compile(p) for p in spec.get("endpoint_software", ())]
    raw = yaml.safe_load(ranges_path.read_text("utf-8")) if ranges_path else _data("ranges.yaml")
    by_id = {p.id: p for p in products}
    ranges, actors = _curated(raw, by_id, str(ranges_path or "aptlink/exposure/data/ranges.yaml"))
    catalogue = Catalogue(products, ranges, actors, endpoint_software=endpoint)
    if nvd_path is not None:
        apply_nvd_ranges(catalogue, nvd_path)
    return catalogue


def _product(pid: str, spec: Mapping[str, Any]) -> Product:
    try:
        return Product(
            id=pid,
            vendor=spec["vendor"],
            name=spec["name"],
            category=spec.get("category", ""),
            scheme=spec.get("scheme", "dotted"),
            release_parts=int(spec.get("release_parts", 0)),
            vpn=bool(spec.get("vpn", False)),
            patterns=tuple(re.compile(p) for p in spec.get("match", ())),
            kev=tuple((str(v), str(p)) for v, p in spec.get("kev", ())),
            cpe=tuple(spec.get("cpe", ())),
            kev_exclude=frozenset(spec.get("kev_exclude", ())),
            actions=tuple(str(a).strip() for a in spec.get("actions", ())),
        )
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise KnowledgeError(f"bad product entry: {exc}", f"products.yaml#{pid}") from None


def _curated(
    raw: Mapping[str, Any], products: Mapping[str, Product], where: str
) -> tuple[list[CveRanges], dict[str, list[ActorClaim]]]:
    ranges: list[CveRanges] = []
    actors: dict[str, list[ActorClaim]] = {}
    for cve, spec in (raw.get("cves") or {}).items():
        place = f"{where}#{cve}"
        if not spec.get("advisory"):
            raise KnowledgeError("a curated range needs its advisory URL", place)
        for pid, items in (spec.get("affected") or {}).items():
            if pid not in products:
                raise KnowledgeError(f"unknown product id {pid!r}", place)
            scheme = products[pid].scheme
            parsed = tuple(_range(item, scheme, place) for item in items)
            ranges.append(
                CveRanges(
                    cve=cve,
                    product=pid,
                    ranges=parsed,
                    advisory=spec["advisory"],
                    note=spec.get("note", ""),
                )
            )
        actors[cve] = [
            ActorClaim(name=a["name"], source=a["source"]) for a in spec.get("actors", ())
        ]
    return ranges, actors


def _range(item: Mapping[str, Any], scheme: str, place: str) -> Range:
    def version(key: str) -> Version | None:
        text = item.get(key)
        if text is None:
            return None
        try:
            return parse_version(str(text), scheme)
        except VersionError as exc:
            raise KnowledgeError(f"{key}: {exc}", place) from None

    found = Range(
        introduced=version("introduced"),
        fixed=version("fixed"),
        last_affected=version("last_affected"),
    )
    if found.fixed is None and found.last_affected is None:
        raise KnowledgeError("a range needs 'fixed' or 'last_affected'", place)
    return found


# --- NVD CPE configurations -------------------------------------------------------------------


def apply_nvd_ranges(catalogue: Catalogue, path: Path) -> int:
    """Add ranges from NVD CPE configurations where no curated range exists; returns how many.

    ``path`` holds what NVD's CVE API 2.0 returns (``{"vulnerabilities": [{"cve": {"id": ...,
    "configurations": [...]}}]}``), which ``kb sync`` saves for the KEV CVEs. Only vulnerable
    ``cpeMatch`` entries whose CPE vendor:product maps to a known family are used; curated ranges win.
    """
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise KnowledgeError(f"cannot read NVD ranges: {exc}", str(path)) from None
    added = 0
    for record in doc.get("vulnerabilities", []) if isinstance(doc, dict) else []:
        cve = record.get("cve", {})
        for entry in _nvd_entries(catalogue, cve, str(path)):
            added += catalogue.add(entry, replace=False)
    return added


def _nvd_entries(catalogue: Catalogue, cve: Mapping[str, Any], where: str) -> list[CveRanges]:
    cve_id = str(cve.get("id", "")).upper()
    per_product: dict[str, list[Range]] = defaultdict(list)
    for match in _cpe_matches(cve):
        parts = str(match.get("criteria", "")).split(":")
        if len(parts) < 6 or not match.get("vulnerable", False):
            continue
        for product in catalogue.by_cpe(f"{parts[3]}:{parts[4]}"):
            found = _nvd_range(match, parts[5], product.scheme)
            if found is not None:
                per_product[product.id].append(found)
    advisory = f"https://nvd.nist.gov/vuln/detail/{cve_id}"
    return [
        CveRanges(cve=cve_id, product=pid, ranges=tuple(rs), advisory=advisory, source="nvd")
        for pid, rs in sorted(per_product.items())
    ]


def _cpe_matches(cve: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for config in cve.get("configurations", []) or []:
        for node in config.get("nodes", []) or []:
            yield from node.get("cpeMatch", []) or []


def _nvd_range(match: Mapping[str, Any], cpe_version: str, scheme: str) -> Range | None:
    def version(text: str | None) -> Version | None:
        return parse_version(text, scheme) if text else None

    try:
        if cpe_version not in ("*", "-", ""):  # one exact version
            exact = parse_version(cpe_version.replace("\\", ""), scheme)
            return Range(introduced=exact, last_affected=exact)
        found = Range(
            introduced=version(match.get("versionStartIncluding")),
            fixed=version(match.get("versionEndExcluding")),
            last_affected=version(match.get("versionEndIncluding")),
        )
    except VersionError:
        return None  # a version this family's scheme cannot read: no claim rather than a wrong one
    if found.fixed is None and found.last_affected is None:
        return None  # "every version" with no bound says nothing a version check can use
    return found
