"""`aptlink exposure` as an analyst runs it: large inventories, repeated assets, files that are not
inventories (each error names the file, the header line and what is missing)."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aptlink.cli import _register_subcommands, app
from aptlink.commands.exposure import assess_inventory, run_exposure, write_json

DATA = Path(__file__).resolve().parents[1] / "data" / "exposure"
HEADER = "asset,vendor,product,version,exposure,role\n"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register_subcommands()
    return CliRunner()


def test_streamed_json_is_the_document(runner: CliRunner) -> None:
    for name in ("mixed.csv", "sjis.csv", "mirrorface-vulnerable.csv"):
        done = runner.invoke(app, ["exposure", str(DATA / name), "--json"])
        assert done.exit_code == 0, done.output
        expected = json.dumps(run_exposure(DATA / name), ensure_ascii=False, indent=2)
        assert done.stdout == expected + "\n"


def test_streamed_json_of_an_inventory_with_no_asset(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(HEADER)
    sink = io.StringIO()
    write_json(assess_inventory(path), sink)
    assert json.loads(sink.getvalue()) == run_exposure(path)
    assert sink.getvalue() == json.dumps(run_exposure(path), indent=2) + "\n"


class _Count(io.TextIOBase):
    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def test_json_is_written_asset_by_asset(tmp_path: Path) -> None:
    # Before 2026-11-26 the whole document was one string: 100,000 FortiGates took 1.47 GB (peak RSS)
    # for a 253 MB answer; streamed, 260 MB.
    path = tmp_path / "many.csv"
    rows = (f"fw{i},Fortinet,FortiGate 60F,7.2.{i % 9},internet,vpn\n" for i in range(3000))
    path.write_text(HEADER + "".join(rows))
    result = assess_inventory(path)
    sink = _Count()
    tracemalloc.start()
    try:
        write_json(result, sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.chars > 5_000_000
    assert peak < sink.chars / 20


def test_a_repeated_asset_is_a_warning_naming_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        HEADER
        + "vpn-gw-01,Fortinet,FortiOS,7.2.4,internet,vpn\n"
        + "array,Array Networks,Array AG,9.4.0.484,internet,vpn\n"
        + "vpn-gw-01,Fortinet,FortiOS,7.2.4,internet,vpn\n"
        + "VPN-GW-01,Fortinet,FortiOS,7.2.5,internet,vpn\n"
    )
    result = run_exposure(path)
    assert result["summary"]["assets"] == 4  # nothing dropped ...
    assert result["warnings"] == [  # ... but the analyst is told
        {
            "where": f"{path}:4",
            "message": "asset 'vpn-gw-01' listed again (first at line 2: Fortinet FortiOS "
            "'7.2.4'); both are assessed",
        },
        {
            "where": f"{path}:5",
            "message": "asset 'VPN-GW-01' listed again with version '7.2.5' (first at line 2: "
            "Fortinet FortiOS '7.2.4'); both are assessed",
        },
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# export 2026-11-26\nHost Name,Maker,Model,Serial\nfw,Fortinet,FortiGate,FG1\n",
            "the header (line 2) has no column for version (accepted names, any case or spacing: version: "
            "version, firmware,",
        ),
        (
            "asset,vendor,product,exposure\nfw,Fortinet,FortiOS,internet\n",
            "has no column for version",
        ),
        ("hello\n", "has no column for asset, vendor, product, version"),
        ('{"a": 1}\n', "not an inventory CSV (no header line) or CycloneDX JSON"),
    ],
)
def test_not_an_inventory_says_what_is_missing(
    runner: CliRunner, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(text, encoding="utf-8")
    done = runner.invoke(app, ["exposure", str(path)])
    assert done.exit_code != 0
    # Before 2026-11-26 every case was 'not an inventory CSV or CycloneDX JSON', nothing more.
    assert expected in str(done.exception)
    assert str(path) in getattr(done.exception, "where", "")


def test_utf16_text_is_named(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "excel-unicode.csv"
    path.write_bytes((HEADER + "fw,Fortinet,FortiOS,7.2.4,internet,vpn\n").encode("utf-16"))
    done = runner.invoke(app, ["exposure", str(path)])
    assert "UTF-16 text; save it as CSV UTF-8" in str(done.exception)


def test_table_tells_what_to_do(runner: CliRunner) -> None:
    done = runner.invoke(app, ["exposure", str(DATA / "mirrorface-vulnerable.csv")])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    fortios = next(line for line in lines if line.startswith("  CVE-2023-27997"))
    assert fortios == (
        "  CVE-2023-27997  KEV 2023-06-13  ransomware: yes  actors: MirrorFace  "
        "affected >= 7.2.0, < 7.2.5  fixed: 7.2.5"
    )
    assert "  - Upgrade FortiOS to 7.2.7 or later: the lowest fixed release that fixes all 3 exploited CVE(s) found and is in no other exploited CVE's range here." in lines  # fmt: skip
    assert lines[-1] == "summary: vulnerable 3"


def test_column_names_with_spaces_as_asset_exports_write_them(tmp_path: Path) -> None:
    # Before 2026-11-26: 'not an inventory CSV or CycloneDX JSON'.
    path = tmp_path / "export.csv"
    path.write_text(
        '\ufeff"Asset Name";"Vendor Name";"Product Name";"Software Version";"Exposure"\r\n'
        '"vpn-gw-01";"Fortinet";"FortiGate 60F";"FortiOS v7.2.4 build1396";"Internet"\r\n'
        '"ag-01";"Array Networks";"Array AG";"9.4.0.481";"DMZ"\r\n',
        encoding="utf-8",
    )
    result = run_exposure(path)
    assert [(a["asset"], a["exposure"], a["status"]) for a in result["assets"]] == [
        ("vpn-gw-01", "internet", "vulnerable"),
        ("ag-01", "internet", "vulnerable"),
    ]
    assert result["warnings"] == []


@pytest.mark.parametrize(
    "component",
    [
        # CycloneDX 1.5/1.6 from scanners: a package URL or a CPE 2.2 URI, no 'version' field. Before
        # 2026-11-26 both were 'no-version' (and the purl one had no vendor).
        {
            "type": "firmware",
            "name": "arrayos-ag",
            "purl": "pkg:generic/arraynetworks/arrayos_ag@9.4.0.481",
        },
        {
            "type": "firmware",
            "name": "ArrayOS AG",
            "cpe": "cpe:/o:arraynetworks:arrayos_ag:9.4.0.481",
        },
        {
            "type": "firmware",
            "name": "ArrayOS AG",
            "cpe": "cpe:2.3:o:arraynetworks:arrayos_ag:9.4.0.481:*:*:*:*:*:*:*",
        },
    ],
)
def test_cyclonedx_version_from_purl_or_cpe(tmp_path: Path, component: dict[str, str]) -> None:
    path = tmp_path / "edge.cdx.json"
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [component]}
    path.write_text(json.dumps(bom))
    [asset] = run_exposure(path)["assets"]
    assert (asset["vendor"], asset["version"]) == ("arraynetworks", "9.4.0.481")
    assert [c["cve"] for c in asset["cves"]] == ["CVE-2023-28461"]


def test_empty_file_and_folder_are_named(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "inventory.csv"
    empty.write_bytes(b"")
    done = runner.invoke(app, ["exposure", str(empty)])
    assert "the file is empty" in str(done.exception)
    done = runner.invoke(app, ["exposure", str(tmp_path)])
    assert "is a folder, not a file" in str(done.exception)  # was 'no such inventory file'


def test_cyclonedx_beyond_the_row_bound_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before 2026-11-26 a BOM of 150,000 components gave 100,000 assets and no warning at all.
    monkeypatch.setattr("aptlink.evidence.inventory.MAX_ROWS", 3)
    comps = [
        {
            "type": "firmware",
            "name": "FortiOS",
            "version": "7.2.4",
            "supplier": {"name": "Fortinet"},
            "properties": [{"name": "aptlink:asset", "value": f"fw{i}"}],
        }
        for i in range(5)
    ]
    path = tmp_path / "many.cdx.json"
    path.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": comps})
    )
    result = run_exposure(path)
    assert result["summary"]["assets"] == 3
    assert result["warnings"] == [
        {"where": str(path), "message": "5 components, more than 3; the rest is not read"}
    ]


def test_table_shows_control_characters_as_escapes(runner: CliRunner, tmp_path: Path) -> None:
    # A hostile BOM or export: ESC sequences (clear screen, set title) and a newline that forges a line.
    # Before 2026-11-26 the ESC bytes reached the terminal (rich strips BEL, BS, VT, FF and CR only).
    path = tmp_path / "edge.cdx.json"
    name = "fw\x1b[2J\x1b]0;owned\x07\nsummary: vulnerable 0\u202e"
    component = {
        "type": "firmware",
        "name": "FortiOS",
        "version": "7.2.4",
        "supplier": {"name": "Fortinet"},
        "properties": [{"name": "aptlink:asset", "value": name}],
    }
    path.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [component]})
    )
    done = runner.invoke(app, ["exposure", str(path)])
    assert done.exit_code == 0, done.output
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\u202e" not in done.stdout
    assert "fw\\x1b[2J\\x1b]0;owned\\x07\\nsummary: vulnerable 0\\u202e [unknown]" in done.stdout
    assert [line for line in done.stdout.splitlines() if line.startswith("summary:")] == [
        "summary: vulnerable 1"
    ]


def test_excel_separator_hint_line(tmp_path: Path) -> None:
    # Excel's 'sep=;' first line: before 2026-11-26 the file was 'not an inventory CSV'.
    path = tmp_path / "export.csv"
    path.write_text(
        "sep=;\nasset;vendor;product;version;exposure;role\nfw;Fortinet;FortiOS;7.2.4;internet;vpn\n"
    )
    [asset] = run_exposure(path)["assets"]
    assert (asset["record"], asset["status"]) == ("line 3", "vulnerable")


def test_json_names_the_upgrade_target(runner: CliRunner) -> None:
    done = runner.invoke(app, ["exposure", str(DATA / "mirrorface-vulnerable.csv"), "--json"])
    targets = {a["asset"]: a["upgrade_to"] for a in json.loads(done.stdout)["assets"]}
    assert targets == {"vpn-gw-01": "7.2.7", "array-ag-01": "9.4.0.484", "files-01": "5.63"}


def test_one_host_with_several_products_is_not_a_repeat(tmp_path: Path) -> None:
    path = tmp_path / "hosts.csv"
    path.write_text(
        HEADER
        + "srv01,Microsoft,Exchange Server 2019,15.2.1118.7,internet,mail\n"
        + "srv01,Atlassian,Confluence,7.13.6,internet,wiki\n"
    )
    assert run_exposure(path)["warnings"] == []
    bom = tmp_path / "edge.cdx.json"
    device = {
        "type": "device",
        "name": "edge-01",
        "version": "1",
        "components": [
            {
                "type": "firmware",
                "name": "Proself",
                "version": "5.61",
                "supplier": {"name": "North Grid"},
            }
        ],
    }
    bom.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [device]})
    )
    assert run_exposure(bom)["warnings"] == []
