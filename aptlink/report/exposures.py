"""The exposures section: every vulnerable device the case found, and what became of it.

An exposure is a condition, not an attack (aptlink/link/incidents.py). It is either attached to an
incident at the same organisation as that incident's likely way in, or *open*: no attack on that
organisation is in the case, so it is listed here with what to do, and not attributed to anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aptlink.link.incidents import exposure_summary, is_condition

if TYPE_CHECKING:
    from aptlink.model import Campaign, Finding, Incident
    from aptlink.pipeline import CaseResult

OPEN = "open"
ATTACHED = "attached"


def rows(case: CaseResult) -> list[dict[str, Any]]:
    """Open exposures first, then attached ones; each with its CVEs and what to do."""
    attached = _attached(case.incidents)
    campaign_of = {i: c for c in case.campaigns for i in c.incident_ids}
    found = [row(f, attached.get(f.id), campaign_of) for f in case.findings if is_condition(f)]
    return sorted(found, key=lambda r: (r["status"] != OPEN, r["organisation"], r["asset"]))


def counts(case: CaseResult) -> dict[str, int]:
    found = rows(case)
    return {
        "exposures": len(found),
        "open_exposures": sum(1 for r in found if r["status"] == OPEN),
    }


def _attached(incidents: list[Incident]) -> dict[str, tuple[Incident, str]]:
    """Finding id -> the incident holding it, and the role grouping gave it there."""
    out = {}
    for i in incidents:
        roles = {
            str(e.get("finding")): str(e.get("role") or "")
            for e in i.extra.get("exposures") or ()
            if isinstance(e, Mapping)
        }
        for fid in i.finding_ids:
            out[fid] = (i, roles.get(fid, ""))
    return out


def row(
    f: Finding, attached: tuple[Incident, str] | None, campaign_of: Mapping[str, Campaign]
) -> dict[str, Any]:
    data = f.extra.get("exposure")
    info: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    brief = exposure_summary(f)
    out = {
        "finding": f.id,
        "asset": str(brief["asset"]),
        "product": brief["product"],
        "exposure": brief["exposure"] or "unknown",
        "organisation": f.victim or "",
        "severity": str(f.severity),
        "techniques": list(f.techniques),
        "cves": [_cve(c) for c in info.get("cves") or () if isinstance(c, Mapping)],
        "actions": [str(a) for a in info.get("actions") or ()],
        "status": OPEN,
        "incident": None,
        "campaign": None,
        "note": "no attack on this organisation in the case: patch it; not attributed",
    }
    if attached is not None:
        incident, role = attached
        campaign = campaign_of.get(incident.id)
        out |= {
            "status": ATTACHED,
            "incident": incident.id,
            "campaign": campaign.name if campaign else None,
            "note": f"{role or 'attached'}: {incident.title}",
        }
    return out


def _cve(c: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "cve": str(c.get("cve") or ""),
        "name": str(c.get("name") or ""),
        "kev_date_added": str(c.get("kev_date_added") or ""),
        "ransomware_use": bool(c.get("ransomware_use")),
        "actors": [str(a) for a in c.get("actors") or ()],
        "fixed": [str(v) for v in c.get("fixed") or ()],
        "advisory": str(c.get("advisory") or ""),
    }
