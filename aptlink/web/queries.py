"""What the API answers, as plain data picked out of a loaded case: filters, look-ups by id
(a full id or a unique prefix such as the reports' ``incident--1a2b3c4d``), and pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from aptlink.errors import AptlinkError, ConfigError
from aptlink.model import Attribution, Campaign, Finding, Incident, Severity, technique_id
from aptlink.pipeline import CaseResult
from aptlink.report import view
from aptlink.report.measures import measures_for

T = TypeVar("T", Campaign, Incident, Finding, Attribution)
MIN_PREFIX = 4  # characters after the ``kind--`` part, so "incident--" alone finds nothing


class NotFound(AptlinkError):
    """No record with this id in the case (the API answers 404)."""


def page(items: Sequence[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    return {
        "total": len(items),
        "offset": offset,
        "limit": limit,
        "items": list(items[offset : offset + limit]),
    }


def find(records: Iterable[T], record_id: str, what: str) -> T:
    """The record with this id, or the only one whose id starts with it."""
    records = list(records)
    exact = [r for r in records if r.id == record_id]
    if exact:
        return exact[0]
    _kind, _, rest = record_id.partition("--")
    matches = [r for r in records if r.id.startswith(record_id)] if len(rest) >= MIN_PREFIX else []
    if len(matches) > 1:
        raise ConfigError(f"ambiguous {what} id: {len(matches)} match", record_id)
    if not matches:
        raise NotFound(f"no such {what}", record_id)
    return matches[0]


def severities(values: Sequence[str]) -> set[Severity]:
    try:
        return {Severity(v.strip().lower()) for v in values}
    except ValueError as exc:
        allowed = ", ".join(s.value for s in Severity)
        raise ConfigError(f"unknown severity; one of {allowed}", ", ".join(values)) from exc


def shows_technique(techniques: Iterable[str], wanted: str) -> bool:
    """Whether any technique is ``wanted`` or one of its sub-techniques (T1566 finds T1566.001)."""
    return any(t == wanted or t.startswith(wanted + ".") for t in techniques)


def technique(value: str) -> str:
    try:
        return technique_id(value)
    except ValueError as exc:
        raise ConfigError("not an ATT&CK technique id", value) from exc


def findings(
    case: CaseResult,
    severity: Sequence[str] = (),
    detector: Sequence[str] = (),
    tech: str | None = None,
) -> list[dict[str, Any]]:
    wanted = severities(severity)
    wanted_tech = technique(tech) if tech else None
    return [
        f.to_dict()
        for f in case.findings
        if (not wanted or f.severity in wanted)
        and (not detector or f.detector in detector)
        and (wanted_tech is None or shows_technique(f.techniques, wanted_tech))
    ]


def finding(case: CaseResult, record_id: str) -> dict[str, Any]:
    """A finding with the incident holding it."""
    found = find(case.findings, record_id, "finding")
    holder = [i.id for i in case.incidents if found.id in i.finding_ids]
    return {**found.to_dict(), "incident": holder[0] if holder else None}


def incidents(
    case: CaseResult, severity: Sequence[str] = (), tech: str | None = None
) -> list[dict[str, Any]]:
    wanted = severities(severity)
    wanted_tech = technique(tech) if tech else None
    return [
        i.to_dict()
        for i in case.incidents
        if (not wanted or i.severity in wanted)
        and (wanted_tech is None or shows_technique(i.techniques, wanted_tech))
    ]


def incident(case: CaseResult, record_id: str) -> dict[str, Any]:
    """An incident with its findings and the campaign holding it."""
    found = find(case.incidents, record_id, "incident")
    wanted = set(found.finding_ids)
    holder = [c.id for c in case.campaigns if found.id in c.incident_ids]
    return {
        **found.to_dict(),
        "findings": [f.to_dict() for f in case.findings if f.id in wanted],
        "campaign": holder[0] if holder else None,
    }


def campaign(case: CaseResult, record_id: str) -> dict[str, Any]:
    """A campaign with its links, why each incident is a member, and the attribution (ACH)."""
    found = find(case.campaigns, record_id, "campaign")
    members = {i.id: i for i in case.incidents}
    ranked = [a for a in case.attributions if a.campaign_id == found.id]
    return {
        **found.to_dict(),
        "incidents": [
            {"id": i, "title": members[i].title, "victim": members[i].victim}
            for i in found.incident_ids
            if i in members
        ],
        "why": view.link_reasons(found),
        "attributions": [a.to_dict() for a in sorted(ranked, key=lambda a: a.rank)],
        "attribution": view.attribution(ranked),
    }


def attributions(
    case: CaseResult, campaign_id: str | None = None, attributed: bool | None = None
) -> list[dict[str, Any]]:
    chosen = find(case.campaigns, campaign_id, "campaign").id if campaign_id else None
    return [
        a.to_dict()
        for a in sorted(case.attributions, key=lambda a: (a.campaign_id, a.rank))
        if (chosen is None or a.campaign_id == chosen)
        and (attributed is None or a.attributed == attributed)
    ]


def mitigations(case: CaseResult) -> dict[str, Any]:
    """ATT&CK mitigations for the techniques seen and the concrete measures (report/measures)."""
    return {
        "total": len(case.mitigations),
        "items": case.mitigations,
        "measures": measures_for(view.techniques_seen(case), view.cves_seen(case)),
    }
