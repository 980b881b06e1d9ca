"""Inventory parsers: CSV (UTF-8, CP932, mixed, bad rows, truncated) and CycloneDX JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Source, choose_parser
from aptlink.evidence.inventory import CycloneDxInventoryParser, InventoryCsvParser
from aptlink.exposure.assess import Asset
from aptlink.model import Kind

DATA = Path(__file__).resolve().parents[1] / "data" / "exposure"
HEADER = "asset,vendor,product,version,exposure,role,organisation\n"


def parse(path: Path) -> tuple[Item, ParseContext]:
    source, ctx = Source(path), ParseContext()
    parser = choose_parser(source)
    assert parser is not None
    items = list(parser().parse(source, ctx))
    assert len(items) == 1
    return items[0], ctx


def assets(item: Item) -> list[Asset]:
    return list(item.data)


def test_csv_is_sniffed_by_header_and_read() -> None:
    path = DATA / "mirrorface-vulnerable.csv"
    assert choose_parser(Source(path)) is InventoryCsvParser
    item, ctx = parse(path)
    assert item.kind == "inventory"
    assert ctx.warnings == []
    found = assets(item)
    assert len(found) == 3
    assert found[1] == Asset(
        name="array-ag-01",
        vendor="Array Networks",
        product="ArrayOS AG",
        version="9.4.0.481",
        exposure="internet",
        role="ssl-vpn",
        organisation="Example Semiconductor",
        record="line 3",
    )
    kinds = [o.kind for o in item.observations]
    assert kinds.count(Kind.ASSET) == 3 and kinds.count(Kind.PRODUCT) == 3
    assert kinds.count(Kind.ORGANISATION) == 3
    assert item.observations[1].value == "Fortinet FortiGate 100F (FortiOS) 7.2.4"
    assert item.observations[0].provenance.record == "line 2"


def test_a_csv_without_the_header_is_not_an_inventory(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,email\nx,y\n")
    assert InventoryCsvParser.sniff(path.read_bytes(), path) == 0
    with pytest.raises(UnsupportedEvidence):
        list(InventoryCsvParser().parse(Source(path), ParseContext()))


def test_semicolons_bad_rows_and_exposure_words_are_warned_with_lines() -> None:
    item, ctx = parse(DATA / "mixed.csv")
    found = assets(item)
    assert len(found) == 10  # 11 rows; the one without an asset name is skipped with a warning
    assert [(w.where.rsplit(":", 1)[1], w.message) for w in ctx.warnings] == [
        ("11", "row without asset; skipped")
    ]
    assert {a.name: a.exposure for a in found}["zyxel"] == "internet"  # "dmz"


def test_unknown_exposure_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(HEADER + "fw,Fortinet,FortiOS,7.2.4,moon,vpn,\n")
    item, ctx = parse(path)
    assert assets(item)[0].exposure == "unknown"
    assert ctx.warnings[0].where.endswith("inv.csv:2")
    assert "unknown exposure 'moon'" in ctx.warnings[0].message


def test_shift_jis_inventory_is_read_with_one_warning() -> None:
    item, ctx = parse(DATA / "sjis.csv")
    assert [a.name for a in assets(item)] == ["本社VPN", "大阪ファイル"]
    assert assets(item)[0].organisation == "株式会社例示"
    assert len(ctx.warnings) == 1
    assert ctx.warnings[0].where.endswith("sjis.csv:2")
    assert "CP932" in ctx.warnings[0].message


def test_mixed_encodings_keep_utf8_lines_and_report_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    utf8 = "東京VPN,Fortinet,FortiOS,7.2.4,internet,vpn,\n".encode()
    sjis = "大阪VPN,Fortinet,FortiOS,7.0.1,internet,vpn,\n".encode("cp932")
    junk = b"\xff\xfe\xfd,Fortinet,FortiOS,7.0.1,internet,vpn,\n"
    path.write_bytes(HEADER.encode() + utf8 + sjis + junk)
    item, ctx = parse(path)
    assert [a.name for a in assets(item)] == ["東京VPN", "大阪VPN", "\ufffd\ufffd\ufffd"]
    places = sorted((w.where.rsplit(":", 1)[1], w.message) for w in ctx.warnings)
    assert places == [
        ("3", "1 line(s) not UTF-8, read as CP932 (Shift_JIS)"),
        ("4", "undecodable bytes at column 1; replaced"),
    ]


def test_truncated_csv_keeps_the_complete_rows(tmp_path: Path) -> None:
    data = (DATA / "mirrorface-vulnerable.csv").read_bytes()
    path = tmp_path / "truncated.csv"
    path.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 12])
    item, ctx = parse(path)
    assert [a.name for a in assets(item)] == ["vpn-gw-01", "array-ag-01"]
    # the file ends inside the third row ("files-01,No"): no product left, so a warning with its line
    assert [(w.where.rsplit(":", 1)[1], w.message) for w in ctx.warnings] == [
        ("4", "row without product; skipped")
    ]


def test_cyclonedx_components_become_assets(tmp_path: Path) -> None:
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {
            "component": {"name": "tokyo-dc", "type": "device"},
            "supplier": {"name": "Example Corp"},
            "properties": [{"name": "aptlink:exposure", "value": "internet"}],
        },
        "components": [
            {
                "type": "device",
                "bom-ref": "fw1",
                "name": "FortiGate",
                "supplier": {"name": "Fortinet"},
                "version": "7.2.4",
                "properties": [{"name": "aptlink:asset", "value": "edge-fw"}],
                "components": [
                    {
                        "type": "firmware",
                        "name": "Array AG",
                        "publisher": "Array Networks",
                        "version": "9.4.0.481",
                    }
                ],
            },
            {
                "type": "application",
                "name": "proself",
                "cpe": "cpe:2.3:a:northgrid:proself:5.61:*:*:*:*:*:*:*",
            },
            "not an object",
        ],
    }
    path = tmp_path / "inventory.cdx.json"
    path.write_text(json.dumps(bom))
    assert choose_parser(Source(path)) is CycloneDxInventoryParser
    item, ctx = parse(path)
    got = [
        (a.name, a.vendor, a.product, a.version, a.exposure, a.organisation) for a in assets(item)
    ]
    assert got == [
        ("edge-fw", "Fortinet", "FortiGate", "7.2.4", "internet", "Example Corp"),
        ("edge-fw", "Array Networks", "Array AG", "9.4.0.481", "internet", "Example Corp"),
        ("tokyo-dc", "northgrid", "proself", "5.61", "internet", "Example Corp"),
    ]
    assert [w.where.rsplit("#", 1)[1] for w in ctx.warnings] == ["components[2]"]


def test_corrupt_cyclonedx_is_corrupt_evidence(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text('{"bomFormat": "CycloneDX", "components": [')
    with pytest.raises(CorruptEvidence):
        list(CycloneDxInventoryParser().parse(Source(path), ParseContext()))


def test_a_row_the_csv_module_refuses_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    huge = b"A" * 200_000
    path.write_bytes(
        HEADER.encode()
        + b"fw1,Fortinet,FortiOS,7.2.4,internet,vpn,\n"
        + b'big,Fortinet,"'
        + huge
        + b'",7.2.4,internet,vpn,\n'
        + b"fw2,Fortinet,FortiOS,7.2.5,internet,vpn,\n"
    )
    item, ctx = parse(path)
    assert [a.name for a in assets(item)] == ["fw1", "fw2"]
    assert len(ctx.warnings) == 1
    assert ctx.warnings[0].where.endswith("hostile.csv:3")
    assert "field larger than field limit" in ctx.warnings[0].message


def test_japanese_header_and_exposure_words(tmp_path: Path) -> None:
    path = tmp_path / "台帳.csv"
    path.write_text(
        "ホスト名,メーカー,製品,バージョン,公開,用途,組織\n"
        "本社VPN,Fortinet,FortiOS,7.2.4,インターネット,VPN,例示商事\n"
        "社内FW,Fortinet,FortiOS,7.2.4,社内,FW,例示商事\n",
        encoding="utf-8-sig",
    )
    item, ctx = parse(path)
    assert ctx.warnings == []
    assert [(a.name, a.exposure, a.organisation) for a in assets(item)] == [
        ("本社VPN", "internet", "例示商事"),
        ("社内FW", "internal", "例示商事"),
    ]


def test_cyclonedx_describing_one_device(tmp_path: Path) -> None:
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {
            "component": {
                "type": "device",
                "name": "ArrayOS AG",
                "manufacturer": {"name": "Array Networks"},
                "version": "9.4.0.481",
                "properties": [{"name": "aptlink:asset", "value": "seiran-sslvpn"}],
            }
        },
    }
    path = tmp_path / "device.cdx.json"
    path.write_text(json.dumps(bom))
    item, ctx = parse(path)
    assert [(a.name, a.vendor, a.version) for a in assets(item)] == [
        ("seiran-sslvpn", "Array Networks", "9.4.0.481")
    ]
    assert ctx.warnings == []


def test_title_and_comment_lines_before_the_header(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "# asset export 2024-06-01\n\n"
        + HEADER
        + "fw1,Fortinet,FortiOS,7.2.4,internet,vpn,\n,x,y,1,,,\n"
    )
    assert choose_parser(Source(path)) is InventoryCsvParser
    item, ctx = parse(path)
    assert [(a.name, a.record) for a in assets(item)] == [("fw1", "line 4")]
    assert [w.where.rsplit(":", 1)[1] for w in ctx.warnings] == ["5"]
