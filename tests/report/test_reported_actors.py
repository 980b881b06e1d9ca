"""A partner's incident names its actor (a MISP threat-actor tag): the claim is shown beside the
verdict, in the run summary and the reports, and never scored for that incident."""

from __future__ import annotations

from pathlib import Path

from aptlink.casework import render_summary, run_investigation


def test_the_source_claim_is_shown_not_scored(shared: Path, tmp_path: Path) -> None:
    event = shared / "intel" / "eset" / "turla" / "misp-turla-comrat-v4-event.json"
    summary = run_investigation([event], tmp_path / "case", None)
    (campaign,) = summary["campaigns"]
    assert campaign["reported_as"] == ["Turla Group"]
    assert not any(a["attributed"] for a in campaign["actors"])
    text = render_summary(summary)
    assert "reported by its source as: Turla Group (a claim, not scored)" in text
    report = (tmp_path / "case" / "report.md").read_text("utf-8")
    assert "Reported by its source as: Turla Group (the source's claim" in report
