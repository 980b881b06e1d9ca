"""MISP events: each event becomes one external incident; attributes by type, galaxy clusters and
tags give techniques, software, victims and the producer's claimed actor; sightings give times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import ParseContext, Source, choose_parser
from aptlink.evidence.misp import MispEventParser


def event(uuid: str = "5f0c0000-0000-4000-8000-000000000001") -> dict:
    return {
        "Event": {
            "uuid": uuid,
            "info": "Spear-phishing against a ministry",
            "date": "2023-03-14",
            "threat_level_id": "1",
            "Orgc": {"name": "National CERT"},
            "Attribute": [
                {
                    "type": "domain",
                    "value": "www.aesorunwe.com",
                    "uuid": "a1",
                    "timestamp": "1678752000",
                },
                {"type": "ip-dst|port", "value": "103.175.16.39|443", "uuid": "a2"},
                {"type": "filename|sha256", "value": "invite.docx.lnk|" + "ab" * 32, "uuid": "a3"},
                {"type": "email-src", "value": "Former.Staff@outlook.com", "uuid": "a4"},
                {"type": "email-subject", "value": "Taiwan Strait study panel", "uuid": "a5"},
                {"type": "vulnerability", "value": "CVE-2023-27997", "uuid": "a6"},
                {"type": "target-org", "value": "Ministry of External Policy", "uuid": "a7"},
                {"type": "text", "value": "free text is kept out", "uuid": "a8"},
                {"type": "domain", "value": "", "uuid": "a9"},
                {"type": "md5", "value": 12345, "uuid": "a10"},
                {"type": "url", "value": "https://x.example/a", "uuid": "a11", "deleted": True},
            ],
            "Object": [
                {
                    "name": "file",
                    "Attribute": [
                        {"type": "sha1", "value": "f4691ff3b3acd15653684f372285cac36c8d0aef"}
                    ],
                }
            ],
            "Tag": [
                {"name": 'misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1566.001"'},
                {"name": 'misp-galaxy:mitre-malware="LODEINFO - S9020"'},
                {"name": 'misp-galaxy:sector="Government, Administration"'},
                {"name": 'misp-galaxy:country="japan"'},
                {"name": "tlp:amber"},
            ],
            "Galaxy": [
                {"type": "threat-actor", "GalaxyCluster": [{"value": "MirrorFace"}]},
                {"type": "mitre-tool", "GalaxyCluster": [{"value": "Cobalt Strike - S0154"}]},
            ],
            "Sighting": [{"date_sighting": "1679011200"}],
        }
    }


def parse(path: Path) -> tuple[list, ParseContext]:
    ctx = ParseContext()
    return list(MispEventParser().parse(Source(path), ctx)), ctx


def test_one_event_one_incident(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event()))
    assert choose_parser(Source(path)) is MispEventParser
    (item,), ctx = parse(path)
    values = {(str(o.kind), o.value) for o in item.observations}
    assert values == {
        ("domain-name", "www.aesorunwe.com"),
        ("ipv4-addr", "103.175.16.39"),
        ("file-name", "invite.docx.lnk"),
        ("sha256", "ab" * 32),
        ("email-addr", "former.staff@outlook.com"),
        ("email-subject", "Taiwan Strait study panel"),
        ("cve", "CVE-2023-27997"),
        ("organisation", "Ministry of External Policy"),
        ("sha1", "f4691ff3b3acd15653684f372285cac36c8d0aef"),
        ("attack-technique", "T1566.001"),
        ("malware", "LODEINFO"),
        ("tool", "Cobalt Strike"),
        ("sector", "government, administration"),
        ("country", "japan"),
    }
    assert item.kind == "external-incident"
    assert item.data["external_id"] == "misp:5f0c0000-0000-4000-8000-000000000001"
    assert (
        item.data["claimed_actors"] == ["MirrorFace"] and item.data["producer"] == "National CERT"
    )
    assert item.data["victim"] == "Ministry of External Policy"
    assert item.data["first_seen"] == "2023-03-14T00:00:00+00:00"
    assert item.data["last_seen"] == "2023-03-17T00:00:00+00:00"
    # the empty domain and the numeric md5 are warnings; the deleted URL and free text are skipped
    assert len(ctx.warnings) == 2


def test_rest_response_with_several_events(tmp_path: Path) -> None:
    path = tmp_path / "response.json"
    path.write_text(json.dumps({"response": [event("e1"), event("e2")]}))
    items, _ = parse(path)
    assert [i.data["external_id"] for i in items] == ["misp:e1", "misp:e2"]


def test_eset_turla_events(shared: Path) -> None:
    files = sorted((shared / "intel" / "eset" / "turla").glob("misp-*.json"))
    assert len(files) == 7
    items = [i for f in files for i in parse(f)[0]]
    assert len(items) == 7
    assert {a for i in items for a in i.data["claimed_actors"]} == {"Turla Group"}
    crutch = next(i for i in items if "Crutch" in i.data["name"])
    kinds = {str(o.kind) for o in crutch.observations}
    assert {"domain-name", "sha1", "file-name", "url"} <= kinds
    assert crutch.data["first_seen"].startswith("2020-11-30")


def test_not_misp_and_broken(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(UnsupportedEvidence):
        parse(other)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(event())[:-30])
    with pytest.raises(CorruptEvidence):
        parse(broken)


def test_nesting_beyond_the_reader_is_a_broken_file(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"Event": {"info": "x", "Attribute": ' + "[" * 50_000 + "]" * 50_000 + "}}")
    with pytest.raises(CorruptEvidence, match="nested deeper") as err:
        parse(deep)
    assert err.value.where == str(deep)
