"""The correlation graph: normalised shared values, explained edges, and the over-correlation guard."""

from __future__ import annotations

from aptlink.link.features import (
    canonical_url,
    file_construction,
    observation_features,
    registered_domain,
)
from aptlink.link.graph import build_graph
from aptlink.model import Kind, Observation, Provenance


def test_values_are_normalised() -> None:
    assert registered_domain("Mail.Example.CO.JP.") == "example.co.jp"
    assert registered_domain("foo.duckdns.org") == "foo.duckdns.org"  # private suffix: one tenant
    assert canonical_url("HTTPS://Docs-JPForum.com:443/a?b=1#frag") == (
        "https://docs-jpforum.com/a?b=1",
        "docs-jpforum.com",
    )
    assert list(file_construction("参考資料.docx.lnk")) == [
        ("construction", "double extension .docx.lnk")
    ]
    prov = Provenance(file="x", sha256="0" * 64)

    def feats(kind: Kind, value: str) -> tuple:
        return observation_features(Observation(kind=kind, value=value, provenance=prov))

    assert feats(Kind.FILE_NAME, r"C:\Windows\System32\cmd.exe") == ()  # the system's own
    assert feats(Kind.HOSTNAME, "PC042.tenku-aero.local") == (("host", "pc042.tenku-aero.local"),)
    assert feats(Kind.IPV4, "10.0.0.5") == ()  # private addresses link nothing


def test_edge_reasons_count_what_is_shared(incident, kb) -> None:
    a = incident(
        "a",
        domain=["c2-one.net", "c2-two.net", "c2-three.net"],
        lure_theme="Japan-US alliance",
        impersonated="Prof. Sato",
    )
    b = incident(
        "b",
        when="2022-06-20",
        domain=["www.c2-one.net", "c2-two.net", "c2-three.net"],
        lure_theme="japan-us  alliance",
        impersonated="prof. sato",
    )
    graph = build_graph([a, b], kb)
    link = graph.link(0, 1)
    details = [r.detail for r in link.reasons]
    assert details[0].startswith("3 shared domains: c2-one.net, c2-three.net, c2-two.net")
    assert any(d.startswith("same impersonated sender") for d in details)
    assert any(d.startswith("same lure theme") for d in details)
    assert link.weight > 3.0


def test_warninglisted_values_carry_no_weight(incident, kb) -> None:
    a = incident("a", email="taro.fake@gmail.com", ipv4="8.8.8.8", url="https://onedrive.live.com")
    b = incident(
        "b", email="hanako.fake@gmail.com", ipv4="8.8.8.8", url="https://onedrive.live.com/"
    )
    graph = build_graph([a, b], kb)
    assert graph.edges == {}
    # gmail.com, 8.8.8.8, the bare OneDrive URL and its registered domain live.com
    assert graph.suppressed["warninglisted"] == 4


def test_a_specific_share_link_on_a_big_host_still_counts(incident, kb) -> None:
    url = "https://onedrive.live.com/download?cid=ABC123&resid=XYZ"
    graph = build_graph([incident("a", url=url), incident("b", url=url)], kb)
    assert [r.code for r in graph.link(0, 1).reasons] == ["shared:url"]


def test_generic_techniques_and_victim_traits_make_no_edge(incident, kb) -> None:
    common = {
        "techniques": ("T1059.001", "T1105", "T1082"),
        "sector": "government",
        "country": "japan",
    }
    graph = build_graph([incident("a", **common), incident("b", **common)], kb)
    assert graph.edges == {}


def test_over_correlated_value_is_dropped(incident, kb) -> None:
    shared = [
        incident(f"i{n}", ipv4="45.32.13.180", when=f"2022-01-{n % 28 + 1:02d}") for n in range(160)
    ]
    graph = build_graph(shared, kb)
    assert graph.edges == {}
    assert graph.suppressed["over-correlated"] >= 1


def test_cost_of_a_wide_value_is_bounded(incident, kb) -> None:
    # 60 incidents sharing one domain: time-neighbour links, not 60*59/2 pairs
    shared = [
        incident(f"i{n}", domain="c2-wide.net", when=f"2022-{n % 12 + 1:02d}-01") for n in range(60)
    ]
    graph = build_graph(shared, kb, min_weight=0.0)
    assert 0 < len(graph.edges) <= 60 * 4


def test_similar_fuzzy_hashes_link(incident, kb) -> None:
    a = "1536:Jd3fRtZkX9cQpLmN0aBcDeFgHiJkLmNoPqRsTuVwXyZ12345678:Jd3fRtZkX9cQpLmN"
    b = "1536:Jd3fRtZkX9cQpLmN0aBcDeFgHiJkLmNoPqRsTuVwXyZ1234QQQQ:Jd3fRtZkX9cQpQQQ"
    graph = build_graph([incident("a", fuzzy_hash=a), incident("b", fuzzy_hash=b)], kb)
    (reason,) = graph.link(0, 1).reasons
    assert reason.code == "shared:fuzzy-gram" and reason.detail.startswith(
        "41 fuzzy-hash 7-grams in common"
    )
    assert graph.link(0, 1).weight >= 1.0


def test_documentation_domains_link_nothing() -> None:
    """no-reply@example.com is a redaction placeholder or a mailer's default, nobody's server."""
    prov = Provenance(file="m.eml", sha256="0" * 64)
    for kind, value in (
        (Kind.EMAIL, "no-reply@example.com"),
        (Kind.URL, "https://www.example.org/login"),
        (Kind.DOMAIN, "mail.example.net"),
    ):
        assert observation_features(Observation(kind=kind, value=value, provenance=prov)) == ()
    kept = observation_features(
        Observation(kind=Kind.EMAIL, value="a@example.co.jp", provenance=prov)
    )
    assert ("domain", "example.co.jp") in kept
