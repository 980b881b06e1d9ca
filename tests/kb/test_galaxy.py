"""MISP galaxy: ATT&CK-lite from the packaged clusters, newer copies, broken copies passed over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptlink.errors import KnowledgeError
from aptlink.kb import KnowledgeBase, galaxy

SHARED_GALAXY = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "misp-galaxy"
).resolve()


def test_split_value() -> None:
    assert galaxy.split_value("Spearphishing Attachment - T1566.001") == (
        "Spearphishing Attachment",
        "T1566.001",
    )
    assert galaxy.split_value("menuPass - G0045") == ("menuPass", "G0045")
    assert galaxy.split_value("MirrorFace") == ("MirrorFace", None)


def test_attack_lite_offline() -> None:
    data = galaxy.attack_lite()
    assert data.source.startswith("misp-galaxy")
    assert len(data.techniques) > 600 and len(data.mitigations) >= 40
    t = data.techniques["T1564.006"]
    assert t["name"] == "Run Virtual Instance" and "defense-evasion" in t["tactics"]
    assert "M1042" in t["mitigations"]
    assert data.groups["G0045"]["aliases"][:2] == ["menuPass", "Cicada"]
    assert data.groups["G0045"]["techniques"]
    # revoked techniques are dropped and resolve to their replacement, as with the STIX bundle
    assert "T1143" not in data.techniques and data.get("T1143")["id"] == "T1564.003"  # type: ignore[index]
    assert all(t in data.techniques for g in data.groups.values() for t in g["techniques"])


def test_newer_copy_wins(tmp_path: Path) -> None:
    if not SHARED_GALAXY.is_dir():
        pytest.skip("../shared/data/misp-galaxy is not beside the checkout")
    newer = galaxy.cluster("threat-actor", [SHARED_GALAXY])
    assert newer is not None and newer["version"] == 349
    packaged = galaxy.cluster("threat-actor")
    assert packaged is not None and packaged["version"] < 349
    kb = KnowledgeBase.load(None, galaxy_path=SHARED_GALAXY, cache_dir=tmp_path)
    # the newer mitre-intrusion-set cluster (v40) has MirrorFace with its ATT&CK uses
    assert "G1054" in kb.attack.groups


def test_broken_cluster_is_reported_and_passed_over(tmp_path: Path) -> None:
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    (clusters / "threat-actor.json").write_text('{"values": [\n{"value": "X",\n', encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        galaxy.read_cluster(clusters / "threat-actor.json")
    assert err.value.where is not None and err.value.where.startswith(
        f"{clusters / 'threat-actor.json'}:"
    )
    data = galaxy.cluster("threat-actor", [tmp_path])
    assert data is not None and len(data["values"]) > 800  # the packaged copy still counts
    assert any("threat-actor.json" in p for p in galaxy.PROBLEMS)


def test_cluster_without_values(tmp_path: Path) -> None:
    path = tmp_path / "threat-actor.json"
    path.write_text(json.dumps({"name": "x"}), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="no 'values' list"):
        galaxy.read_cluster(path)


def test_misp_only_actor_answers(kb_offline: KnowledgeBase) -> None:
    # an actor MISP knows but neither ATT&CK nor the pack does
    entry = next(
        v
        for v in galaxy.values(galaxy.cluster("threat-actor"))
        if kb_offline._index.find(v["value"]) is None and (v.get("meta") or {}).get("country")
    )
    a = kb_offline.actor(entry["value"].upper())
    assert a is not None and a.name == entry["value"] and a.extra["origins"] == ["misp-galaxy"]
