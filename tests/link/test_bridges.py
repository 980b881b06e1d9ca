"""A value that bridges otherwise unrelated groups (a bulk sender's image host, CDN distribution or
storage bucket) chains no campaigns together; an actor's own C2 shared by incidents that share
nothing else still links them."""

from __future__ import annotations

from linkkb import FakeKB

from aptlink.link.campaigns import link_incidents
from aptlink.link.features import _email, _host, _url
from aptlink.link.graph import build_graph


def spam_operation(incident, tag: str, month: str, logo_at: set[int]) -> list:
    """Four mails of one spam operation (its own sender address and link domain); the ones in
    ``logo_at`` also embed an image from a public image host that many operations use."""
    out = []
    for n in range(4):
        urls = [f"https://click.{tag}-offers.com/t/{n}"]
        if n in logo_at:
            urls.append("https://img-cdn-host.net/uploads/casino_logo.png")
        out.append(
            incident(
                f"{tag}{n}",
                when=f"2024-{month}-0{n + 1}",
                email=f"news@{tag}-offers.com",
                url=urls,
            )
        )
    return out


def test_bulk_image_host_does_not_bridge_two_operations(incident, kb) -> None:
    a = spam_operation(incident, "alpha", "03", {0, 1, 2})
    b = spam_operation(incident, "beta", "09", {1, 2, 3})
    campaigns = link_incidents(a + b, kb)
    groups = sorted(sorted(c.incident_ids) for c in campaigns)
    assert groups == sorted([sorted(i.id for i in a), sorted(i.id for i in b)])
    graph = build_graph(a + b, kb)
    assert graph.suppressed.get("bridge") == 2  # the image URL and its host, held alike
    logo = graph.ids[("url", "https://img-cdn-host.net/uploads/casino_logo.png")]
    assert graph.weights[logo] == 0.0
    # deterministic: any input order gives the same campaigns and ids
    again = link_incidents(list(reversed(b + a)), kb)
    assert sorted(c.id for c in again) == sorted(c.id for c in campaigns)


def test_a_value_intel_attributes_to_an_actor_is_never_a_bridge(incident) -> None:
    # two waves of one actor, each held together by its own sender and links, sharing one C2 host
    # that intel attributes to the actor: the same shape as the spam bridge, but kept
    c2 = "https://img-cdn-host.net/uploads/casino_logo.png"
    intel = FakeKB(iocs={c2: [{"value": c2, "actor": "MirrorFace", "source": "eset"}]})
    a = spam_operation(incident, "alpha", "03", {0, 1, 2})
    b = spam_operation(incident, "beta", "09", {1, 2, 3})
    (campaign,) = link_incidents(a + b, intel)
    assert len(campaign.incident_ids) == 8
    assert not build_graph(a + b, intel).suppressed.get("bridge")


def test_one_operation_sharing_the_host_stays_linked(incident, kb) -> None:
    # the same image host inside one operation only: its holders form one group, nothing to cut
    a = spam_operation(incident, "alpha", "03", {0, 1, 2, 3})
    (campaign,) = link_incidents(a, kb)
    assert len(campaign.incident_ids) == 4


def test_a_c2_domain_shared_by_otherwise_unrelated_incidents_still_links(incident, kb) -> None:
    incs = [
        incident(f"c2-{n}", when=f"2023-0{n + 1}-10", domain="update-jpsync.net") for n in range(5)
    ]
    (campaign,) = link_incidents(incs, kb)
    assert len(campaign.incident_ids) == 5


def test_hostless_urls_link_nothing() -> None:
    assert list(_url("#")) == [] and list(_url("unsubscribe-link")) == []
    assert list(_url("http://")) == []
    assert ("domain", "oncf2255.ma") in list(_url("www.oncf2255.ma"))
    assert list(_url("mailto:x@evil-op.com")) == [("url", "mailto:x@evil-op.com")]


def test_reweighing_the_cut_pairs_only_equals_weighing_every_pair(incident, kb) -> None:
    from collections import Counter

    from aptlink.link import graph
    from aptlink.link.features import load_config

    incs = spam_operation(incident, "alpha", "03", {0, 1, 2}) + spam_operation(
        incident, "beta", "09", {1, 2, 3}
    )
    built = build_graph(incs, kb)
    assert built.suppressed.get("bridge")
    cfg = load_config()
    index, features, members = graph._index(incs)
    before = graph._feature_weights(features, index, len(incs), kb, cfg, Counter())
    candidates = graph._candidate_pairs(index, features, before, incs, cfg)
    edges, core = graph._weigh_pairs(candidates, members, features, built.weights, incs, cfg, 0.3)
    assert list(edges.items()) == list(built.edges.items())
    assert list(core.items()) == list(built.core.items())


def test_values_that_are_nobodys_server_link_nothing() -> None:
    # a display name left where the address should be, common to unrelated spam runs
    assert list(_email("herzlichen glückwunsch!")) == [] and list(_email("europa")) == []
    assert list(_email("@evil-op.com")) == [] and list(_email("news@")) == []
    assert list(_email("news@evil-op.com")) == [
        ("email", "news@evil-op.com"),
        ("domain", "evil-op.com"),
    ]
    # a version number where a host should be; a private address is every network's own
    assert list(_host("1.2.3")) == [] and list(_url("https://1.2.3")) == []
    assert list(_host("10.0.0.1")) == [] and list(_host("192.168.1.1")) == []
    assert list(_host("8.8.8.8")) == [("ip", "8.8.8.8"), ("net24", "8.8.8.0/24")]
    assert ("ip", "8.8.8.8") in list(_url("http://8.8.8.8/x"))
