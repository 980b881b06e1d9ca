"""`aptlink link` on an unchanged case gives the same campaigns, with the same ids."""

from __future__ import annotations

import json
from pathlib import Path

from aptlink.casework import rerun, run_investigation


def grouping(n: int, domain: str, ip: str) -> dict:
    return {
        "type": "grouping",
        "id": f"grouping--{n}",
        "name": f"reported intrusion {n}",
        "context": "suspicious-activity",
        "object_refs": [f"indicator--{n}"],
    }


def indicator(n: int, domain: str, ip: str) -> dict:
    return {
        "type": "indicator",
        "id": f"indicator--{n}",
        "pattern": f"[domain-name:value = '{domain}'] OR [ipv4-addr:value = '{ip}']",
        "pattern_type": "stix",
        "valid_from": f"2023-0{n}-01T00:00:00Z",
    }


def test_relinking_an_unchanged_case_keeps_campaign_ids(tmp_path: Path) -> None:
    specs = [
        (1, "c2-kasha.net", "45.32.13.180"),
        (2, "c2-kasha.net", "103.175.16.39"),
        (3, "other.org", "5.8.95.174"),
    ]
    objects = [f(*s) for s in specs for f in (grouping, indicator)]
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "isac.json").write_text(
        json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects})
    )
    case = tmp_path / "case"
    run_investigation([evidence], case, None)

    def campaigns() -> list[tuple[str, tuple[str, ...]]]:
        report = json.loads((case / "report.json").read_text())
        return sorted((c["id"], tuple(c["incident_ids"])) for c in report["campaigns"])

    first = campaigns()
    assert sorted(len(ids) for _, ids in first) == [1, 2]
    rerun(case, None, stage="link")
    assert campaigns() == first
    rerun(case, None, stage="link")
    assert campaigns() == first
