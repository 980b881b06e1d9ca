"""What may name an actor: specific evidence. Impact techniques and commodity or
ransomware-as-a-service families rank candidates but cannot name one on their own; a common tool
or technique says little beyond the background (docs/attribution.md)."""

from __future__ import annotations

import dataclasses

from linkkb import ACTORS, FakeKB

from aptlink.link.actorindex import build_index
from aptlink.link.attribute import attribute
from aptlink.link.campaigns import link_incidents
from aptlink.model import Actor

CREW = Actor(
    name="Ransom Crew",
    kind="ransomware",
    techniques=("T1486", "T1490", "T1133", "T1021.001", "T1567.002"),
    software=("LockBit 3.0", "PsExec", "CrewLoader"),
    infrastructure=("crew-leaks.example",),
    first_year=2019,
)


def shared(actor: Actor) -> Actor:
    """Give an actor external remote services and PsExec, as many intrusions show."""
    if actor.name not in ("menuPass", "Lazarus Group", "APT29"):
        return actor
    return dataclasses.replace(
        actor, techniques=(*actor.techniques, "T1133"), software=(*actor.software, "PsExec")
    )


def kb_with_crew() -> FakeKB:
    return FakeKB(actors=[*map(shared, ACTORS), CREW])


def top_of(incident, **values):  # type: ignore[no-untyped-def]
    kb = kb_with_crew()
    inc = incident("r", when="2023-07-03", **values)
    ranked = attribute(link_incidents([inc], kb), [inc], kb)
    return ranked[0]


def test_ransomware_family_and_impact_rank_but_do_not_name(incident) -> None:
    top = top_of(
        incident,
        techniques=("T1486", "T1490", "T1133"),
        malware="LockBit 3.0",
        tool="PsExec",
        sector="logistics",
    )
    assert top.actor == "Ransom Crew" and top.rank == 1
    assert not top.attributed and top.confidence < 0.5
    software = [r for r in top.evidence if r.code == "capability:software"]
    assert any("names no crew" in r.detail for r in software)


def test_specific_evidence_names_the_crew(incident) -> None:
    top = top_of(
        incident,
        techniques=("T1486", "T1490", "T1133"),
        malware=["LockBit 3.0", "CrewLoader"],
        domain="crew-leaks.example",
    )
    assert (top.actor, top.attributed) == ("Ransom Crew", True)
    assert any(r.code == "infrastructure:known" for r in top.evidence)


def test_specificity_is_one_for_an_exclusive_feature_and_near_zero_for_a_shared_one() -> None:
    index = build_index(kb_with_crew())
    assert index.specificity("T1567.002") == 1.0  # only the crew
    assert index.specificity("T1133") < 0.5  # the crew and three others
    assert index.specificity("T1105") < 0.2  # nearly every actor
    assert index.soft_specificity("crewloader") == 1.0
    assert index.soft_specificity("cobalt strike") < index.soft_specificity("anel") < 1.0


def test_the_marks_of_any_phishing_mail_rank_but_do_not_name(incident) -> None:
    """A spam mail from a freemail account under a borrowed display name (what the triage marks
    T1585.002 and T1684.001) ranks an actor known for both, and names nobody; a real
    capability of that actor in the same mail still does."""
    mirrorface = dataclasses.replace(
        ACTORS[0], techniques=(*ACTORS[0].techniques, "T1585.002", "T1684.001")
    )
    kb = FakeKB(actors=[mirrorface, *ACTORS[1:]])
    spam = incident("spam", when="2025-02-23", techniques=("T1684.001", "T1585.002"))
    top = attribute(link_incidents([spam], kb), [spam], kb)[0]
    assert top.actor == "MirrorFace" and not top.attributed and top.confidence < 0.1
    lure = incident(
        "lure",
        when="2024-06-20",
        techniques=("T1684.001", "T1585.002", "T1036.008", "T1564.006"),
        malware="LODEINFO",
    )
    top = attribute(link_incidents([lure], kb), [lure], kb)[0]
    assert top.actor == "MirrorFace" and top.attributed


def test_narrow_evidence_says_why_the_confidence_is_low(incident) -> None:
    """One technique two actors share is worth half a fact for each: the ACH row says so and how
    far the confidence was scaled."""
    kb = FakeKB()
    inc = incident("shared", techniques=("T1574.001", "T1082"))
    ranked = attribute(link_incidents([inc], kb), [inc], kb)
    top = ranked[0]
    assert top.actor in ("MirrorFace", "menuPass") and not top.attributed
    narrow = [r for r in top.against if r.code == "adversary:narrow-evidence"]
    assert narrow and "worth 0.50 of one fact" in narrow[0].detail and narrow[0].weight == 0
