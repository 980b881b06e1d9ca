"""STIX 2.1 export of a case: incidents, campaigns, victims, attack-patterns, indicators, malware and
intrusion-sets, with ``attributed-to`` from each attributed campaign to its actor.

Ids are uuid5 over the identifying fields and timestamps come from the case, so exporting the same
case twice gives the same bundle (as stix2's own deterministic SCO ids do).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stix2

from aptlink.kb import KnowledgeBase
from aptlink.model import Attribution, Campaign, Finding, Incident, Kind, Observation
from aptlink.pipeline import CaseResult

NAMESPACE = uuid.UUID("5b1e9f5e-8f4d-5c55-9d59-0a7711c0de21")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # for a case with no timestamps at all
ATTACK_URL = "https://attack.mitre.org/{kind}/{path}"

# An observation kind -> the STIX pattern comparison that matches it.
PATTERNS = {
    Kind.EMAIL: "email-addr:value",
    Kind.DOMAIN: "domain-name:value",
    Kind.HOSTNAME: "domain-name:value",
    Kind.URL: "url:value",
    Kind.IPV4: "ipv4-addr:value",
    Kind.IPV6: "ipv6-addr:value",
    Kind.MD5: "file:hashes.MD5",
    Kind.SHA1: "file:hashes.'SHA-1'",
    Kind.SHA256: "file:hashes.'SHA-256'",
    Kind.FILE_NAME: "file:name",
    Kind.REGISTRY_KEY: "windows-registry-key:key",
    Kind.COMMAND_LINE: "process:command_line",
}


def sid(kind: str, *parts: object) -> str:
    """A deterministic STIX id: ``kind--uuid5(kind, parts)``."""
    return f"{kind}--{uuid.uuid5(NAMESPACE, chr(0x1F).join([kind, *map(str, parts)]))}"


def literal(value: str) -> str:
    """A STIX pattern string literal (quotes and backslashes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Export:
    """Collects the objects of one bundle, each once."""

    def __init__(self, case: CaseResult, kb: KnowledgeBase | None) -> None:
        self.case, self.kb = case, kb
        self.objects: dict[str, Any] = {}
        self.stamp = _case_time(case)
        self.identity = self.add(
            stix2.Identity(
                id=sid("identity", "aptlink"),
                name="aptlink",
                identity_class="system",
                created=self.stamp,
                modified=self.stamp,
            )
        )

    def add(self, obj: Any) -> Any:
        return self.objects.setdefault(obj.id, obj)

    def common(self, when: datetime | None = None) -> dict[str, Any]:
        t = when or self.stamp
        return {"created": t, "modified": t, "created_by_ref": self.identity.id}

    def relate(self, source: str, kind: str, target: str, **extra: Any) -> None:
        self.add(
            stix2.Relationship(
                id=sid("relationship", source, kind, target),
                source_ref=source,
                relationship_type=kind,
                target_ref=target,
                **self.common(),
                **extra,
            )
        )


def bundle(case: CaseResult, kb: KnowledgeBase | None = None) -> stix2.Bundle:
    """The case as one STIX 2.1 bundle."""
    ex = _Export(case, kb)
    findings = {f.id: f for f in case.findings}
    incidents = {i.id: _incident(ex, i, findings) for i in case.incidents}
    for c in case.campaigns:
        _campaign(ex, c, incidents, [a for a in case.attributions if a.campaign_id == c.id])
    if ex.objects.keys() - {ex.identity.id}:
        _report(ex, case)
    objects = sorted(ex.objects.values(), key=lambda o: o.id)
    return stix2.Bundle(objects=objects, id=sid("bundle", *(o.id for o in objects)))


def _report(ex: _Export, case: CaseResult) -> None:
    """A STIX report naming every object, so a platform (OpenCTI, a TAXII feed) keeps them as one."""
    refs = sorted(ex.objects)
    named = sorted({a.actor for a in case.attributions if a.attributed and a.rank == 1})
    ex.add(
        stix2.Report(
            id=sid("report", *refs),
            name=f"aptlink case: {len(case.incidents)} incident(s), {len(case.campaigns)} campaign(s)",
            description="Attributed to: "
            + (", ".join(named) if named else "nobody (unattributed)"),
            report_types=["campaign" if case.campaigns else "threat-report"],
            published=ex.stamp,
            object_refs=refs,
            **ex.common(),
        )
    )


def _incident(ex: _Export, i: Incident, findings: dict[str, Finding]) -> str:
    mine = [findings[f] for f in i.finding_ids if f in findings]
    obj = ex.add(
        stix2.Incident(
            id=sid("incident", i.id),
            name=i.title,
            description=_incident_text(i, mine),
            external_references=[{"source_name": "aptlink", "external_id": i.id}],
            **ex.common(i.first_seen),
        )
    )
    for tid in i.techniques:
        ex.relate(obj.id, "uses", _attack_pattern(ex, tid))
    for o in _indicator_observations(i, mine, ex.kb):
        indicator = _indicator(ex, o)
        if indicator:
            ex.relate(indicator, "indicates", obj.id)
    if i.victim:
        ex.relate(obj.id, "targets", _victim(ex, i.victim))
    return str(obj.id)


def _incident_text(i: Incident, findings: list[Finding]) -> str:
    lines = [f"Victim: {i.victim or 'unknown'}. Severity: {i.severity}."]
    lines += [f"- {f.title} ({f.detector}, score {f.score:g})" for f in findings]
    return "\n".join(lines)


def _campaign(
    ex: _Export, c: Campaign, incidents: dict[str, str], ranked: list[Attribution]
) -> None:
    obj = ex.add(
        stix2.Campaign(
            id=sid("campaign", c.id),
            name=c.name,
            description=f"{len(c.incident_ids)} incident(s); victims: {', '.join(c.victims)}",
            first_seen=c.first_seen,
            last_seen=c.last_seen,
            external_references=[{"source_name": "aptlink", "external_id": c.id}],
            **ex.common(c.first_seen),
        )
    )
    for iid in c.incident_ids:
        if iid in incidents:
            ex.relate(incidents[iid], "related-to", obj.id)
    for tid in c.techniques:
        ex.relate(obj.id, "uses", _attack_pattern(ex, tid))
    for victim in c.victims:
        ex.relate(obj.id, "targets", _victim(ex, victim))
    for a in ranked:
        if a.attributed:
            description = "; ".join(r.detail for r in a.evidence[:10]) or None
            ex.relate(
                obj.id,
                "attributed-to",
                _intrusion_set(ex, a),
                confidence=round(a.confidence * 100),
                description=description,
            )


def _attack_pattern(ex: _Export, tid: str) -> str:
    info = ex.kb.technique(tid) if ex.kb else None
    path = tid.replace(".", "/")
    obj = ex.add(
        stix2.AttackPattern(
            id=sid("attack-pattern", tid),
            name=str((info or {}).get("name") or tid),
            external_references=[
                {
                    "source_name": "mitre-attack",
                    "external_id": tid,
                    "url": ATTACK_URL.format(kind="techniques", path=path),
                }
            ],
            **ex.common(),
        )
    )
    return str(obj.id)


def _intrusion_set(ex: _Export, a: Attribution) -> str:
    actor = ex.kb.actor(a.actor) if ex.kb else None
    refs = []
    if a.attack_id:
        url = ATTACK_URL.format(kind="groups", path=a.attack_id)
        refs.append({"source_name": "mitre-attack", "external_id": a.attack_id, "url": url})
    aliases = [x for x in (actor.aliases if actor else ()) if x != a.actor]
    obj = ex.add(
        stix2.IntrusionSet(
            id=sid("intrusion-set", a.actor.lower()),
            name=a.actor,
            aliases=aliases or None,
            description=(actor.description or None) if actor else None,
            external_references=refs or None,
            **ex.common(),
        )
    )
    return str(obj.id)


def _victim(ex: _Export, name: str) -> str:
    obj = ex.add(
        stix2.Identity(
            id=sid("identity", "victim", name),
            name=name,
            identity_class="organization",
            **ex.common(),
        )
    )
    return str(obj.id)


def _indicator_observations(
    i: Incident, findings: list[Finding], kb: KnowledgeBase | None
) -> Iterator[Observation]:
    """Observations that can be indicators; values on a MISP warninglist (gmail.com, public DNS
    resolvers, OneDrive) would flag everyone's traffic and are left out."""
    seen: set[tuple[str, str]] = set()
    for o in [*i.observations, *(o for f in findings for o in f.observations)]:
        if o.kind in PATTERNS and (o.kind, o.value) not in seen:
            seen.add((o.kind, o.value))
            if not (kb and kb.warninglisted(o.value)):
                yield o


def _indicator(ex: _Export, o: Observation) -> str | None:
    """An indicator for the observation; None when no valid pattern can express its value."""
    pattern = f"[{PATTERNS[o.kind]} = {literal(o.value)}]"
    try:
        obj = ex.add(
            stix2.Indicator(
                id=sid("indicator", o.kind, o.value),
                name=f"{o.kind}: {o.value}"[:200],
                pattern=pattern,
                pattern_type="stix",
                indicator_types=["malicious-activity"],
                valid_from=o.time or ex.stamp,
                **ex.common(o.time),
            )
        )
    except (stix2.exceptions.STIXError, ValueError):
        return None
    return str(obj.id)


def _case_time(case: CaseResult) -> datetime:
    times = [t for i in case.incidents for t in (i.first_seen, i.last_seen) if t]
    times += [f.time for f in case.findings if f.time]
    return max(times, default=EPOCH)


def write(case: CaseResult, path: Path, kb: KnowledgeBase | None = None) -> Path:
    # stix2's pretty=True orders properties in quadratic time (seconds for the demo case)
    text = json.dumps(as_dict(case, kb), ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def as_dict(case: CaseResult, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(bundle(case, kb).serialize())
    return result
