"""Grouping findings into incidents: one attack on one victim at one time.

Findings that name the same ``group_key`` (a mail's message id, a host and day, an external incident's
id) belong together; findings without one fall back to the item they came from. Findings below
``min_severity`` are context, not attacks, and start no incident of their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from aptlink.model import Finding, Incident, Observation, Severity, utc

MIN_SEVERITY = Severity.MEDIUM


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
        groups[incident_key(f)].append(f)
    incidents = [
        _incident(key, fs)
        for key, fs in sorted(groups.items())
        if max(f.severity.rank for f in fs) >= min_severity.rank
    ]
    return sorted(incidents, key=lambda i: (i.first_seen is None, i.first_seen, i.id))


def _incident(key: str, fs: list[Finding]) -> Incident:
    top = max(fs, key=lambda f: (f.severity.rank, f.score))
    times = [t for f in fs for t in _times(f)]
    victims = sorted({f.victim for f in fs if f.victim})
    return Incident(
        title=top.title,
        finding_ids=tuple(f.id for f in fs),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        victim=victims[0] if victims else None,
        severity=top.severity,
        techniques=tuple(t for f in fs for t in f.techniques),
        observations=_unique(o for f in fs for o in f.observations),
        source=top.detector,
        extra={"group_key": key, "detectors": sorted({f.detector for f in fs})},
    )


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
