"""Attribution shares work between campaigns that show the same scored facts (one ranking per
distinct profile, reasons recorded once per actor): a campaign's candidates must not depend on
which other campaigns were attributed in the same run."""

from __future__ import annotations

from linkkb import FakeKB

from aptlink.link.actorindex import build_index
from aptlink.link.attribute import attribute, lure_in, lure_phrases_in, profile_of
from aptlink.link.campaigns import link_incidents
from aptlink.link.features import load_config
from aptlink.model import Incident, Kind

MIRRORFACE = ("T1566.001", "T1221", "T1574.001", "T1564.006")


def varied(incident) -> list[Incident]:  # type: ignore[no-untyped-def]
    """Incidents alike in techniques and software, each differing in one other scored fact."""
    same = {
        "techniques": MIRRORFACE,
        "malware": "LODEINFO",
        "sector": "government",
        "country": "japan",
    }
    return [
        incident("base", domain="a1.example", **same),
        incident("twin", domain="a2.example", **same),
        incident("year", when="2012-03-01", domain="a3.example", **same),
        incident("sector", domain="a4.example", **{**same, "sector": "finance"}),
        incident("country", domain="a5.example", **{**same, "country": "brazil"}),
        incident("lure", domain="a6.example", subject="On the Japan-US alliance", **same),
        incident("infra", domain="cloud-jaxsync.net", **same),
        incident("cve", domain="a8.example", cve="CVE-2023-28461", **same),
        incident("impact", domain="a9.example", **{**same, "techniques": (*MIRRORFACE, "T1486")}),
        incident("intel", domain="evil.example", **same),
    ]


def kb_with_intel() -> FakeKB:
    return FakeKB(iocs={"evil.example": [{"actor": "menuPass", "confidence": 80}]})


def as_rows(atts) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [
        (a.campaign_id, a.actor, a.rank, a.confidence, a.attributed, a.evidence, a.against)
        for a in atts
    ]


def test_a_campaign_ranks_the_same_alone_and_among_others(incident) -> None:
    kb = kb_with_intel()
    incidents = varied(incident)
    campaigns = link_incidents(incidents, kb)
    together = as_rows(attribute(campaigns, incidents, kb))
    alone = [r for c in campaigns for r in as_rows(attribute([c], incidents, kb))]
    assert sorted(together, key=str) == sorted(alone, key=str)
    assert len({r[0] for r in together}) >= 8  # the facts kept the incidents apart


def test_campaigns_differing_in_one_fact_differ_in_their_reasons(incident) -> None:
    kb = kb_with_intel()
    incidents = varied(incident)
    campaigns = link_incidents(incidents, kb)
    by_title = {}
    for c in campaigns:
        titles = {i.title for i in incidents if i.id in c.incident_ids}
        by_title.update(dict.fromkeys(titles, c.id))
    atts = attribute(campaigns, incidents, kb)
    top = {a.campaign_id: a for a in atts if a.rank == 1}
    codes = {t: {r.code for r in (*top[c].evidence, *top[c].against)} for t, c in by_title.items()}
    assert top[by_title["twin"]].evidence == top[by_title["base"]].evidence
    assert "adversary:lure-theme" in codes["lure"] and "adversary:lure-theme" not in codes["base"]
    assert "infrastructure:known" in codes["infra"]
    assert "capability:cve" in codes["cve"]
    assert "adversary:active-years-outside" in codes["year"]
    assert "victim:sector-outside" in codes["sector"]
    assert "victim:country-outside" in codes["country"]
    [intel] = [a for a in atts if a.campaign_id == by_title["intel"] and a.actor == "menuPass"]
    assert "infrastructure:intel-ioc" in {r.code for r in intel.evidence}


def test_lure_phrases_found_as_one_text_at_a_time() -> None:
    index = build_index(FakeKB())
    texts = {"re: japan-us alliance", "taiwan", "strait and more"}
    found = lure_phrases_in(texts, index)
    assert found == {p for p in index.lure_phrases if lure_in(p, texts)}
    assert found == {"japan-us alliance"}  # "taiwan strait" spans two texts: not found
    assert lure_phrases_in(set(), index) == frozenset()


def test_profile_of_reads_every_kind_in_one_pass(incident) -> None:
    kb = FakeKB()
    inc = incident(
        "p",
        techniques=("T1486",),
        malware=("LODEINFO", "lodeinfo"),
        tool="PsExec",
        url="https://mail.cloud-jaxsync.net/x",
        email="a@b.example",
        sector="Government",
        country="JP",
        cve="cve-2023-28461",
        subject="Hello",
        file_name="Invite.docx",
        lure_theme="Alliance",
        command_line="cmd /c whoami",
    )
    [campaign] = link_incidents([inc], kb)
    prof = profile_of(campaign, [inc], build_index(kb))
    obs = inc.observations
    assert prof.software == {"lodeinfo": "lodeinfo", "psexec": "PsExec"}  # the last name wins
    assert prof.indicators == {
        "https://mail.cloud-jaxsync.net/x",
        "mail.cloud-jaxsync.net",
        "cloud-jaxsync.net",
        "a@b.example",
        "b.example",
        "Invite.docx",
    }
    assert prof.texts == {"hello", "invite.docx", "alliance"}
    assert prof.sectors == {"government"} and prof.countries == {"jp"}
    assert prof.cves == {"CVE-2023-28461"} and prof.lures == {"alliance"}
    assert prof.impact == {"T1486"} & load_config().commodity_techniques
    assert prof.techniques >= {o.value for o in obs if o.kind is Kind.TECHNIQUE} | {"T1486"}
