"""Actor kinds from data (ATT&CK ransomware software, descriptions, MISP meta) and how attribution
weighs impact against them: ransomware impact fits a criminal actor, not an espionage one; many
techniques and no impact fit a ransomware actor poorly."""

from __future__ import annotations

import dataclasses

from linkkb import ACTORS, FakeKB

from aptlink.kb.actors import Profile, _classify, _is_ransomware, _misp_kind_text
from aptlink.link.attribute import attribute
from aptlink.link.campaigns import link_incidents
from aptlink.model import Actor


def kind_of(text: str, ransomware: list[str] | None = None, curated: bool = False) -> str:
    p = Profile(name="x")
    if curated:
        p.kind, p.extra["kind_basis"] = "botnet", "curated pack"
    _classify(p, text, ransomware or [], "test")
    return p.kind


def test_kind_rules() -> None:
    assert kind_of("a financially motivated group targeting retail") == "criminal"
    assert kind_of("an obscure group", ransomware=["Conti"]) == "ransomware"
    assert kind_of("a ransomware-as-a-service operation") == "ransomware"
    # espionage wins: a state actor that also deployed ransomware stays "apt"
    assert kind_of("state-sponsored espionage group", ransomware=["WannaCry"]) == "apt"
    assert kind_of("a group", ransomware=["Conti"], curated=True) == "botnet"  # the pack wins
    assert kind_of("a group of unknown motive") == "apt"


def test_ransomware_software_and_misp_meta() -> None:
    assert _is_ransomware({"techniques": ["T1486"], "description": "Conti is a ransomware"})
    # a tool seen in ransomware intrusions is not ransomware
    assert not _is_ransomware({"techniques": ["T1567.002"], "description": "used by ransomware"})
    entry = {"value": "X", "description": "", "meta": {"cfr-type-of-incident": ["Financial Theft"]}}
    assert kind_of(_misp_kind_text(entry)) == "criminal"
    entry["meta"] = {"cfr-type-of-incident": "Espionage", "motive": "Cybercrime"}
    assert kind_of(_misp_kind_text(entry)) == "apt"


RANSOM_CREW = Actor(
    name="Ransom Crew",
    kind="ransomware",
    techniques=("T1486", "T1490", "T1489", "T1021.001", "T1567.002", "T1566.002", "T1204.002"),
    software=("LockBit 3.0",),
    first_year=2019,
)


def ranked(incident, techniques: tuple[str, ...], **values):  # type: ignore[no-untyped-def]
    kb = FakeKB(actors=[*ACTORS, RANSOM_CREW])
    inc = incident("r", techniques=techniques, **values)
    campaigns = link_incidents([inc], kb)
    return {a.actor: a for a in attribute(campaigns, [inc], kb)}


def test_ransomware_impact_fits_criminal_actor_not_espionage(incident) -> None:
    out = ranked(incident, ("T1486", "T1490", "T1489", "T1566.001"))
    top = next(iter(sorted(out.values(), key=lambda a: a.rank)))
    assert top.actor == "Ransom Crew"
    assert any(r.code == "adversary:impact-like-actor" for r in top.evidence)
    mf = out.get("MirrorFace")
    if mf is not None:  # T1566.001 is MirrorFace's, the impact is not
        assert any(r.code == "capability:impact-unlike-actor" for r in mf.against)


def test_espionage_only_evidence_counts_against_ransomware_actor(incident) -> None:
    techniques = ("T1567.002", "T1036.008", "T1221", "T1574.001", "T1564.006", "T1219.001")
    out = ranked(incident, techniques)
    crew = out["Ransom Crew"]
    assert any(r.code == "capability:no-impact-for-ransomware-actor" for r in crew.against)


def test_candidates_below_rank_one_are_unattributed_and_explained(incident, kb) -> None:
    inc = incident("p", techniques=("T1566.001", "T1204.002", "T1574.001", "T1221"))
    atts = attribute(link_incidents([inc], kb), [inc], kb)
    assert [a.rank for a in atts] == list(range(1, len(atts) + 1)) and len(atts) >= 2
    assert not any(a.attributed for a in atts[1:])
    for a in atts:  # every listed candidate says how close its whole profile is
        assert any(r.code == "capability:profile-similarity" for r in a.evidence)


def test_family_match_counts_in_the_similarity(incident) -> None:
    # T1566.003 is no actor's; MirrorFace and menuPass know T1566.001 (same family)
    actors = [dataclasses.replace(a, relations=()) for a in ACTORS]
    kb = FakeKB(actors=actors)
    inc = incident("fam", techniques=("T1566.003", "T1574.001"))
    atts = attribute(link_incidents([inc], kb), [inc], kb)
    names = [a.actor for a in atts]
    assert {"MirrorFace", "menuPass"} <= set(names)
