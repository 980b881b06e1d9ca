"""ATT&CK STIX 2.1 loader: counts from v19.1, revoked ids, relationships, cache, broken bundles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptlink.errors import KnowledgeError
from aptlink.kb import KnowledgeBase
from aptlink.kb import attack as attack_module
from aptlink.kb.attack import load_attack, parse_bundle


def test_counts_match_v19_1(kb_full: KnowledgeBase) -> None:
    s = kb_full.attack.summary()
    assert s["version"] == "19.1"
    # SOURCES.md: 222 active techniques + 475 sub-techniques, 174 active groups, 56 campaigns
    assert s["techniques"] == 222 + 475
    assert s["groups"] == 174
    assert s["campaigns"] == 56
    assert s["mitigations"] == 44
    assert kb_full.attack.counts["objects"] == 25843


def test_mirrorface_group_uses(kb_full: KnowledgeBase) -> None:
    g = kb_full.group("G1054")
    assert g is not None
    assert g["aliases"] == ["MirrorFace", "Earth Kasha"]
    assert (len(g["techniques"]), len(g["software"])) == (43, 16)
    assert g["campaigns"] == ["C0060"]
    assert "Array AG" in g["techniques"]["T1190"]  # procedure text is kept
    c = kb_full.campaign("C0060")
    assert c is not None and c["groups"] == ["G1054"]
    assert "T1219.001" in c["techniques"]


def test_technique_has_tactics_mitigations_detections(kb_full: KnowledgeBase) -> None:
    t = kb_full.technique("t1566.001")
    assert t is not None
    assert t["name"] == "Spearphishing Attachment"
    assert t["tactics"] == ["initial-access"]
    assert "M1049" in t["mitigations"]
    assert t["detections"][0]["id"].startswith("DET")
    assert "Process Creation" in t["data_components"]


def test_revoked_id_resolves_to_replacement(kb_full: KnowledgeBase) -> None:
    t = kb_full.technique("T1143")
    assert t is not None
    assert (t["id"], t["name"], t["revoked_id"]) == ("T1564.003", "Hidden Window", "T1143")


def test_lookup_is_by_id_and_type(kb_full: KnowledgeBase) -> None:
    assert kb_full.technique("G1054") is None
    assert kb_full.group("T1566") is None
    assert kb_full.technique("T9999") is None


def test_mitigations_for_sorted_by_coverage(kb_full: KnowledgeBase) -> None:
    rows = kb_full.mitigations_for(["T1566.001", "T1204.002", "T1564.006", "T1219.001", "T1190"])
    assert rows[0] == {
        "id": "M1038",
        "name": "Execution Prevention",
        "description": rows[0]["description"],
        "techniques": ["T1204.002", "T1219.001", "T1564.006"],
        "url": "https://attack.mitre.org/mitigations/M1038",
    }
    assert [len(r["techniques"]) for r in rows] == sorted(
        (len(r["techniques"]) for r in rows), reverse=True
    )
    assert all(
        set(r["techniques"]) <= {"T1566.001", "T1204.002", "T1564.006", "T1219.001", "T1190"}
        for r in rows
    )


def test_deprecated_and_revoked_objects_dropped() -> None:
    objects = [
        {
            "type": "attack-pattern",
            "id": "attack-pattern--1",
            "name": "Old",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1000"}],
            "revoked": True,
        },
        {
            "type": "attack-pattern",
            "id": "attack-pattern--2",
            "name": "New",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1001"}],
        },
        {
            "type": "attack-pattern",
            "id": "attack-pattern--3",
            "name": "Gone",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1002"}],
            "x_mitre_deprecated": True,
        },
        {
            "type": "relationship",
            "id": "relationship--1",
            "relationship_type": "revoked-by",
            "source_ref": "attack-pattern--1",
            "target_ref": "attack-pattern--2",
        },
    ]
    data = parse_bundle(objects)
    assert sorted(data.techniques) == ["T1001"]
    assert data.get("T1000")["name"] == "New"  # type: ignore[index]
    assert data.get("T1002") is None


def test_second_start_comes_from_cache(
    kb_full: KnowledgeBase, attack_path: Path, kb_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second start reads the pickle and never parses the bundle (speed: bench/kb_load.py)."""

    def no_parse(*args: object) -> None:
        raise AssertionError("the bundle was parsed again")

    monkeypatch.setattr(attack_module, "read_bundle", no_parse)
    second = load_attack(attack_path, kb_cache)
    assert second.summary() == kb_full.attack.summary()
    assert list((kb_cache / "parsed").glob("attack-*.pickle"))


def test_corrupt_cache_is_ignored(attack_path: Path, kb_cache: Path) -> None:
    load_attack(attack_path, kb_cache)
    bad_dir = kb_cache / "corrupt"
    (bad_dir / "parsed").mkdir(parents=True)
    good = next((kb_cache / "parsed").glob("attack-*.pickle"))
    (bad_dir / "parsed" / good.name).write_bytes(b"not a pickle")
    assert load_attack(attack_path, bad_dir).summary()["groups"] == 174


def test_truncated_bundle_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "enterprise-attack.json"
    bad.write_text(
        '{"type": "bundle", "objects": [\n{"type": "attack-pattern",\n', encoding="utf-8"
    )
    with pytest.raises(KnowledgeError) as err:
        load_attack(bad, tmp_path, use_cache=False)
    assert err.value.where is not None and err.value.where.startswith(f"{bad}:")
    assert "not valid JSON" in err.value.message


def test_not_a_bundle(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"type": "indicator"}), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not a STIX bundle"):
        load_attack(bad, tmp_path, use_cache=False)
