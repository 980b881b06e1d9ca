"""The demo's shared intelligence: a STIX 2.1 bundle in which a (fictional) ISAC reports an
intrusion at another member, with indicators that overlap the case. Ids are uuid5 and times fixed,
so the bundle is the same every time it is written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from aptlink.demo.mail import as_datetime

STIX_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # the STIX 2.1 SCO namespace
TECHNIQUES = {
    "T1190": "Exploit Public-Facing Application",
    "T1564.006": "Run Virtual Instance",
    "T1574.001": "DLL",
}


def sid(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(STIX_NAMESPACE, f'aptlink-demo|{kind}|{name}')}"


def bundle(spec: Mapping[str, Any], hashes: Mapping[str, str]) -> bytes:
    """The bundle as JSON; ``hashes`` maps a mail id to the sha256 of the shortcut it carried."""
    when = as_datetime(spec["created"]).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    base = {"spec_version": "2.1", "created": when, "modified": when}
    producer = {
        **base,
        "type": "identity",
        "id": sid("identity", spec["producer"]),
        "name": spec["producer"],
        "identity_class": "organization",
    }
    victim = {
        **base,
        "type": "identity",
        "id": sid("identity", "member"),
        "name": "member aerospace supplier",
        "identity_class": "organization",
        "sectors": ["aerospace"],
        "created_by_ref": producer["id"],
    }
    malware = {
        **base,
        "type": "malware",
        "id": sid("malware", spec["malware"]),
        "name": spec["malware"],
        "is_family": True,
        "created_by_ref": producer["id"],
    }
    indicators = [_indicator(base, i, hashes, producer["id"]) for i in spec["indicators"]]
    patterns = [_attack_pattern(base, tid, name) for tid, name in TECHNIQUES.items()]
    incident = {
        **base,
        "type": "incident",
        "id": sid("incident", spec["report"]),
        "name": spec["report"],
        "description": spec["description"],
        "created_by_ref": producer["id"],
    }
    relations = [_rel(base, i["id"], "indicates", malware["id"]) for i in indicators]
    relations += [_rel(base, malware["id"], "uses", p["id"]) for p in patterns]
    relations += [_rel(base, incident["id"], "targets", victim["id"])]
    objects = [producer, victim, malware, incident, *indicators, *patterns, *relations]
    report = {
        **base,
        "type": "report",
        "id": sid("report", spec["report"]),
        "name": spec["report"],
        "description": spec["description"],
        "published": when,
        "report_types": ["threat-report"],
        "created_by_ref": producer["id"],
        "object_refs": [o["id"] for o in objects if o is not producer],
    }
    doc = {"type": "bundle", "id": sid("bundle", spec["report"]), "objects": [*objects, report]}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def _indicator(
    base: Mapping[str, Any], spec: Mapping[str, Any], hashes: Mapping[str, str], producer: str
) -> dict[str, Any]:
    pattern = spec.get("pattern") or f"[file:hashes.'SHA-256' = '{hashes[spec['sha256_of']]}']"
    return {
        **base,
        "type": "indicator",
        "id": sid("indicator", pattern),
        "name": spec["name"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": base["created"],
        "indicator_types": ["malicious-activity"],
        "created_by_ref": producer,
    }


def _attack_pattern(base: Mapping[str, Any], tid: str, name: str) -> dict[str, Any]:
    ref = {
        "source_name": "mitre-attack",
        "external_id": tid,
        "url": f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}/",
    }
    return {
        **base,
        "type": "attack-pattern",
        "id": sid("attack-pattern", tid),
        "name": name,
        "external_references": [ref],
    }


def _rel(base: Mapping[str, Any], source: str, kind: str, target: str) -> dict[str, Any]:
    return {
        **base,
        "type": "relationship",
        "id": sid("relationship", f"{source}|{kind}|{target}"),
        "relationship_type": kind,
        "source_ref": source,
        "target_ref": target,
    }
