"""Grouping findings into incidents: one attack on one victim at one time.

Findings that name the same ``group_key`` (a mail's message id, a host and day, an external incident's
id) belong together; findings without one fall back to the item they came from. Findings below
``min_severity``, or judged clean, are context, not attacks, and start no incident of their own.

Some findings describe a *condition* of the victim's systems, not an attack: an internet-facing
appliance running a version with an exploited CVE (the exposure detector). A condition never starts
an incident. When the same organisation has an attack incident in the case, the condition is
attached to it as its likely way in (T1190 with the CVEs), so it counts as linking and attribution
evidence; otherwise it stays an open exposure, which the reports list apart (docs/linking.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aptlink.model import Finding, Incident, Observation, Severity, Verdict, stable_id, utc

MIN_SEVERITY = Severity.MEDIUM
# Detectors whose findings are conditions (a vulnerable device), not attacks.
CONDITION_DETECTORS = frozenset({"exposure"})
# An incident whose entry is already explained by a mail (spear-phishing attachment or link).
MAIL_ENTRY = "T1566"
ROLE_ENTRY = "likely initial access"
ROLE_TARGETED = "exposed while the organisation was targeted by mail"


def is_condition(f: Finding) -> bool:
    return f.detector in CONDITION_DETECTORS


def starts(f: Finding, min_severity: Severity = MIN_SEVERITY) -> bool:
    """Whether a finding is an attack in its own right: at least ``min_severity`` and not judged
    clean (a clean verdict is context whatever its severity)."""
    return f.severity.rank >= min_severity.rank and f.verdict is not Verdict.CLEAN


def incident_key(f: Finding) -> str:
    if f.group_key:
        return f.group_key
    p = f.provenance
    return f"{p.sha256}#{p.record or ''}"


def group_findings(
    findings: Sequence[Finding], min_severity: Severity = MIN_SEVERITY
) -> list[Incident]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if not is_condition(f):
            groups[incident_key(f)].append(f)
    attacks = {
        key: fs for key, fs in sorted(groups.items()) if any(starts(f, min_severity) for f in fs)
    }
    attached = attach_conditions(attacks, [f for f in findings if is_condition(f)])
    incidents = [_incident(key, fs, attached.get(key, [])) for key, fs in attacks.items()]
    return sorted(incidents, key=lambda i: (i.first_seen is None, i.first_seen, i.id))


def victim_key(victim: str | None) -> str:
    """Organisations compared case- and space-folded; no name at all is the case's own organisation."""
    return " ".join((victim or "").lower().split())


def attach_conditions(
    attacks: Mapping[str, list[Finding]], conditions: Iterable[Finding]
) -> dict[str, list[Finding]]:
    """Group key -> the conditions attached to that incident: each to its organisation's entry."""
    entry = _entry_incidents(attacks)
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(conditions, key=lambda f: f.id):
        key = entry.get(victim_key(f.victim))
        if key is not None:
            out[key].append(f)
    return dict(out)


def _entry_incidents(attacks: Mapping[str, list[Finding]]) -> dict[str, str]:
    """Per organisation, the incident a condition most plausibly let in: the earliest intrusion
    whose way in is not explained by a mail; when every incident came by mail, the latest one
    (an inventory is today's state, nearest in time to the latest attack)."""
    ranked: dict[str, list[tuple[int, bool, float, str]]] = defaultdict(list)
    for key, fs in attacks.items():
        start = min(_all_times(fs), default=None)
        stamp = start.timestamp() if start else 0.0
        by_mail = _came_by_mail(fs)
        rank = (int(by_mail), start is None, -stamp if by_mail else stamp, key)
        for victim in {victim_key(f.victim) for f in fs}:
            ranked[victim].append(rank)
    return {victim: min(options)[3] for victim, options in ranked.items()}


def _came_by_mail(fs: Sequence[Finding]) -> bool:
    return any(t.split(".")[0] == MAIL_ENTRY for f in fs for t in f.techniques)


def _incident(key: str, fs: list[Finding], conditions: Sequence[Finding] = ()) -> Incident:
    top = max(fs, key=lambda f: (f.severity.rank, f.score))
    times = _all_times(fs)
    victims = sorted({f.victim for f in fs if f.victim})
    every = [*fs, *conditions]
    extra: dict[str, Any] = {"group_key": key, "detectors": sorted({f.detector for f in every})}
    if conditions:
        role = ROLE_TARGETED if _came_by_mail(fs) else ROLE_ENTRY
        extra["exposures"] = [exposure_summary(f, role) for f in conditions]
    return Incident(
        # The incident is the attack: an exposure attached later does not change its identity.
        id=stable_id("incident", *sorted({f.id for f in fs})),
        title=top.title,
        finding_ids=tuple(f.id for f in every),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        victim=victims[0] if victims else None,
        severity=top.severity,
        techniques=tuple(t for f in every for t in f.techniques),
        observations=_unique(o for f in every for o in f.observations),
        source=top.detector,
        extra=extra,
    )


def exposure_summary(f: Finding, role: str = "") -> dict[str, Any]:
    """What an exposure finding says, in a few plain fields (reports and campaign records)."""
    data = f.extra.get("exposure")
    info: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    cves = [c for c in info.get("cves") or () if isinstance(c, Mapping)]
    return {
        "finding": f.id,
        "asset": info.get("asset") or f.group_key or f.title,
        "product": " ".join(str(info[k]) for k in ("vendor", "product", "version") if info.get(k)),
        "exposure": info.get("exposure") or "",
        "organisation": f.victim,
        "techniques": list(f.techniques),
        "cves": [str(c.get("cve")) for c in cves],
        "actors": sorted({str(a) for c in cves for a in c.get("actors") or ()}),
        "role": role,
    }


def _all_times(fs: Iterable[Finding]) -> list[datetime]:
    return [t for f in fs for t in _times(f)]


def _times(f: Finding) -> list[datetime]:
    """When a finding happened; an external incident also reports its first and last sighting."""
    found = [f.time] if f.time else []
    for key in ("first_seen", "last_seen"):
        value = f.extra.get(key)
        if isinstance(value, str):
            try:
                parsed = utc(value)
            except ValueError:
                continue
            if parsed:
                found.append(parsed)
    return found


def _unique(observations: Iterable[Observation]) -> tuple[Observation, ...]:
    seen: dict[tuple[str, str], Observation] = {}
    for o in observations:
        seen.setdefault((o.kind, o.value), o)
    return tuple(sorted(seen.values(), key=lambda o: (o.kind, o.value)))
