"""`aptlink link` on an unchanged case gives the same campaigns, with the same ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


def test_attribute_json_has_the_ach_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aptlink import cli

    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("APTLINK_ATTACK", raising=False)
    event = {
        "Event": {
            "uuid": "e1",
            "info": "LODEINFO spear-phishing",
            "date": "2022-06-28",
            "Attribute": [{"type": "domain", "value": "www.ninesmn.com"}],
            "Tag": [
                {"name": 'misp-galaxy:mitre-malware="LODEINFO - S9020"'},
                {"name": 'misp-galaxy:mitre-attack-pattern="Masquerade File Type - T1036.008"'},
            ],
        }
    }
    evidence = tmp_path / "event.json"
    evidence.write_text(json.dumps(event))
    case = str(tmp_path / "case")
    for args in (
        ["investigate", str(evidence), "--case", case],
        ["attribute", "--case", case, "--json"],
    ):
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            cli.main(args)
        assert done.value.code == 0
    data = json.loads(capsys.readouterr().out)
    (row,) = data["ach"]
    top = row["hypotheses"][0]
    assert top["rank"] == 1 and "capability" in top["for"]
    assert isinstance(top["against"], list)
