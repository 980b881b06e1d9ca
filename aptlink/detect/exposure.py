"""Exposure: edge devices in an inventory that run a version with an exploited (CISA KEV) CVE.

One finding per exposed asset: T1190 (Exploit Public-Facing Application) when it faces the internet,
T1210 (Exploitation of Remote Services) when it is internal. Severity rises with internet exposure,
known ransomware use and actors known to exploit the CVE. Assets with an unknown product or an
unreadable version are reported as warnings with their inventory line, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from aptlink.detect.base import DetectContext, Detector
from aptlink.evidence.base import Item
from aptlink.exposure.assess import Assessor, Asset, AssetReport, CveHit
from aptlink.exposure.catalogue import default_nvd_path, load_catalogue
from aptlink.kb.kev import load_kev
from aptlink.model import Finding, Kind, Observation, Provenance, Reason, Severity, Verdict

PUBLIC_FACING = "T1190"
REMOTE_SERVICES = "T1210"
# Base score by exposure, then what raises it; configuration as data.
BASE_SCORE = {"internet": 70.0, "unknown": 50.0, "internal": 35.0}
RANSOMWARE_BONUS = 15.0
ACTOR_BONUS = 15.0


class ExposureDetector(Detector):
    """Inventory assets whose version is affected by a CVE in CISA's KEV catalogue."""

    name = "exposure"
    description = "edge devices running versions with known exploited vulnerabilities (CISA KEV)"
    accepts = frozenset({"inventory"})
    techniques: ClassVar[tuple[str, ...]] = (PUBLIC_FACING, REMOTE_SERVICES)

    def __init__(self, ctx: DetectContext) -> None:
        super().__init__(ctx)
        self._assessor: Assessor | None = None

    @property
    def assessor(self) -> Assessor:
        if self._assessor is None:
            kev_path = self.ctx.options.get("kev") or getattr(self.ctx.kb, "kev_path", None)
            nvd_path = self.ctx.options.get("nvd") or default_nvd_path()
            catalogue = load_catalogue(nvd_path=Path(nvd_path) if nvd_path else None)
            self._assessor = Assessor(kev=load_kev(kev_path), catalogue=catalogue, kb=self.ctx.kb)
        return self._assessor

    def detect(self, item: Item) -> Iterator[Finding]:
        for asset in item.data or ():
            if not isinstance(asset, Asset):
                continue
            report = self.assessor.assess(asset)
            prov = item.provenance.child(self.name, record=asset.record or None)
            if report.status in ("unknown-product", "unparseable-version", "no-version"):
                self.ctx.parse.warn(prov.where(), f"{asset.name}: {report.status}: {report.reason}")
            if report.hits:
                yield exposure_finding(report, prov, self.name)


def exposure_finding(report: AssetReport, prov: Provenance, detector: str = "exposure") -> Finding:
    """The finding for one vulnerable asset."""
    asset = report.asset
    technique = PUBLIC_FACING if asset.exposure == "internet" else REMOTE_SERVICES
    reasons = tuple(_reason(hit, asset, technique) for hit in report.hits)
    score = _score(asset, report.hits)
    return Finding(
        detector=detector,
        title=f"{asset.name}: {_product_label(report)} has {len(report.hits)} exploited CVE(s)",
        severity=_severity(asset, report.hits),
        score=score,
        provenance=prov,
        reasons=reasons,
        observations=tuple(_observations(report, prov)),
        group_key=f"asset:{asset.name}",
        victim=asset.organisation,
        verdict=Verdict.SUSPICIOUS,
        extra={"exposure": report.to_dict()},
    )


def _product_label(report: AssetReport) -> str:
    name = report.product.name if report.product else report.asset.product
    return f"{name} {report.asset.version}".strip()


def _reason(hit: CveHit, asset: Asset, technique: str) -> Reason:
    facts = [f"in CISA KEV since {hit.kev.date_added.isoformat()}"]
    if hit.kev.ransomware_use:
        facts.append("known ransomware use")
    if hit.actors:
        facts.append(f"exploited by {', '.join(hit.actors)}")
    fixed = f"; fixed in {' / '.join(hit.fixed)}" if hit.fixed else ""
    return Reason(
        code=f"exposure:kev:{hit.cve}",
        detail=f"{asset.product} {asset.version} ({asset.exposure}) is affected by {hit.cve} "
        f"({hit.affected}); {', '.join(facts)}{fixed}",
        technique=technique,
        weight=_hit_weight(hit),
    )


def _hit_weight(hit: CveHit) -> float:
    return (
        10.0
        + (RANSOMWARE_BONUS if hit.kev.ransomware_use else 0.0)
        + (ACTOR_BONUS if hit.actors else 0.0)
    )


def _score(asset: Asset, hits: tuple[CveHit, ...]) -> float:
    base = BASE_SCORE.get(asset.exposure, BASE_SCORE["unknown"])
    bonus = (RANSOMWARE_BONUS if any(h.kev.ransomware_use for h in hits) else 0.0) + (
        ACTOR_BONUS if any(h.actors for h in hits) else 0.0
    )
    return min(100.0, base + bonus)


def _severity(asset: Asset, hits: tuple[CveHit, ...]) -> Severity:
    aggravated = any(h.kev.ransomware_use or h.actors for h in hits)
    if asset.exposure == "internet":
        return Severity.CRITICAL if aggravated else Severity.HIGH
    if asset.exposure == "unknown":
        return Severity.HIGH if aggravated else Severity.MEDIUM
    return Severity.MEDIUM if aggravated else Severity.LOW


def _observations(report: AssetReport, prov: Provenance) -> Iterator[Observation]:
    asset = report.asset
    context: dict[str, Any] = {"exposure": asset.exposure, "role": asset.role}
    yield Observation(kind=Kind.ASSET, value=asset.name, provenance=prov, context=context)
    product = " ".join(p for p in (asset.vendor, asset.product, asset.version) if p)
    yield Observation(kind=Kind.PRODUCT, value=product, provenance=prov)
    for hit in report.hits:
        yield Observation(
            kind=Kind.CVE,
            value=hit.cve,
            provenance=prov,
            # The device runs an affected version: exposure, not proof that the CVE was exploited here.
            context={
                "basis": "vulnerable-version",
                "actors": list(hit.actors),
                "ransomware_use": hit.kev.ransomware_use,
            },
        )
    technique = PUBLIC_FACING if asset.exposure == "internet" else REMOTE_SERVICES
    yield Observation(kind=Kind.TECHNIQUE, value=technique, provenance=prov)
    if asset.organisation:
        yield Observation(kind=Kind.ORGANISATION, value=asset.organisation, provenance=prov)
