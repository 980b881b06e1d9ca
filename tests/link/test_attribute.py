"""Attribution: the right actor with Diamond-model evidence, the competing hypotheses with what
speaks against them, and "unattributed" when the evidence is generic."""

from __future__ import annotations

from linkkb import FakeKB

from aptlink.link.attribute import attribute
from aptlink.link.campaigns import link_incidents


def attribute_one(incidents, kb):
    campaigns = link_incidents(incidents, kb)
    assert len(campaigns) == 1
    return attribute(campaigns, incidents, kb)


def test_mirrorface_campaign_is_named_with_evidence_per_vertex(incident, kb) -> None:
    inc = incident(
        "mf",
        when="2024-06-20",
        techniques=("T1566.001", "T1036.008", "T1564.006", "T1219.001", "T1574.001"),
        malware=["LODEINFO", "NOOPDOOR"],
        cve="CVE-2023-28461",
        domain="cloud-jaxsync.net",
        lure_theme="Japan-US alliance",
        sector="think tank",
        country="japan",
    )
    ranked = attribute_one([inc], kb)
    top = ranked[0]
    assert (top.actor, top.attack_id, top.rank, top.attributed) == ("MirrorFace", "G1054", 1, True)
    assert top.confidence >= 0.8
    vertices = {r.code.split(":")[0] for r in top.evidence}
    assert vertices == {"adversary", "capability", "infrastructure", "victim"}
    assert any(
        r.code == "infrastructure:known" and "cloud-jaxsync.net" in r.detail for r in top.evidence
    )
    runner_up = ranked[1]
    assert runner_up.actor == "menuPass" and not runner_up.attributed
    against = {r.code for r in runner_up.against}
    assert "capability:software-elsewhere" in against  # LODEINFO, NOOPDOOR are MirrorFace's
    assert [a.rank for a in ranked] == list(range(1, len(ranked) + 1))


def test_generic_only_evidence_stays_unattributed(incident, kb) -> None:
    inc = incident("generic", techniques=("T1059", "T1105", "T1082"))
    assert attribute_one([inc], kb) == []  # generic techniques name no candidate at all
    # one specific technique is weak evidence: candidates, but no name
    inc = incident("weak", techniques=("T1059", "T1105", "T1082", "T1221"))
    ranked = attribute_one([inc], kb)
    assert ranked and not any(a.attributed for a in ranked)


def test_intel_ioc_names_the_adversary(incident) -> None:
    kb = FakeKB(
        iocs={"45.32.13.180": [{"actor": "Earth Kasha", "source": "ESET", "confidence": 90}]}
    )
    inc = incident("ioc", ipv4="45.32.13.180", techniques=("T1574.001",))
    top = attribute_one([inc], kb)[0]
    assert top.actor == "MirrorFace"
    assert any(r.code == "infrastructure:intel-ioc" and "ESET" in r.detail for r in top.evidence)


def test_ach_lists_inconsistencies(incident, kb) -> None:
    # Lazarus-like software, but ransomware impact, victims and time that fit MirrorFace poorly
    inc = incident(
        "mixed",
        when="2016-05-01",
        techniques=("T1486", "T1566.002", "T1565.001"),
        malware="DRATzarus",
        sector="finance",
        country="south korea",
    )
    ranked = {a.actor: a for a in attribute_one([inc], kb)}
    assert next(iter(ranked)) == "Lazarus Group"
    mf = ranked.get("MirrorFace")
    if mf is not None:
        codes = {r.code for r in mf.against}
        assert {"victim:sector-outside", "victim:country-outside"} <= codes
        assert "adversary:active-years-outside" in codes
        assert "capability:impact-unlike-actor" in codes


def test_no_knowledge_base_no_attribution(incident) -> None:
    inc = incident("x", malware="LODEINFO")
    assert attribute(link_incidents([inc], None), [inc], None) == []


def test_attribution_is_deterministic(incident, kb) -> None:
    incs = [
        incident(f"i{n}", malware="ANEL", techniques=("T1574.001",), domain=f"d{n}.net")
        for n in range(3)
    ]
    campaigns = link_incidents(incs, kb)
    assert [a.to_dict() for a in attribute(campaigns, incs, kb)] == [
        a.to_dict() for a in attribute(list(reversed(campaigns)), incs, kb)
    ]


def test_lure_phrases_in_subjects_point_to_the_actor(incident) -> None:
    actors = [
        a
        if a.name != "MirrorFace"
        else type(a)(
            **{**a.to_dict(), "lure_themes": ("Japan-U.S. alliance (日米同盟)",), "relations": ()}
        )
        for a in FakeKB().actors()
    ]
    kb = FakeKB(actors=actors)
    inc = incident(
        "mail",
        subject="日米同盟の今後に関するご意見のお願い",
        techniques=("T1566.001", "T1204.002"),
    )
    top = attribute_one([inc], kb)[0]
    assert top.actor == "MirrorFace"
    assert any(r.code == "adversary:lure-theme" and "日米同盟" in r.detail for r in top.evidence)


def test_fast_ids_are_the_model_ids() -> None:
    from aptlink.link.attribute import fast_stable_id
    from aptlink.model import stable_id

    for parts in (("campaign--x", "MirrorFace"), ("c", "日米同盟"), ("", "")):
        assert fast_stable_id("attribution", *parts) == stable_id("attribution", *parts)


def test_forked_workers_give_the_same_result(incident, kb, monkeypatch) -> None:
    import aptlink.link.attribute as attribution

    incs = [
        incident(
            f"i{n}",
            malware=["ANEL", "LODEINFO"][n % 2],
            techniques=("T1574.001", "T1221"),
            domain=f"d{n}.net",
        )
        for n in range(9)
    ]
    campaigns = link_incidents(incs, kb)
    serial = attribute(campaigns, incs, kb, workers=1)
    monkeypatch.setattr(attribution, "PARALLEL_MIN", 1)
    forked = attribute(campaigns, incs, kb, workers=3)
    assert [a.to_dict() for a in forked] == [a.to_dict() for a in serial]
    assert len({a.campaign_id for a in forked}) == 9
