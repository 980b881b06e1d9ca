"""STIX 2.1 incident bundles: each grouping/incident becomes one external incident with its
indicators, observables, techniques, software, victim and times, and stands as its own incident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptlink import pipeline
from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import ParseContext, Source, choose_parser
from aptlink.evidence.stix import StixBundleParser

SHA = "5bc7eb8c12bfba9d79e843c4ed6cba8301923f19de7339ade0bc12d719f722fa"


def bundle() -> dict:
    producer = {
        "type": "identity",
        "id": "identity--p",
        "name": "JA-ISAC",
        "identity_class": "organization",
    }
    victim = {
        "type": "identity",
        "id": "identity--v",
        "name": "Member Think Tank",
        "identity_class": "organization",
        "sectors": ["think-tanks"],
        "created_by_ref": "identity--p",
    }
    jp = {"type": "location", "id": "location--jp", "country": "JP"}
    ind = {
        "type": "indicator",
        "id": "indicator--1",
        "pattern": f"[domain-name:value = 'www.ninesmn.com'] OR [file:hashes.'SHA-256' = '{SHA}']",
        "pattern_type": "stix",
        "valid_from": "2022-06-28T00:00:00Z",
        "created_by_ref": "identity--p",
    }
    obs = {
        "type": "observed-data",
        "id": "observed-data--1",
        "first_observed": "2022-06-29T01:00:00Z",
        "last_observed": "2022-06-29T02:00:00Z",
        "number_observed": 1,
        "object_refs": ["ipv4-addr--1", "email-addr--1"],
    }
    ip = {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "45.32.13.180"}
    sender = {
        "type": "email-addr",
        "id": "email-addr--1",
        "value": "expert.jp@gmail.com",
        "display_name": "Prof. Sato",
    }
    ap = {
        "type": "attack-pattern",
        "id": "attack-pattern--1",
        "name": "Spearphishing Attachment",
        "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.001"}],
    }
    mal = {"type": "malware", "id": "malware--1", "name": "LODEINFO", "is_family": True}
    actor = {"type": "intrusion-set", "id": "intrusion-set--1", "name": "MirrorFace"}
    sighting = {
        "type": "sighting",
        "id": "sighting--1",
        "sighting_of_ref": "indicator--1",
        "first_seen": "2022-07-01T00:00:00Z",
        "last_seen": "2022-07-05T00:00:00Z",
        "where_sighted_refs": ["identity--v"],
    }
    g1 = {
        "type": "grouping",
        "id": "grouping--a",
        "name": "Operation LiberalFace, member A",
        "context": "suspicious-activity",
        "object_refs": [
            "indicator--1",
            "observed-data--1",
            "attack-pattern--1",
            "malware--1",
            "identity--v",
            "location--jp",
            "intrusion-set--1",
        ],
    }
    other_ip = {"type": "ipv4-addr", "id": "ipv4-addr--2", "value": "5.8.95.174"}
    g2 = {
        "type": "grouping",
        "id": "grouping--b",
        "name": "member B",
        "context": "x",
        "object_refs": ["ipv4-addr--2"],
    }
    objects = [
        producer,
        victim,
        jp,
        ind,
        obs,
        ip,
        sender,
        ap,
        mal,
        actor,
        sighting,
        g1,
        other_ip,
        g2,
        {"type": "note"},
    ]
    return {"type": "bundle", "id": "bundle--1", "objects": objects}


def write(tmp_path: Path, doc: object, name: str = "incidents.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def parse(path: Path) -> tuple[list, ParseContext]:
    ctx = ParseContext()
    return list(StixBundleParser().parse(Source(path), ctx)), ctx


def test_each_grouping_is_one_incident(tmp_path: Path) -> None:
    path = write(tmp_path, bundle())
    assert choose_parser(Source(path)) is StixBundleParser
    items, ctx = parse(path)
    assert [i.data["external_id"] for i in items] == ["grouping--a", "grouping--b"]
    assert ctx.warnings == []
    a = items[0]
    values = {(str(o.kind), o.value) for o in a.observations}
    assert values == {
        ("domain-name", "www.ninesmn.com"),
        ("sha256", SHA),
        ("ipv4-addr", "45.32.13.180"),
        ("email-addr", "expert.jp@gmail.com"),
        ("display-name", "Prof. Sato"),
        ("attack-technique", "T1566.001"),
        ("malware", "LODEINFO"),
        ("sector", "think-tanks"),
        ("organisation", "Member Think Tank"),
        ("country", "jp"),
    }
    assert a.data["victim"] == "Member Think Tank"  # the producer identity is not the victim
    assert a.data["claimed_actors"] == ["MirrorFace"]
    assert (a.data["first_seen"], a.data["last_seen"]) == (
        "2022-06-29T01:00:00+00:00",
        "2022-07-05T00:00:00+00:00",
    )
    assert a.provenance.chain == ("stix",) and a.provenance.record == "grouping--a"
    assert {(str(o.kind), o.value) for o in items[1].observations} == {("ipv4-addr", "5.8.95.174")}


def test_bundle_without_groupings_is_one_incident(tmp_path: Path) -> None:
    doc = bundle()
    doc["objects"] = [o for o in doc["objects"] if o.get("type") != "grouping"]
    items, _ = parse(write(tmp_path, doc))
    assert len(items) == 1 and items[0].data["external_id"].startswith("bundle:")


def test_external_incidents_become_their_own_incidents_and_link(tmp_path: Path) -> None:
    doc = bundle()
    twin = dict(doc["objects"][11], id="grouping--c", name="member C")
    doc["objects"].append(twin)
    result = pipeline.investigate([write(tmp_path, doc)], None)
    assert result.evidence[0].format == "stix"
    keys = sorted(i.extra["group_key"] for i in result.incidents)
    assert keys == ["external:grouping--a", "external:grouping--b", "external:grouping--c"]
    sizes = sorted(len(c.incident_ids) for c in result.campaigns)
    assert sizes == [1, 2]  # a and c share a domain, a hash, an address: one campaign
    first = next(i for i in result.incidents if i.extra["group_key"] == "external:grouping--a")
    assert first.first_seen.isoformat() == "2022-06-29T01:00:00+00:00"
    assert first.last_seen.isoformat() == "2022-07-05T00:00:00+00:00"


def test_bad_objects_warn_and_the_rest_is_read(tmp_path: Path) -> None:
    doc = bundle()
    doc["objects"].append({"type": "indicator", "id": "indicator--bad", "pattern": 42})
    doc["objects"].append(
        {"type": "attack-pattern", "id": "attack-pattern--x", "external_references": "oops"}
    )
    doc["objects"][11]["object_refs"] += ["indicator--bad", "attack-pattern--x"]
    items, ctx = parse(write(tmp_path, doc))
    assert len(items) == 2 and len(ctx.warnings) == 1
    assert "attack-pattern--x" in ctx.warnings[0].message


def test_not_a_bundle_and_broken_json(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedEvidence):
        parse(write(tmp_path, {"type": "report"}))
    broken = tmp_path / "broken.json"
    broken.write_bytes(json.dumps(bundle()).encode()[:-40])
    with pytest.raises(CorruptEvidence):
        parse(broken)
