"""The run summary: attributed campaigns come first, however many spam campaigns are larger."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import case_factory

from aptlink import casework, pipeline
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


def test_an_investigation_links_the_case_once(tmp_path: Path, monkeypatch) -> None:
    # the run's findings are added to the store and the whole case is grouped, linked and
    # attributed once; the run is not linked on its own first
    calls = []
    real = pipeline.analyse
    monkeypatch.setattr(pipeline, "analyse", lambda case, kb: calls.append(1) or real(case, kb))
    evidence = tmp_path / "mail.eml"
    evidence.write_bytes(
        b"From: Tanaka <expert.tanaka@gmail.com>\r\nTo: a@b.example.jp\r\nSubject: panel\r\n\r\nhi\r\n"
    )
    summary = casework.run_investigation([evidence], tmp_path / "case", None)
    assert calls == [1]
    assert set(summary["run"]["timings"]) == {"parse", "detect", "link"}


def test_the_summary_says_when_a_campaign_hangs_on_incidents() -> None:
    case = case_factory.case()
    first = case.campaigns[0]
    extra = {"joints": [{"incident": first.incident_ids[0], "parts": [7, 6]}], "joint_count": 1}
    case.campaigns = [dataclasses.replace(first, extra=extra), *case.campaigns[1:]]
    text = casework.render_summary(summarise(case, reports=[]))
    assert "hangs on 1 incident(s): without one of them it falls apart" in text
