"""STIX 2.1 export of a case: incidents, campaigns, victims, attack-patterns, indicators and
intrusion-sets, with ``attributed-to`` from each attributed campaign to its actor, all under one report.

Ids are uuid5 over the identifying fields and timestamps come from the case, so exporting the same
case twice gives the same bundle. Objects are written as plain STIX JSON and the bundle is checked
with the stix2 library (``stix2.parse``) when it is small enough for that to be quick: stix2 builds
every object through its validators (patterns through a full ANTLR parser, about 5 ms each), which
made a 1,400-incident export take minutes. Tests parse every bundle they make.
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
VALIDATE_UP_TO = 2000  # objects; larger bundles are written without the stix2 round trip

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


def timestamp(t: datetime) -> str:
    """STIX timestamp: UTC, millisecond precision, ``Z``."""
    t = t.astimezone(UTC)
    # Not strftime: it does not pad years below 1000, and mail Date headers do claim year 102.
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond // 1000:03d}Z"
    )


class _Export:
    """Collects the objects of one bundle, each once."""

    def __init__(self, case: CaseResult, kb: KnowledgeBase | None) -> None:
        self.case, self.kb = case, kb
        self.objects: dict[str, dict[str, Any]] = {}
        self.stamp = _case_time(case)
        self.identity = self.add("identity", ("aptlink",), name="aptlink", identity_class="system")

    def add(
        self, kind: str, key: tuple[object, ...], when: datetime | None = None, **fields: Any
    ) -> str:
        """The object of this kind and key, made on first use; None-valued fields are left out."""
        oid = sid(kind, *key)
        if oid not in self.objects:
            t = timestamp(when or self.stamp)
            obj = {"type": kind, "spec_version": "2.1", "id": oid, "created": t, "modified": t}
            if kind != "identity" or key != ("aptlink",):
                obj["created_by_ref"] = self.identity
            obj.update({k: v for k, v in fields.items() if v not in (None, [], "")})
            self.objects[oid] = obj
        return oid

    def relate(self, source: str, kind: str, target: str, **extra: Any) -> None:
        self.add(
            "relationship",
            (source, kind, target),
            relationship_type=kind,
            source_ref=source,
            target_ref=target,
            **extra,
        )


def as_dict(
    case: CaseResult, kb: KnowledgeBase | None = None, validate: bool | None = None
) -> dict[str, Any]:
    """The case as one STIX 2.1 bundle (JSON-ready). ``validate`` parses it back with stix2:
    by default when it has at most VALIDATE_UP_TO objects."""
    ex = _Export(case, kb)
    findings = {f.id: f for f in case.findings}
    incidents = {i.id: _incident(ex, i, findings) for i in case.incidents}
    for c in case.campaigns:
        _campaign(ex, c, incidents, [a for a in case.attributions if a.campaign_id == c.id])
    if len(ex.objects) > 1:
        _report(ex, case)
    objects = [ex.objects[k] for k in sorted(ex.objects)]
    bundle = {"type": "bundle", "id": sid("bundle", *sorted(ex.objects)), "objects": objects}
    if validate or (validate is None and len(objects) <= VALIDATE_UP_TO):
        stix2.parse(bundle, allow_custom=False)
    return bundle


def bundle(case: CaseResult, kb: KnowledgeBase | None = None) -> stix2.Bundle:
    """The case as a stix2 Bundle object (parsed, so validated, whatever its size)."""
    parsed: stix2.Bundle = stix2.parse(as_dict(case, kb, validate=False), allow_custom=False)
    return parsed


def _report(ex: _Export, case: CaseResult) -> None:
    """A STIX report naming every object, so a platform (OpenCTI, a TAXII feed) keeps them as one."""
    refs = sorted(ex.objects)
    named = sorted({a.actor for a in case.attributions if a.attributed and a.rank == 1})
    ex.add(
        "report",
        tuple(refs),
        name=f"aptlink case: {len(case.incidents)} incident(s), {len(case.campaigns)} campaign(s)",
        description="Attributed to: " + (", ".join(named) if named else "nobody (unattributed)"),
        report_types=["campaign" if case.campaigns else "threat-report"],
        published=timestamp(ex.stamp),
        object_refs=refs,
    )


def _incident(ex: _Export, i: Incident, findings: dict[str, Finding]) -> str:
    mine = [findings[f] for f in i.finding_ids if f in findings]
    oid = ex.add(
        "incident",
        (i.id,),
        i.first_seen,
        name=i.title or i.id,
        description=_incident_text(i, mine),
        external_references=[{"source_name": "aptlink", "external_id": i.id}],
    )
    for tid in i.techniques:
        ex.relate(oid, "uses", _attack_pattern(ex, tid))
    for o in _indicator_observations(i, mine, ex.kb):
        ex.relate(_indicator(ex, o), "indicates", oid)
    if i.victim:
        ex.relate(oid, "targets", _victim(ex, i.victim))
    return oid


def _incident_text(i: Incident, findings: list[Finding]) -> str:
    lines = [f"Victim: {i.victim or 'unknown'}. Severity: {i.severity}."]
    lines += [f"- {f.title} ({f.detector}, score {f.score:g})" for f in findings]
    return "\n".join(lines)


def _campaign(
    ex: _Export, c: Campaign, incidents: dict[str, str], ranked: list[Attribution]
) -> None:
    cid = ex.add(
        "campaign",
        (c.id,),
        c.first_seen,
        name=c.name or c.id,
        description=f"{len(c.incident_ids)} incident(s); victims: {', '.join(c.victims) or 'unknown'}",
        first_seen=timestamp(c.first_seen) if c.first_seen else None,
        last_seen=timestamp(c.last_seen) if c.last_seen else None,
        external_references=[{"source_name": "aptlink", "external_id": c.id}],
    )
    for iid in c.incident_ids:
        if iid in incidents:
            ex.relate(incidents[iid], "related-to", cid)
    for tid in c.techniques:
        ex.relate(cid, "uses", _attack_pattern(ex, tid))
    for victim in c.victims:
        ex.relate(cid, "targets", _victim(ex, victim))
    for a in ranked:
        if a.attributed:
            description = "; ".join(r.detail for r in a.evidence[:10]) or None
            ex.relate(
                cid,
                "attributed-to",
                _intrusion_set(ex, a),
                confidence=round(a.confidence * 100),
                description=description,
            )


def _attack_pattern(ex: _Export, tid: str) -> str:
    info = ex.kb.technique(tid) if ex.kb else None
    url = ATTACK_URL.format(kind="techniques", path=tid.replace(".", "/"))
    return ex.add(
        "attack-pattern",
        (tid,),
        name=str((info or {}).get("name") or tid),
        external_references=[{"source_name": "mitre-attack", "external_id": tid, "url": url}],
    )


def _intrusion_set(ex: _Export, a: Attribution) -> str:
    actor = ex.kb.actor(a.actor) if ex.kb else None
    refs = []
    if a.attack_id:
        url = ATTACK_URL.format(kind="groups", path=a.attack_id)
        refs.append({"source_name": "mitre-attack", "external_id": a.attack_id, "url": url})
    return ex.add(
        "intrusion-set",
        (a.actor.lower(),),
        name=a.actor,
        aliases=[x for x in (actor.aliases if actor else ()) if x != a.actor],
        description=actor.description if actor else None,
        external_references=refs,
    )


def _victim(ex: _Export, name: str) -> str:
    return ex.add("identity", ("victim", name), name=name, identity_class="organization")


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


def _indicator(ex: _Export, o: Observation) -> str:
    """An indicator for the observation; the escaped literal makes every value a valid pattern."""
    return ex.add(
        "indicator",
        (o.kind, o.value),
        o.time,
        name=f"{o.kind}: {o.value}"[:200],
        pattern=f"[{PATTERNS[o.kind]} = {literal(o.value)}]",
        pattern_type="stix",
        pattern_version="2.1",
        indicator_types=["malicious-activity"],
        valid_from=timestamp(o.time or ex.stamp),
    )


def _case_time(case: CaseResult) -> datetime:
    times = [t for i in case.incidents for t in (i.first_seen, i.last_seen) if t]
    times += [f.time for f in case.findings if f.time]
    return max(times, default=EPOCH)


def write(case: CaseResult, path: Path, kb: KnowledgeBase | None = None) -> Path:
    text = json.dumps(as_dict(case, kb), ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")
    return path
