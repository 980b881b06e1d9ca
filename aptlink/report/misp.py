"""MISP event JSON export: one event per case with the indicators of its incidents as attributes,
tagged with the ATT&CK techniques and the attributed threat actors (MISP galaxy tags).

The JSON is MISP's own event format (``{"Event": {...}}``), importable with "Add event from JSON";
uuids are uuid5 over the identifying fields so the same case exports the same event.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aptlink.kb import KnowledgeBase
from aptlink.model import Finding, Incident, Kind, Observation, Severity
from aptlink.pipeline import CaseResult

NAMESPACE = uuid.UUID("0b9f5d2a-6c1e-5f0e-a3a6-2d1f0a51c0de")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

# kind -> (MISP attribute type, category, to_ids)
ATTRIBUTES: dict[Kind, tuple[str, str, bool]] = {
    Kind.EMAIL: ("email-src", "Payload delivery", True),
    Kind.DISPLAY_NAME: ("email-src-display-name", "Payload delivery", False),
    Kind.SUBJECT: ("email-subject", "Payload delivery", False),
    Kind.DOMAIN: ("domain", "Network activity", True),
    Kind.HOSTNAME: ("hostname", "Network activity", True),
    Kind.URL: ("url", "Network activity", True),
    Kind.IPV4: ("ip-dst", "Network activity", True),
    Kind.IPV6: ("ip-dst", "Network activity", True),
    Kind.MD5: ("md5", "Payload delivery", True),
    Kind.SHA1: ("sha1", "Payload delivery", True),
    Kind.SHA256: ("sha256", "Payload delivery", True),
    Kind.FILE_NAME: ("filename", "Payload delivery", False),
    Kind.REGISTRY_KEY: ("regkey", "Persistence mechanism", True),
    Kind.COMMAND_LINE: ("text", "Artifacts dropped", False),
    Kind.CVE: ("vulnerability", "External analysis", False),
    Kind.MALWARE: ("text", "Attribution", False),
}
THREAT_LEVEL = {Severity.CRITICAL: "1", Severity.HIGH: "1", Severity.MEDIUM: "2"}  # else 3 (low)


def epoch(t: datetime) -> str:
    """MISP's timestamp: Unix seconds as text, never negative (mail Date headers claim year 102)."""
    return str(max(0, int(t.timestamp())))


def muuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(map(str, parts))))


def event(case: CaseResult, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """The case as one MISP event."""
    stamp = _case_time(case)
    first = min((i.first_seen for i in case.incidents if i.first_seen), default=stamp)
    severities = [i.severity for i in case.incidents]
    top = max(severities, key=lambda s: s.rank, default=Severity.LOW)
    return {
        "Event": {
            "uuid": muuid("event", *sorted(i.id for i in case.incidents)),
            "info": _info(case),
            "date": first.date().isoformat(),
            "timestamp": epoch(stamp),
            "threat_level_id": THREAT_LEVEL.get(top, "3"),
            "analysis": "2",
            "distribution": "0",  # this organisation only: the analyst decides to share
            "published": False,
            "Attribute": _attributes(case, stamp, kb),
            "Tag": _tags(case, kb),
        }
    }


def _info(case: CaseResult) -> str:
    named = sorted({a.actor for a in case.attributions if a.attributed and a.rank == 1})
    who = ", ".join(named) if named else "unattributed"
    return (
        f"aptlink case: {len(case.incidents)} incident(s) in {len(case.campaigns)} "
        f"campaign(s) ({who})"
    )


def _attributes(
    case: CaseResult, stamp: datetime, kb: KnowledgeBase | None
) -> list[dict[str, Any]]:
    findings = {f.id: f for f in case.findings}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for incident in case.incidents:
        for o in _observations(incident, findings):
            if o.kind in ATTRIBUTES and (o.kind, o.value) not in out:
                listed = kb.warninglisted(o.value) if kb else []
                out[(o.kind, o.value)] = _attribute(o, incident, stamp, listed)
    return list(out.values())


def _observations(i: Incident, findings: dict[str, Finding]) -> list[Observation]:
    mine = [findings[f] for f in i.finding_ids if f in findings]
    return [*i.observations, *(o for f in mine for o in f.observations)]


def _attribute(
    o: Observation, incident: Incident, stamp: datetime, warninglists: list[str]
) -> dict[str, Any]:
    """One attribute; a value on a MISP warninglist is kept as context but not for detection."""
    kind, category, to_ids = ATTRIBUTES[o.kind]
    comment = f"{incident.title} ({o.provenance.where()})"
    if warninglists:
        comment += f"; on warninglist: {warninglists[0]}"
    return {
        "uuid": muuid("attribute", o.kind, o.value),
        "type": kind,
        "category": category,
        "value": o.value,
        "to_ids": to_ids and not warninglists,
        "comment": comment[:500],
        "timestamp": epoch(o.time or stamp),
        "distribution": "5",  # inherit the event's
    }


def _tags(case: CaseResult, kb: KnowledgeBase | None) -> list[dict[str, str]]:
    tags = [{"name": "tlp:amber"}]
    for actor in sorted({a.actor for a in case.attributions if a.attributed}):
        tags.append({"name": f'misp-galaxy:threat-actor="{actor}"'})
    for tid in sorted({t for i in case.incidents for t in i.techniques}):
        info = kb.technique(tid) if kb else None
        name = (info or {}).get("name")
        tag = (
            f'misp-galaxy:mitre-attack-pattern="{name} - {tid}"' if name else f"mitre-attack:{tid}"
        )
        tags.append({"name": tag})
    return tags


def _case_time(case: CaseResult) -> datetime:
    times = [t for i in case.incidents for t in (i.first_seen, i.last_seen) if t]
    return max(times, default=EPOCH)


def write(case: CaseResult, path: Path, kb: KnowledgeBase | None = None) -> Path:
    path.write_text(json.dumps(event(case, kb), ensure_ascii=False, indent=1), encoding="utf-8")
    return path
