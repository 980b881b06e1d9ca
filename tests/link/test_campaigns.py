"""Campaigns: strong edges join incidents, weak shared values do not, commodity stays apart, and the
ids do not move when the evidence does not change."""

from __future__ import annotations

import random

from aptlink.link.campaigns import link_incidents


def mirrorface_like(incident, n: int, when: str):
    return incident(
        f"mf{n}",
        when=when,
        techniques=("T1566.001", "T1204.002", "T1036.008"),
        email=f"expert{n}.jp@gmail.com",
        lure_theme="Japan-US alliance",
        impersonated="Prof. Sato",
        domain=["cloud-jaxsync.net"] if n % 2 else ["docs-jpforum.com", "cloud-jaxsync.net"],
        malware="LODEINFO",
        sector="think tank",
        country="japan",
    )


def test_strong_links_make_one_campaign_with_reasons(incident, kb) -> None:
    incs = [mirrorface_like(incident, n, f"2022-0{n + 1}-10") for n in range(4)]
    (campaign,) = link_incidents(incs, kb)
    assert len(campaign.incident_ids) == 4
    assert campaign.name == "2022-01 lodeinfo / japan-us alliance (4 incidents)"
    assert set(campaign.membership) == set(campaign.incident_ids)
    assert all(m.startswith("linked to incident--") for m in campaign.membership.values())
    assert "same impersonated sender" in next(iter(campaign.membership.values()))
    assert campaign.extra["infrastructure"]["domain"] == ["cloud-jaxsync.net", "docs-jpforum.com"]
    assert campaign.victims == () and campaign.extra["sectors"] == ["think tank"]
    assert campaign.links and all(lk.weight >= 1.0 for lk in campaign.links)


def test_commodity_is_not_pulled_in_by_weak_values(incident, kb) -> None:
    apt = [mirrorface_like(incident, n, f"2023-0{n + 1}-03") for n in range(3)]
    # ransomware at a victim in the same sector and country, through the same hosting /24 and
    # with the same common tools and techniques
    ransom = incident(
        "lockbit",
        when="2023-07-04",
        techniques=("T1486", "T1490", "T1566.001"),
        malware="LockBit 3.0",
        tool="Cobalt Strike",
        ipv4="45.32.13.99",
        sector="think tank",
        country="japan",
        lure_theme="Japan-US alliance",
    )
    apt[0] = incident(
        "mf-x",
        when="2023-07-01",
        techniques=("T1566.001",),
        email="expert9.jp@gmail.com",
        lure_theme="Japan-US alliance",
        impersonated="Prof. Sato",
        domain="cloud-jaxsync.net",
        tool="Cobalt Strike",
        ipv4="45.32.13.180",
        sector="think tank",
        country="japan",
    )
    campaigns = link_incidents([*apt, ransom], kb)
    alone = [c for c in campaigns if ransom.id in c.incident_ids]
    assert alone[0].incident_ids == (ransom.id,)
    assert alone[0].extra["commodity"] is True
    assert alone[0].membership[ransom.id].startswith("stands alone: its best link")


def test_unrelated_incidents_stay_apart(incident, kb) -> None:
    a = incident("a", domain="alpha-c2.net", sector="finance")
    b = incident("b", domain="beta-c2.net", sector="finance")
    campaigns = link_incidents([a, b], kb)
    assert sorted(len(c.incident_ids) for c in campaigns) == [1, 1]
    assert all(
        "shares no weighted value" in next(iter(c.membership.values()))
        or "below" in next(iter(c.membership.values()))
        for c in campaigns
    )


def test_ids_are_stable_across_reruns_and_input_order(incident, kb) -> None:
    incs = [mirrorface_like(incident, n, f"2022-0{n + 1}-10") for n in range(5)]
    incs.append(incident("other", domain="elsewhere.org"))
    first = link_incidents(incs, kb)
    shuffled = incs[:]
    random.Random(7).shuffle(shuffled)
    again = link_incidents(shuffled, kb)
    assert [c.to_dict() for c in first] == [c.to_dict() for c in again]


def test_louvain_alternative_runs(incident, kb) -> None:
    incs = [mirrorface_like(incident, n, f"2022-0{n + 1}-10") for n in range(4)]
    campaigns = link_incidents(incs, kb, method="louvain")
    assert sum(len(c.incident_ids) for c in campaigns) == 4


def test_without_a_knowledge_base(incident) -> None:
    incs = [mirrorface_like(incident, n, f"2022-0{n + 1}-10") for n in range(3)]
    (campaign,) = link_incidents(incs, None)
    assert len(campaign.incident_ids) == 3
