"""The exposure detector in the pipeline, and the `aptlink exposure` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aptlink import pipeline
from aptlink.cli import _register_subcommands, app
from aptlink.commands.exposure import run_exposure
from aptlink.detect.exposure import ExposureDetector
from aptlink.model import Kind, Severity

DATA = Path(__file__).resolve().parents[1] / "data" / "exposure"


def test_one_finding_per_exposed_asset_with_t1190(shared: Path) -> None:
    kev = shared / "kev" / "known_exploited_vulnerabilities.json"
    result = pipeline.investigate(
        [DATA / "mirrorface-vulnerable.csv"], None, options={"kev": str(kev)}
    )
    findings = sorted(
        (f for f in result.findings if f.detector == ExposureDetector.name),
        key=lambda f: f.group_key or "",
    )
    assert [f.group_key for f in findings] == [
        "asset:array-ag-01",
        "asset:files-01",
        "asset:vpn-gw-01",
    ]
    for f in findings:
        assert f.techniques == ("T1190",)
        assert f.severity is Severity.CRITICAL  # internet-facing, exploited by a named actor
        assert f.victim == "Example Semiconductor"
    cves = {o.value for f in findings for o in f.observations if o.kind is Kind.CVE}
    assert {"CVE-2023-27997", "CVE-2023-28461", "CVE-2023-45727"} <= cves
    array = findings[0]
    assert {o.kind for o in array.observations} >= {Kind.CVE, Kind.ASSET, Kind.PRODUCT}
    assert array.provenance.record == "line 3"
    assert array.extra["exposure"]["cves"][0]["actors"] == ["MirrorFace"]
    # a condition, not an attack: with no intrusion in the case it is an open exposure, no incident
    assert result.incidents == [] and result.campaigns == []


def test_internal_assets_get_t1210_and_lower_severity(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(
        "asset,vendor,product,version,exposure,role\nbigip,F5,BIG-IP,16.1.2.1,internal,adc\n"
    )
    [finding] = [f for f in pipeline.investigate([path], None).findings if f.detector == "exposure"]
    assert finding.techniques == ("T1210",)
    assert finding.severity is Severity.MEDIUM  # internal, but KEV records ransomware use


def test_unknown_products_and_bad_versions_become_warnings() -> None:
    result = pipeline.investigate([DATA / "mixed.csv"], None)
    messages = [w.message for w in result.warnings]
    assert any("printer: unknown-product" in m for m in messages)
    assert any("fgt-odd: unparseable-version" in m for m in messages)
    assert any("nover: no-version" in m for m in messages)
    assert len([f for f in result.findings if f.detector == "exposure"]) == 6


def test_run_exposure_json(shared: Path) -> None:
    kev = shared / "kev" / "known_exploited_vulnerabilities.json"
    result = run_exposure(DATA / "mixed.csv", kev)
    assert result["kev"]["count"] == 1404
    assert result["summary"] == {
        "vulnerable": 6,
        "unparseable-version": 1,
        "no-version": 1,
        "unknown-product": 1,
        "check-by-hand": 1,  # Cisco ASA: KEV lists CVEs that no curated range covers
        "not-affected": 0,
        "assets": 10,
    }
    assert result["warnings"][0]["message"] == "row without asset; skipped"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register_subcommands()
    return CliRunner()


def test_command_prints_json(runner: CliRunner) -> None:
    done = runner.invoke(app, ["exposure", str(DATA / "sjis.csv"), "--json"])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert [a["asset"] for a in doc["assets"]] == ["本社VPN", "大阪ファイル"]
    assert "CVE-2023-27997" in [c["cve"] for c in doc["assets"][0]["cves"]]
    assert "CP932" in doc["warnings"][0]["message"]


def test_command_prints_text(runner: CliRunner) -> None:
    done = runner.invoke(app, ["exposure", str(DATA / "mirrorface-patched.csv")])
    assert done.exit_code == 0, done.output
    assert "CVE-2023-27997" not in done.output
    assert "CVE-2024-21762" in done.output  # FortiOS 7.2.5 is still affected (fixed in 7.2.7)
    assert "summary: vulnerable 1, not-affected 2" in done.output


def test_command_errors_name_the_file(tmp_path: Path) -> None:
    from aptlink.cli import main

    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    for path in (other, tmp_path / "absent.csv"):
        with pytest.raises(SystemExit) as info:
            main(["exposure", str(path)])
        assert info.value.code == 2


def test_command_reads_cyclonedx(runner: CliRunner, tmp_path: Path) -> None:
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [
            {
                "type": "firmware",
                "name": "ArrayOS AG",
                "publisher": "Array Networks",
                "version": "9.4.0.481",
                "properties": [
                    {"name": "aptlink:asset", "value": "ag-01"},
                    {"name": "aptlink:exposure", "value": "internet"},
                ],
            }
        ],
    }
    path = tmp_path / "edge.cdx.json"
    path.write_text(json.dumps(bom))
    done = runner.invoke(app, ["exposure", str(path), "--json"])
    assert done.exit_code == 0, done.output
    [asset] = json.loads(done.output)["assets"]
    assert asset["asset"] == "ag-01" and asset["status"] == "vulnerable"
    assert [c["cve"] for c in asset["cves"]] == ["CVE-2023-28461"]
