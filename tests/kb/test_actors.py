"""Actor profiles: the curated pack merged with ATT&CK and the MISP galaxy; aliases and conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aptlink.errors import KnowledgeError
from aptlink.kb import KnowledgeBase
from aptlink.kb.actors import check_pack, load_actors, read_pack
from aptlink.kb.attack import AttackData
from aptlink.model import technique_id

JAPAN_ACTORS = {
    "MirrorFace": "G1054",
    "menuPass": "G0045",
    "BRONZE BUTLER": "G0060",
    "BlackTech": "G0098",
    "Lazarus Group": "G0032",
    "Kimsuky": "G0094",
    "APT41": "G0096",
    "Volt Typhoon": "G1017",
}
MIRRORFACE_CVES = {"CVE-2023-28461", "CVE-2023-27997", "CVE-2023-45727"}


def test_earth_kasha_with_attack(kb_full: KnowledgeBase) -> None:
    a = kb_full.actor("earth kasha")
    assert a is not None
    assert (a.name, a.attack_id) == ("MirrorFace", "G1054")
    assert {"MirrorFace", "Earth Kasha"} <= set(a.aliases)
    assert len(a.techniques) >= 40 and len(a.software) >= 10
    assert {"T1564.006", "T1219.001", "T1190"} <= set(a.techniques)
    assert set(a.cves) >= MIRRORFACE_CVES
    rel = [r for r in a.relations if r.kind == "subgroup-of" and r.target == "menuPass"]
    assert rel and rel[0].source == "https://attack.mitre.org/groups/G1054/"
    assert a.extra["campaigns"][0]["id"] == "C0060"


def test_mirrorface_offline(kb_offline: KnowledgeBase) -> None:
    a = kb_offline.actor("MirrorFace")
    assert a is not None and a.attack_id == "G1054"
    assert set(a.cves) >= MIRRORFACE_CVES
    assert len(a.techniques) >= 40
    assert {"LODEINFO", "NOOPDOOR", "ANEL", "LilimRAT"} <= set(a.software)
    assert kb_offline.technique("T1566.001")["name"] == "Spearphishing Attachment"  # type: ignore[index]
    assert kb_offline.mitigations_for(["T1566.001", "T1204.002"])[0]["techniques"] == [
        "T1204.002",
        "T1566.001",
    ]


@pytest.mark.parametrize("name", ["APT10", "stone panda", "Cicada", "MENUPASS"])
def test_menupass_aliases(kb_full: KnowledgeBase, name: str) -> None:
    a = kb_full.actor(name)
    assert a is not None and a.name == "menuPass"


def test_curated_pack_covers_japan_actors(kb_full: KnowledgeBase) -> None:
    for name, gid in JAPAN_ACTORS.items():
        a = kb_full.actor(name)
        assert a is not None and a.attack_id == gid, name
        assert "curated" in a.extra["origins"]
        assert a.sources.get("cves") and a.sources.get("sectors"), name
    lockbit = kb_full.actor("LockBit 3.0")
    assert lockbit is not None and lockbit.kind == "ransomware" and lockbit.attack_id is None
    assert {"T1486", "T1490"} <= set(lockbit.techniques)
    assert "CVE-2018-13379" in lockbit.cves  # Fortinet, per CISA AA23-165A


def test_every_curated_fact_has_a_source() -> None:
    assert check_pack() == []
    for entry in read_pack():
        for urls in entry["sources"].values():
            assert all(u.startswith("https://") for u in urls)
        for rel in entry.get("relations") or ():
            assert rel["source"].startswith("https://")


def test_curated_ids_exist_in_attack(kb_full: KnowledgeBase) -> None:
    for entry in read_pack():
        if entry.get("attack_id"):
            assert kb_full.group(entry["attack_id"]) is not None, entry["name"]
        for tid in entry.get("techniques") or ():
            row = kb_full.technique(technique_id(tid))
            assert row is not None and row["id"] == tid, (entry["name"], tid)


def test_cve_links_to_actors(kb_full: KnowledgeBase) -> None:
    assert [a.name for a in kb_full.cve_actors("cve-2023-28461")] == ["MirrorFace"]
    # from ATT&CK procedure text (menuPass used Zerologon) and from the curated LockBit entry
    assert {"menuPass", "LockBit affiliates"} <= {
        a.name for a in kb_full.cve_actors("CVE-2020-1472")
    }


def _pack(tmp_path: Path, actors: list[dict[str, object]]) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "actors": actors}), encoding="utf-8")
    return path


def test_alias_claimed_by_two_actors_is_reported_not_merged(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        [
            {"name": "Alpha", "aliases": ["Shared Name"]},
            {"name": "Beta", "aliases": ["Shared Name"]},
        ],
    )
    index = load_actors(AttackData(), [], pack)
    assert index.find("shared name") is None
    (conflict,) = [c for c in index.conflicts if c["alias"] == "shared name"]
    assert conflict["actors"] == ["Alpha", "Beta"]
    assert conflict["detail"] == "ambiguous: not resolved"
    assert index.find("alpha").name == "Alpha"  # type: ignore[union-attr]


def test_misp_cluster_matching_two_actors_is_not_merged(tmp_path: Path) -> None:
    pack = _pack(tmp_path, [{"name": "Alpha"}, {"name": "Beta"}])
    misp = [{"value": "Alpha", "meta": {"synonyms": ["Beta", "Gamma"], "country": "XX"}}]
    index = load_actors(AttackData(), misp, pack)
    assert index.find("gamma") is None
    assert index.find("alpha").country is None  # type: ignore[union-attr]
    assert index.conflicts[0]["actors"] == ["Alpha", "Beta"]


def test_misp_names_are_merged_when_unambiguous(kb_full: KnowledgeBase) -> None:
    a = kb_full.actor("mirrorface")
    assert a is not None and "misp-galaxy" in a.extra["origins"]
    assert kb_full.alias_conflicts()  # the real data has some, and they are listed


def test_malformed_pack_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("actors:\n  - name: X\n    aliases: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        read_pack(bad)
    assert err.value.where is not None and err.value.where.startswith(f"{bad}:")


def test_pack_entry_without_name(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError) as err:
        read_pack(_pack(tmp_path, [{"name": "A"}, {"aliases": ["x"]}]))
    assert err.value.where == f"{tmp_path / 'pack.yaml'}#actors[1]"


def test_software_outside_attack_is_known_and_cited(kb_full: KnowledgeBase) -> None:
    outside = {
        e["name"]: [s for s in e.get("software") or () if kb_full.software(s) is None]
        for e in read_pack()
    }
    assert {k: v for k, v in outside.items() if v} == {
        "MirrorFace": ["LilimRAT", "FaceXInjector", "MRSAStealer", "GOST"],
        "BRONZE BUTLER": ["xxmm", "Datper"],
        "BlackTech": ["SpiderPig", "Gh0stTimes"],
        "Volt Typhoon": ["KV Botnet"],
        "LockBit affiliates": ["AnyDesk"],
    }
    for entry in read_pack():
        if outside[entry["name"]]:
            assert any("attack.mitre.org" not in u for u in entry["sources"]["software"]), entry[
                "name"
            ]
