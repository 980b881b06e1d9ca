"""The run summary: attributed campaigns come first, however many spam campaigns are larger."""

from __future__ import annotations

import dataclasses

import case_factory

from aptlink.casework import campaign_digest


def test_attributed_campaigns_lead_the_summary() -> None:
    case = case_factory.case()
    named, other = case.campaigns
    big = dataclasses.replace(other, incident_ids=tuple(f"incident--{n}" for n in range(40)))
    case.campaigns = [named, big]
    digest = campaign_digest(case)
    assert [d["incidents"] for d in digest] == [2, 40]
    assert any(a["attributed"] for a in digest[0]["actors"])
