"""A large campaign lists the incidents it hangs on (without one of them its strong links fall
apart): operations chained through one mail are shown to the analyst, not cut, because a real
campaign seen in part can hang on one incident just the same (docs/linking.md)."""

from __future__ import annotations

from linkkb import FakeKB

from aptlink.link.campaigns import link_incidents


def operation(incident, tag: str, month: str, size: int, extra: dict[int, list[str]]) -> list:
    """``size`` mails of one spam operation (its sender, link domain and tracking page); the mails
    in ``extra`` also link the URLs listed."""
    return [
        incident(
            f"{tag}{n}",
            when=f"2024-{month}-{n + 1:02d}",
            email=f"news@{tag}-offers.com",
            url=[
                f"https://click.{tag}-offers.com/t/{n}",
                f"https://{tag}-track.net/p.html",
                *extra.get(n, []),
            ],
        )
        for n in range(size)
    ]


def test_two_operations_chained_through_one_mail_show_that_mail(incident, kb) -> None:
    image = "https://img.beta-cdn.org/uploads/logo.png"  # beta's own image, in one alpha mail too
    alpha = operation(incident, "alpha", "03", 7, {6: [image]})
    beta = operation(incident, "beta", "09", 7, {0: [image], 1: [image]})
    (campaign,) = link_incidents(alpha + beta, kb)  # single linkage: one campaign of 14
    assert campaign.extra["joint_count"] == 1
    (joint,) = campaign.extra["joints"]
    assert joint == {"incident": alpha[6].id, "parts": [7, 6]}


def test_a_campaign_held_by_its_shared_c2_hangs_on_nobody(incident) -> None:
    c2 = "update-jpsync.net"  # reported C2: never cut as a bridge value
    intel = FakeKB(iocs={c2: [{"value": c2, "actor": "MirrorFace", "source": "eset"}]})
    waves = [
        incident(
            f"w{w}-{n}", when=f"2023-0{w + 1}-{n + 1:02d}", email=f"o@panel-{w}.org", domain=c2
        )
        for w in range(2)
        for n in range(6)
    ]
    (campaign,) = link_incidents(waves, intel)
    assert len(campaign.incident_ids) == 12 and "joints" not in campaign.extra


def test_small_campaigns_are_not_examined(incident, kb) -> None:
    image = "https://img.beta-cdn.org/uploads/logo.png"
    alpha = operation(incident, "alpha", "03", 4, {3: [image]})
    beta = operation(incident, "beta", "09", 4, {0: [image], 1: [image]})
    (campaign,) = link_incidents(alpha + beta, kb)
    assert len(campaign.incident_ids) == 8 and "joints" not in campaign.extra


def test_parts_from_the_block_cut_tree_equal_a_search_per_point() -> None:
    import random

    import networkx as nx

    from aptlink.link.campaigns import articulation_parts

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 30)
        links = nx.Graph()
        links.add_nodes_from(range(n))
        links.add_edges_from(
            (a, b)
            for a, b in ((rng.randrange(n), rng.randrange(n)) for _ in range(2 * n))
            if a != b
        )
        expected = {}
        for p in nx.articulation_points(links):
            rest = links.subgraph(q for q in links if q != p)
            expected[p] = sorted((len(c) for c in nx.connected_components(rest)), reverse=True)
        assert articulation_parts(links) == expected
