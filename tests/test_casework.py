"""The run summary: attributed campaigns come first, however many spam campaigns are larger."""

from __future__ import annotations

import dataclasses

import case_factory

from aptlink.casework import campaign_digest, summarise


def test_attributed_campaigns_lead_the_summary() -> None:
    case = case_factory.case()
    named, other = case.campaigns
    big = dataclasses.replace(other, incident_ids=tuple(f"incident--{n}" for n in range(40)))
    case.campaigns = [named, big]
    digest = campaign_digest(case)
    assert [d["incidents"] for d in digest] == [2, 40]
    assert any(a["attributed"] for a in digest[0]["actors"])


def test_the_summary_lists_rank_one_candidates_strongest_first() -> None:
    case = case_factory.case()
    case.attributions = list(reversed(case.attributions))
    confidences = [a["confidence"] for a in summarise(case, reports=[])["attributions"]]
    assert confidences == sorted(confidences, reverse=True) and confidences
