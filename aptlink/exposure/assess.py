"""Exposure assessment: each inventory asset against the exploited CVEs (KEV) that affect its version.

An asset ends in one of six states, none silent: ``vulnerable`` (at least one KEV CVE's range holds its
version), ``check-by-hand`` (no range holds it, but KEV lists CVEs for the family that no range covers),
``not-affected`` (known product, every KEV CVE for it ranged, none holds it), ``unknown-product``,
``unparseable-version`` and ``no-version``. The unranged KEV CVEs are listed on every asset of the family.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aptlink.exposure.catalogue import (
    Catalogue,
    CveRanges,
    Product,
    Range,
    load_catalogue,
    match_text,
)
from aptlink.exposure.versions import Version, VersionError, parse_version
from aptlink.kb.kev import Kev, KevEntry, load_kev, normalise_name

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase

EXPOSURES = {
    "internet": "internet",
    "external": "internet",
    "public": "internet",
    "internet-facing": "internet",
    "public-facing": "internet",
    "external-facing": "internet",
    "exposed": "internet",
    "wan": "internet",
    "outside": "internet",
    "dmz": "internet",
    "internal": "internal",
    "internal-only": "internal",
    "intranet": "internal",
    "private": "internal",
    "inside": "internal",
    "lan": "internal",
    # Japanese inventories
    "インターネット": "internet",
    "インターネット公開": "internet",
    "外部": "internet",
    "外部公開": "internet",
    "公開": "internet",
    "内部": "internal",
    "社内": "internal",
    "非公開": "internal",
}
VPN_ACTION = (
    "Treat the VPN as possibly compromised: check it for implants and unknown admin accounts "
    "(vendor integrity checker, logs, configuration diff) and reset the credentials and sessions of "
    "every account that used it; patching does not remove an implant."
)
MAX_UPGRADE_STEPS = 8
MAX_KEV_PRODUCTS_SHOWN = 6
_FILLER = frozenset({"and", "the", "of", "for", "series", "server", "software"})
INTERNET_ACTION = (
    "Until it is patched, take the service off the internet or allow only known addresses."
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Asset:
    """One inventory row: a device or service, what runs on it and where it faces."""

    name: str
    vendor: str
    product: str
    version: str
    exposure: str = "unknown"
    role: str = ""
    organisation: str | None = None
    record: str = ""
    extra: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)} | {
            "extra": dict(self.extra)
        }


def exposure_of(value: str) -> str | None:
    """``internet`` / ``internal`` from the inventory's words; ``unknown`` when empty; None when unreadable."""
    key = re.sub(r"[\s_]+", "-", value.strip().lower())
    if not key:
        return "unknown"
    return EXPOSURES.get(key)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CveHit:
    """One exploited CVE that affects the asset's version."""

    cve: str
    kev: KevEntry
    affected: str
    fixed: tuple[str, ...]
    advisory: str
    source: str
    actors: tuple[str, ...] = ()
    actor_sources: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "cve": self.cve,
            "name": self.kev.name,
            "kev_date_added": self.kev.date_added.isoformat(),
            "kev_due_date": self.kev.due_date.isoformat() if self.kev.due_date else None,
            "ransomware_use": self.kev.ransomware_use,
            "affected_range": self.affected,
            "fixed": list(self.fixed),
            "advisory": self.advisory,
            "range_source": self.source,
            "actors": list(self.actors),
            "actor_sources": list(self.actor_sources),
            "required_action": self.kev.required_action,
            "note": self.note,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AssetReport:
    """What the assessment found for one asset, and what to do about it."""

    asset: Asset
    status: str
    product: Product | None = None
    version: Version | None = None
    hits: tuple[CveHit, ...] = ()
    unranged: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    reason: str = ""
    upgrade_to: str | None = None

    @property
    def cves(self) -> list[str]:
        return [h.cve for h in self.hits]

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset.name,
            "record": self.asset.record,
            "vendor": self.asset.vendor,
            "product": self.asset.product,
            "version": self.asset.version,
            "exposure": self.asset.exposure,
            "role": self.asset.role,
            "organisation": self.asset.organisation,
            "status": self.status,
            "reason": self.reason,
            "product_id": self.product.id if self.product else None,
            "product_name": self.product.name if self.product else None,
            "cves": [h.to_dict() for h in self.hits],
            "unranged_kev_cves": list(self.unranged),
            "upgrade_to": self.upgrade_to,
            "actions": list(self.actions),
        }


class Assessor:
    """Joins KEV, the range catalogue and the knowledge base's actors; assesses assets."""

    def __init__(
        self,
        kev: Kev | None = None,
        catalogue: Catalogue | None = None,
        kb: KnowledgeBase | None = None,
    ) -> None:
        self.kev = kev if kev is not None else load_kev()
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self._kb_actors = _kb_actors(kb)
        # Per-family answers do not change within a run; inventories repeat the same products.
        self._unranged: dict[str, list[str]] = {}
        self._identified: dict[tuple[str, str], Product | None] = {}
        self._hit_cache: dict[tuple[str, tuple[int, ...]], tuple[CveHit, ...]] = {}
        self._vendor_entries: dict[str, list[tuple[str, str, str]]] = {}
        self._vendor_actions: dict[tuple[str, str], tuple[str, ...]] = {}

    def assess_all(self, assets: Iterable[Asset]) -> list[AssetReport]:
        return [self.assess(a) for a in assets]

    def assess(self, asset: Asset) -> AssetReport:
        product = self._identify(asset.vendor, asset.product)
        if product is None:
            reason = f"no known edge product matches {asset.vendor!r} {asset.product!r}"
            return AssetReport(
                asset=asset, status="unknown-product", reason=reason,
                actions=self._vendor_in_kev(asset.vendor, asset.product),
            )  # fmt: skip
        endpoint = self.catalogue.endpoint_word(asset.vendor, asset.product)
        if endpoint is not None:
            return AssetReport(
                asset=asset,
                status="unknown-product",
                reason=_endpoint_reason(asset, product, endpoint),
                actions=self._vendor_in_kev(asset.vendor, asset.product),
            )
        unranged = tuple(self.unranged_cves(product))
        if not asset.version.strip():
            return AssetReport(
                asset=asset, status="no-version", product=product, unranged=unranged,
                reason="the inventory gives no version", actions=self._unread(product, unranged),
            )  # fmt: skip
        try:
            version = parse_version(asset.version, product.scheme)
        except VersionError as exc:
            return AssetReport(
                asset=asset, status="unparseable-version", product=product, unranged=unranged,
                reason=str(exc), actions=self._unread(product, unranged),
            )  # fmt: skip
        if version.parts < product.release_parts:
            return self._imprecise(asset, product, version, unranged)
        hits = self._hits_for(product, version)
        target = self.upgrade_target(product, hits) if hits else None
        return AssetReport(
            asset=asset,
            status="vulnerable" if hits else "check-by-hand" if unranged else "not-affected",
            product=product,
            version=version,
            hits=hits,
            unranged=unranged,
            actions=self._actions(asset, product, hits, unranged, target),
            upgrade_to=target,
        )

    def _vendor_in_kev(self, vendor: str, product: str) -> tuple[str, ...]:
        # An unknown product says nothing of its risk; KEV may still list its vendor (Juniper, Ivanti EPMM).
        # Cached: a CMDB repeats 'Microsoft Windows 11' on thousands of rows.
        if (vendor, product) not in self._vendor_actions:
            self._vendor_actions[(vendor, product)] = self._vendor_action(vendor, product)
        return self._vendor_actions[(vendor, product)]

    def _vendor_action(self, vendor: str, product: str) -> tuple[str, ...]:
        key = normalise_name(vendor)
        if not key:
            return ()
        if key not in self._vendor_entries:
            names = {normalise_name(v) for v, _ in self.kev.products()}
            same = [
                n for n in names if n == key or n.startswith(key + " ") or key.startswith(n + " ")
            ]
            self._vendor_entries[key] = sorted(
                {(e.vendor, e.product, e.cve) for n in same for e in self.kev.for_vendor(n)}
            )
        entries = self._vendor_entries[key]
        if not entries:
            return ()
        # The KEV products that share a word with the inventory's product name come first.
        words = set(match_text("", product).split()) - _FILLER
        products = sorted(
            dict.fromkeys(p for _, p, _ in entries),
            key=lambda p: -len(words & set(match_text("", p).split())),
        )
        shown = ", ".join(products[:MAX_KEV_PRODUCTS_SHOWN])
        more = (
            f" and {len(products) - MAX_KEV_PRODUCTS_SHOWN} more"
            if len(products) > MAX_KEV_PRODUCTS_SHOWN
            else ""
        )
        return (
            f"aptlink has no version ranges for this product, but KEV lists {len(entries)} exploited CVE(s) "
            f"of vendor {entries[0][0]!r} ({shown}{more}): check whether this product and version are "
            "among them.",
        )

    def _unread(self, product: Product, unranged: tuple[str, ...]) -> tuple[str, ...]:
        # Without a version every ranged CVE of the family may apply; naming only the unranged ones
        # (three old FortiOS CVEs) hid CVE-2023-27997 and the rest from the analyst.
        ranged = [r.cve for r in self.catalogue.ranges_for(product.id) if self.kev.get(r.cve)]
        read = f"Read the {product.name} version from the device and run the check again"
        if ranged:
            read += f": exploited CVEs affect some of its versions: {', '.join(ranged)}"
        return (read + ".", *self._check_by_hand(unranged))

    def _imprecise(
        self, asset: Asset, product: Product, version: Version, unranged: tuple[str, ...]
    ) -> AssetReport:
        # '7.2' is not release 7.2.0: it says nothing of the patch level, so no range may decide on it.
        low, high = branch_bounds(version)
        overlapping = (
            (r.cve, r.overlapping(low, high)) for r in self.catalogue.ranges_for(product.id)
        )
        found = [
            f"{cve} ({_ranges_text(ranges)})"
            for cve, ranges in overlapping
            if ranges and self.kev.get(cve) is not None
        ]
        if not found:
            status = "check-by-hand" if unranged else "not-affected"
            return AssetReport(
                asset=asset, status=status, product=product, version=version, unranged=unranged,
                reason=f"no ranged exploited CVE affects any release of {version}",
                actions=self._check_by_hand(unranged),
            )  # fmt: skip
        reason = (
            f"{asset.version!r} does not name a release of {product.name} ({product.release_parts} parts, "
            f"such as {_example(version, product.release_parts)}); exploited CVEs affect some releases "
            f"of {version}: {'; '.join(found)}"
        )
        action = f"Read the full {product.name} release from the device and run the check again."
        return AssetReport(
            asset=asset, status="unparseable-version", product=product, version=version,
            unranged=unranged, reason=reason, actions=(action, *self._check_by_hand(unranged)),
        )  # fmt: skip

    def _identify(self, vendor: str, product: str) -> Product | None:
        key = (vendor, product)
        if key not in self._identified:
            self._identified[key] = self.catalogue.identify(vendor, product)
        return self._identified[key]

    def unranged_cves(self, product: Product) -> list[str]:
        """KEV CVEs filed under this family's catalogue names that no range covers for it."""
        if product.id not in self._unranged:
            kev_cves = {e.cve for v, name in product.kev for e in self.kev.for_product(v, name)}
            ranged = set(self.catalogue.cves())
            self._unranged[product.id] = sorted(kev_cves - ranged - product.kev_exclude)
        return list(self._unranged[product.id])

    def _hits_for(self, product: Product, version: Version) -> tuple[CveHit, ...]:
        key = (product.id, version.key)
        if key not in self._hit_cache:
            self._hit_cache[key] = tuple(self._hits(product, version))
        return self._hit_cache[key]

    def _hits(self, product: Product, version: Version) -> Iterable[CveHit]:
        for ranges in self.catalogue.ranges_for(product.id):
            entry = self.kev.get(ranges.cve)
            hit = ranges.affecting(version)
            if entry is not None and hit is not None:
                yield self._hit(ranges, entry, hit.describe(), hit.fixed, version)

    def _hit(
        self,
        ranges: CveRanges,
        entry: KevEntry,
        affected: str,
        fixed: Version | None,
        version: Version,
    ) -> CveHit:
        names, sources = self.actors_for(ranges.cve)
        return CveHit(
            cve=ranges.cve,
            kev=entry,
            affected=affected,
            fixed=(str(fixed),) if fixed else tuple(_upgrade_targets(ranges, version)),
            advisory=ranges.advisory,
            source=ranges.source,
            actors=names,
            actor_sources=sources,
            note=ranges.note,
        )

    def actors_for(self, cve: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Actors known to exploit a CVE (knowledge base first, then the range file), and sources."""
        found: dict[str, list[str]] = {}
        for name, sources in self._kb_actors.get(cve, []):
            found.setdefault(name, []).extend(sources)
        for claim in self.catalogue.actors.get(cve, []):
            key = next((n for n in found if n.casefold() == claim.name.casefold()), claim.name)
            found.setdefault(key, []).append(claim.source)
        cited = tuple(dict.fromkeys(s for ss in found.values() for s in ss))
        return tuple(sorted(found)), cited

    def _actions(
        self,
        asset: Asset,
        product: Product,
        hits: tuple[CveHit, ...],
        unranged: tuple[str, ...],
        target: str | None,
    ) -> tuple[str, ...]:
        actions: list[str] = []
        single = len(hits) == 1 and hits[0].fixed == (target,)
        if target and not single:
            actions.append(
                f"Upgrade {product.name} to {target} or later: the lowest fixed release that fixes all "
                f"{len(hits)} exploited CVE(s) found and is in no other exploited CVE's range here."
            )
        for hit in hits:
            if hit.fixed:
                target = f"to {' or '.join(hit.fixed)} or later"
            else:  # a last_affected range: the advisory names the fix, the range file does not
                target = (
                    f"past the affected range ({hit.affected}) to the release the advisory names"
                )
            actions.append(f"{hit.cve}: upgrade {product.name} {target} ({hit.advisory}).")
            actions.append(f"{hit.cve}: CISA KEV required action: {hit.kev.required_action}")
        if hits and asset.exposure == "internet":
            actions.append(INTERNET_ACTION)
        if hits and product.vpn:
            actions.append(VPN_ACTION)
        if hits:
            actions.extend(product.actions)
        actions.extend(self._check_by_hand(unranged))
        return tuple(dict.fromkeys(actions))

    def upgrade_target(self, product: Product, hits: tuple[CveHit, ...]) -> str | None:
        """The lowest fixed release free of every ranged exploited CVE, or None when there is no one.

        The highest of the hits' fixed releases may itself be affected: FortiOS 6.4.15 was told to go
        to 7.0.3 (the fix of CVE-2021-44168), which eight exploited CVEs affect; so climb to the fixes of
        the target's own hits until none is left.
        """
        target = minimum_fixed(product, hits)
        for _ in range(MAX_UPGRADE_STEPS):
            if target is None:
                return None
            version = parse_version(target, product.scheme)
            remaining = self._hits_for(product, version)
            if not remaining:
                return target
            higher = minimum_fixed(product, remaining)
            if higher is None or not version < parse_version(higher, product.scheme):
                return None
            target = higher
        return None

    def _check_by_hand(self, unranged: tuple[str, ...]) -> tuple[str, ...]:
        if not unranged:
            return ()
        return (
            "Check by hand against the vendor advisories (KEV lists them for this product, aptlink has "
            f"no version range): {', '.join(unranged)}.",
        )


def branch_bounds(version: Version) -> tuple[Version, Version]:
    """The releases an imprecise version may be: '7.2' is 7.2 (inclusive) to 7.3 (exclusive)."""
    given = _given_parts(version)
    high = (*given[:-1], given[-1] + 1)
    return Version(version.key), Version(high)


def _given_parts(version: Version) -> list[int]:
    """The components the text gave, zeros included ('7.0' is [7, 0]; the key drops the zero)."""
    return (list(version.key) + [0] * version.parts)[: max(version.parts, 1)]


def _ranges_text(ranges: list[Range]) -> str:
    shown = [r.describe() for r in ranges[:2]]
    more = f" and {len(ranges) - 2} more range(s)" if len(ranges) > 2 else ""
    return " or ".join(shown) + more


def _example(version: Version, parts: int) -> str:
    given = _given_parts(version)
    return ".".join(map(str, given)) + ".x" * (parts - len(given))


def _endpoint_reason(asset: Asset, product: Product, word: str) -> str:
    # Client software shares the appliance's vendor and name (FortiClient SSLVPN, Pulse Secure Desktop
    # Client) but not its CVEs or version numbers: matching it to the appliance reports false exploits.
    return (
        f"{asset.product!r} is client or agent software ({word!r}), not the {product.name} appliance: the"
        " appliance's exploited CVEs and version ranges do not apply; check it against its own advisories"
    )


def minimum_fixed(product: Product, hits: tuple[CveHit, ...]) -> str | None:
    """The highest of the hits' fixed releases when each hit has exactly one on the asset's branch."""
    if not hits or any(len(h.fixed) != 1 for h in hits):
        return None
    try:
        versions = [parse_version(h.fixed[0], product.scheme) for h in hits]
    except VersionError:
        return None
    return str(max(versions))


def _upgrade_targets(ranges: CveRanges, version: Version) -> list[str]:
    # A branch with no fix (end of life): name the fixed releases of newer branches instead.
    return [str(r.fixed) for r in ranges.ranges if r.fixed is not None and r.fixed > version]


def _kb_actors(kb: KnowledgeBase | None) -> dict[str, list[tuple[str, list[str]]]]:
    if kb is None:
        return {}
    table: dict[str, list[tuple[str, list[str]]]] = {}
    for actor in kb.actors():
        sources = list(actor.sources.get("cves", ())) if actor.sources else []
        for cve in actor.cves:
            table.setdefault(cve.upper(), []).append((actor.name, sources))
    return table
