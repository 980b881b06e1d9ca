"""Reasons name software as the campaign's own evidence names it, even when another campaign with
the same capability (the same software under another alias) was explained first."""

from __future__ import annotations

from typing import Any

from linkkb import FakeKB

from aptlink.link.attribute import attribute
from aptlink.link.campaigns import link_incidents


class AliasKB(FakeKB):
    """Knows that Sogu is PlugX."""

    def software(self, name: str) -> dict[str, Any] | None:
        return {"name": "PlugX"} if name.lower() in ("plugx", "sogu") else None


def test_each_campaign_keeps_its_own_name_for_the_software(incident) -> None:
    kb = AliasKB()
    techniques = ("T1574.001", "T1090", "T1021.001")
    incidents = [
        incident("by-plugx", when="2015-01-01", victim="a", techniques=techniques, malware="PlugX"),
        incident("by-sogu", when="2023-06-01", victim="b", techniques=techniques, malware="Sogu"),
    ]
    campaigns = link_incidents(incidents, kb)
    assert len(campaigns) == 2
    named = {}
    for attribution in attribute(campaigns, incidents, kb):
        if attribution.actor == "menuPass":
            reasons = [r.detail for r in attribution.evidence if r.code == "capability:software"]
            named[attribution.campaign_id] = reasons
    by_campaign = {c.id: {i.title for i in incidents if i.id in c.incident_ids} for c in campaigns}
    wording = {frozenset(by_campaign[c]): r for c, r in named.items()}
    assert all(d.startswith("PlugX ") for d in wording[frozenset({"by-plugx"})])
    assert all(d.startswith("Sogu ") for d in wording[frozenset({"by-sogu"})])
    assert all(wording.values())
