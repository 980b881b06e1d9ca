"""Incidents reported from outside (STIX 2.1 bundles, MISP events): each becomes one finding whose
``group_key`` is the external id, so that it stands as its own incident and links with the rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aptlink.detect.base import Detector
from aptlink.evidence.base import Item
from aptlink.model import Finding, Kind, Reason, Severity, Verdict, technique_id, utc

# MISP threat levels: 1 high, 2 medium, 3 low, 4 undefined.
THREAT_LEVELS = {
    "1": Severity.HIGH,
    "2": Severity.MEDIUM,
    "3": Severity.MEDIUM,
    "4": Severity.MEDIUM,
}


class ExternalIncidentDetector(Detector):
    """An incident shared by a CERT, an ISAC or a vendor, taken as reported."""

    name = "external-incident"
    description = "incidents described in STIX 2.1 bundles or MISP events, one finding each"
    accepts = frozenset({"external-incident"})

    def detect(self, item: Item) -> Iterator[Finding]:
        data: dict[str, Any] = dict(item.data or {})
        ext_id = str(data.get("external_id") or item.provenance.record or item.provenance.sha256)
        techniques = sorted(
            {technique_id(o.value) for o in item.observations if o.kind is Kind.TECHNIQUE}
        )
        severity = THREAT_LEVELS.get(str(data.get("threat_level", "")), Severity.HIGH)
        yield Finding(
            detector=self.name,
            title=f"reported incident: {str(data.get('name') or ext_id)[:120]}",
            severity=severity,
            score=70.0 if severity is Severity.HIGH else 50.0,
            provenance=item.provenance,
            reasons=(_reason(data, len(item.observations)),),
            techniques=tuple(techniques),
            observations=item.observations,
            time=item.time,
            group_key=f"external:{ext_id}",
            victim=data.get("victim"),
            verdict=Verdict.MALICIOUS,
            extra={
                "source": data.get("source"),
                "external_id": ext_id,
                "first_seen": data.get("first_seen"),
                "last_seen": data.get("last_seen"),
                "claimed_actors": list(data.get("claimed_actors") or ()),
            },
        )


def _reason(data: dict[str, Any], count: int) -> Reason:
    claimed = ", ".join(data.get("claimed_actors") or ()) or "no actor named"
    return Reason(
        code="external:reported-incident",
        detail=f"{data.get('source', 'external')} incident with {count} observations ({claimed} by the reporter)",
        weight=50.0,
    )


def last_seen(finding: Finding) -> Any:
    return utc(finding.extra.get("last_seen")) if finding.extra.get("last_seen") else None
