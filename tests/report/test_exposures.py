"""The exposures section: vulnerable devices are listed as open (no attack on the organisation, patch,
not attributed) or attached (the incident they likely let in), in every report and the summary."""

from __future__ import annotations

import dataclasses

import case_factory as cf
import pytest

from aptlink import casework
from aptlink.model import Finding, Kind, Observation, Provenance
from aptlink.pipeline import CaseResult
from aptlink.report import exposures, html, jsonreport, markdown

INV = Provenance(file="edge/inventory.csv", sha256="3" * 64, record="line 7", chain=("inventory",))


def open_exposure() -> Finding:
    return Finding(
        detector="exposure",
        title="gw01: ArrayOS AG 9.4.0.481 has 1 exploited CVE(s)",
        severity="critical",
        score=100,
        provenance=INV,
        techniques=("T1190",),
        observations=(Observation(kind=Kind.CVE, value="CVE-2023-28461", provenance=INV),),
        group_key="asset:gw01",
        victim="Quiet Institute",
        extra={
            "exposure": {
                "asset": "gw01",
                "vendor": "Array Networks",
                "product": "ArrayOS AG",
                "version": "9.4.0.481",
                "exposure": "internet",
                "cves": [
                    {
                        "cve": "CVE-2023-28461",
                        "kev_date_added": "2024-11-25",
                        "ransomware_use": False,
                        "actors": ["MirrorFace"],
                        "fixed": ["9.4.0.484"],
                    }
                ],
                "actions": ["Upgrade ArrayOS AG to 9.4.0.484 or later."],
            }
        },
    )


@pytest.fixture
def case() -> CaseResult:
    base = cf.case()
    return dataclasses.replace(base, findings=[*base.findings, open_exposure()])


def test_rows_tell_open_from_attached(case: CaseResult) -> None:
    rows = exposures.rows(case)
    assert [(r["asset"], r["status"]) for r in rows] == [
        ("gw01", "open"),
        ("FortiOS 7.0.11 exposed to CVE-2023-27997", "attached"),
    ]
    gw = rows[0]
    assert gw["organisation"] == "Quiet Institute" and gw["incident"] is None
    assert gw["cves"][0]["cve"] == "CVE-2023-28461" and gw["cves"][0]["actors"] == ["MirrorFace"]
    assert gw["product"] == "Array Networks ArrayOS AG 9.4.0.481"
    attached = rows[1]
    assert attached["incident"] in {i.id for i in case.incidents}
    assert exposures.counts(case) == {"exposures": 2, "open_exposures": 1}


def test_markdown_and_html_list_exposures(case: CaseResult) -> None:
    text = markdown.render(case, None)
    assert "## Exposures" in text and "open exposures 1;" in text
    row = next(line for line in text.splitlines() if "`gw01`" in line)
    assert row.startswith("| open |")
    assert "CVE-2023-28461 (2024-11-25; MirrorFace)" in row
    assert "Upgrade ArrayOS AG to 9.4.0.484 or later." in row
    assert "| attached to incident--" in text
    page = html.render(case, None)
    assert '<h2 id="exposures">Exposures</h2>' in page and "<code>gw01</code>" in page


def test_json_report_and_summary(case: CaseResult) -> None:
    data = jsonreport.as_dict(case)
    assert data["summary"]["open_exposures"] == 1
    assert [e["asset"] for e in data["exposures"]] == [
        "gw01",
        "FortiOS 7.0.11 exposed to CVE-2023-27997",
    ]
    summary = casework.summarise(case, reports=[])
    assert [e["asset"] for e in summary["exposures"]] == ["gw01"]
    text = casework.render_summary(summary)
    assert "open exposures 1" in text
    assert (
        "  - gw01 at Quiet Institute: Array Networks ArrayOS AG 9.4.0.481: CVE-2023-28461" in text
    )
    assert any("Array AG" in m["title"] for m in summary["measures"])  # the open one needs a patch


def test_no_exposures_section_rows_without_inventory() -> None:
    case = cf.case()
    case = dataclasses.replace(
        case, findings=[f for f in case.findings if f.detector != "exposure"]
    )
    assert exposures.rows(case) == []
    assert "No vulnerable devices in the case's inventories." in markdown.render(case, None)
