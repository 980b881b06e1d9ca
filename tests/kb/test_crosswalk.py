"""One technique vocabulary across ATT&CK releases: a revoked id becomes its replacement
everywhere, and an older release's knowledge base still answers for the current id."""

from __future__ import annotations

import json
from pathlib import Path

from aptlink.kb import crosswalk, galaxy
from aptlink.link.actorindex import build_index
from aptlink.model import Actor, Reason, current_technique, former_techniques, technique_id

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_revoked_ids_become_their_replacement() -> None:
    assert technique_id("attack.t1070.001") == "T1685.005"  # Clear Windows Event Logs, v19
    assert technique_id("T1656") == "T1684.001"  # Impersonation
    assert technique_id("T1574.002") == "T1574.001"  # DLL Side-Loading merged into DLL
    assert technique_id("T1566.001") == "T1566.001"  # not revoked: unchanged
    assert Reason(code="x", detail="y", technique="T1070.001").technique == "T1685.005"
    assert Actor(name="A", techniques=("T1070.001", "T1685.005")).techniques == ("T1685.005",)
    assert "T1070.001" in former_techniques("T1685.005")
    assert current_technique("T1685.005") == "T1685.005"


def test_crosswalk_file_is_what_the_shared_bundle_says() -> None:
    bundle = json.loads((SHARED / "attack" / "enterprise-attack.json").read_text("utf-8"))
    shipped = json.loads(crosswalk.PATH.read_text("utf-8"))
    assert shipped["revoked"] == crosswalk.revocations(bundle["objects"])
    assert shipped["source"].startswith("ATT&CK Enterprise 19.1")


def test_an_older_release_answers_for_the_current_id() -> None:
    """The offline knowledge base (MISP galaxy, before v19) knows clearing event logs as
    T1070.001: asked for T1685.005 it gives that entry, and its groups' profiles say T1685.005."""
    data = galaxy.attack_lite()
    assert "T1685.005" not in data.techniques
    entry = data.get("T1685.005")
    assert entry is not None and entry["name"] == "Clear Windows Event Logs"


def test_actor_profiles_of_an_older_release_match_current_ids() -> None:
    """Before the crosswalk only the curated MirrorFace entry had T1685.005, so a cleared log
    pointed at MirrorFace alone; now every group the galaxy lists for T1070.001 counts."""
    from aptlink.kb import KnowledgeBase

    index = build_index(KnowledgeBase.load())
    assert len(index.tech_delta["T1685.005"]) >= 10
    assert "T1070.001" not in index.tech_delta
