"""`aptlink kb ...`: the done-when checks of the knowledge-base issue, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aptlink.cli import _register_subcommands, app
from aptlink.kb import KnowledgeBase


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register_subcommands()
    return CliRunner()


def _json(runner: CliRunner, *args: str) -> dict:  # type: ignore[type-arg]
    done = runner.invoke(app, ["kb", *args])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)  # type: ignore[no-any-return]


def test_actor_earth_kasha_with_bundle(
    runner: CliRunner, kb_full: KnowledgeBase, attack_path: Path
) -> None:
    doc = _json(runner, "actor", "earth kasha", "--json", "--attack", str(attack_path))
    assert (doc["name"], doc["attack_id"]) == ("MirrorFace", "G1054")
    assert {"MirrorFace", "Earth Kasha"} <= set(doc["aliases"])
    assert len(doc["techniques"]) >= 40 and len(doc["software"]) >= 10
    assert {"CVE-2023-28461", "CVE-2023-27997", "CVE-2023-45727"} <= set(doc["cves"])
    menupass = [r for r in doc["relations"] if r["target"] == "menuPass"]
    assert menupass and all(r["source"].startswith("https://") for r in menupass)
    assert doc["sources"]["cves"]


def test_actor_offline(runner: CliRunner) -> None:
    doc = _json(runner, "actor", "MirrorFace", "--json")
    assert doc["attack_id"] == "G1054" and "CVE-2023-45727" in doc["cves"]
    done = runner.invoke(app, ["kb", "actor", "mirrorface"])
    assert done.exit_code == 0 and "subgroup-of menuPass" in done.output


def test_unknown_actor_exits_nonzero(runner: CliRunner) -> None:
    done = runner.invoke(app, ["kb", "actor", "no such group at all"])
    assert done.exit_code == 1


def test_ioc_eset_cuckoospear_and_warninglists(runner: CliRunner) -> None:
    doc = _json(runner, "ioc", "www.ninesmn[.]com", "--json")
    assert [(m["actor"], m["source"]) for m in doc["matches"]] == [
        ("MirrorFace", "eset/malware-ioc/mirrorface")
    ]
    assert doc["evidence"] is True
    doc = _json(runner, "ioc", "DB81C8719DDAAE40C8D9B9CA103BBE77BE4FCE6C", "--json")
    assert doc["matches"][0]["actor"] == "MirrorFace" and doc["kind"] == "sha1"
    doc = _json(runner, "ioc", "ocouomors.com", "--json")
    assert doc["matches"][0]["source"] == "cybereason/cuckoospear"
    for value in ("gmail.com", "8.8.8.8"):
        doc = _json(runner, "ioc", value, "--json")
        assert doc["warninglists"] and doc["evidence"] is False
    done = runner.invoke(app, ["kb", "ioc", "8.8.8.8"])
    assert "warninglisted" in done.output


def test_ioc_with_extra_feed(runner: CliRunner, intel: Path) -> None:
    doc = _json(
        runner, "ioc", "travelasist[.]com", "--feed", str(intel / "eset" / "tick"), "--json"
    )
    assert doc["matches"][0]["actor"] == "BRONZE BUTLER"


def test_technique_software_cve_search(
    runner: CliRunner, kb_full: KnowledgeBase, attack_path: Path
) -> None:
    b = ["--attack", str(attack_path)]
    doc = _json(runner, "technique", "T1219.001", "--json", *b)
    assert doc["name"] == "IDE Tunneling" and "MirrorFace" in doc["actors"]
    doc = _json(runner, "software", "noopdoor", "--json", *b)
    assert (doc["id"], doc["actors"]) == ("S9023", ["MirrorFace"])
    doc = _json(runner, "cve", "cve-2023-28461", "--json", *b)
    assert doc["kev"]["vendor"] == "Array Networks" and doc["actors"][0]["name"] == "MirrorFace"
    hits = _json(runner, "search", "kasha", "--json", *b)
    assert hits[0] == {"type": "actor", "id": "G1054", "name": "MirrorFace", "rank": 1}


def test_status(runner: CliRunner, kb_full: KnowledgeBase, attack_path: Path) -> None:
    doc = _json(runner, "status", "--json", "--attack", str(attack_path))
    assert doc["attack"]["version"] == "19.1"
    assert doc["kev"]["count"] >= 1400
    assert doc["indicators"]["count"] >= 190
    assert any(c["alias"] == "Lazarus Group" for c in doc["alias_conflicts"])
    done = runner.invoke(app, ["kb", "status", "--attack", str(attack_path)])
    assert "alias conflicts" in done.output
