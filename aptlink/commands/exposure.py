"""The `aptlink exposure` command: an inventory's edge devices against exploited (CISA KEV) CVEs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from aptlink.errors import ConfigError, UnsupportedEvidence

STATUS_ORDER = (
    "vulnerable",
    "unparseable-version",
    "no-version",
    "unknown-product",
    "check-by-hand",
    "not-affected",
)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command(name="exposure")(exposure)


def exposure(
    inventory: Annotated[Path, typer.Argument(help="inventory CSV or CycloneDX JSON")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    kev: Annotated[
        Path | None,
        typer.Option(
            "--kev", envvar="APTLINK_KEV", help="CISA KEV catalogue JSON (default: packaged)"
        ),
    ] = None,
    nvd: Annotated[
        Path | None,
        typer.Option(
            "--nvd",
            envvar="APTLINK_NVD_RANGES",
            help="NVD CVE API 2.0 JSON with CPE configurations (default: kb sync cache)",
        ),
    ] = None,
) -> None:
    """Which edge devices run a version with a known exploited vulnerability, and what to do."""
    result = run_exposure(inventory, kev, nvd)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print(result)


def run_exposure(
    inventory: Path, kev: Path | None = None, nvd: Path | None = None
) -> dict[str, Any]:
    """Parse the inventory and assess every asset; the result as plain JSON types."""
    from aptlink.cli import load_kb
    from aptlink.evidence.base import ParseContext, Source, choose_parser
    from aptlink.evidence.inventory import CycloneDxInventoryParser, InventoryCsvParser
    from aptlink.exposure.assess import Assessor, Asset
    from aptlink.exposure.catalogue import default_nvd_path, load_catalogue
    from aptlink.kb.kev import load_kev

    if not inventory.is_file():
        raise ConfigError("no such inventory file", str(inventory))
    source, ctx = Source(inventory), ParseContext()
    parser = choose_parser(source)
    if parser not in (InventoryCsvParser, CycloneDxInventoryParser):
        raise UnsupportedEvidence("not an inventory CSV or CycloneDX JSON", str(inventory))
    assert parser is not None
    assets = [a for item in parser().parse(source, ctx) for a in item.data if isinstance(a, Asset)]
    catalogue = load_catalogue(nvd_path=nvd or default_nvd_path())
    kev_catalogue = load_kev(kev)
    reports = Assessor(kev=kev_catalogue, catalogue=catalogue, kb=load_kb(None)).assess_all(assets)
    rows = [r.to_dict() for r in reports]
    return {
        "inventory": str(inventory),
        "kev": {
            "version": kev_catalogue.version,
            "source": kev_catalogue.source,
            "count": len(kev_catalogue),
        },
        "summary": _summary(rows),
        "assets": rows,
        "warnings": [{"where": w.where, "message": w.message} for w in ctx.warnings],
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = {status: 0 for status in STATUS_ORDER}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    counts["assets"] = len(rows)
    return counts


def _print(result: dict[str, Any]) -> None:
    from aptlink.cli import out

    kev = result["kev"]
    out.print(
        f"{result['inventory']}: {result['summary']['assets']} asset(s); KEV {kev['version']} ({kev['count']} CVEs)"
    )
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    for row in sorted(result["assets"], key=lambda r: (order.get(r["status"], 9), r["asset"])):
        _print_asset(row)
    for w in result["warnings"]:
        out.print(f"warning: {w['message']} ({w['where']})", markup=False)
    summary = ", ".join(f"{k} {v}" for k, v in result["summary"].items() if k != "assets" and v)
    out.print(f"summary: {summary}", markup=False)


def _print_asset(row: dict[str, Any]) -> None:
    from aptlink.cli import out

    label = f"{row['asset']} [{row['exposure']}] {row['vendor']} {row['product']} {row['version']}"
    out.print(f"\n{row['status'].upper():<20} {label}", markup=False)
    if row["reason"]:
        out.print(f"  {row['reason']}", markup=False)
    for cve in row["cves"]:
        actors = ", ".join(cve["actors"]) or "-"
        ransom = "yes" if cve["ransomware_use"] else "unknown"
        fixed = " / ".join(cve["fixed"]) or "no fix on this branch"
        out.print(
            f"  {cve['cve']}  KEV {cve['kev_date_added']}  ransomware: {ransom}  actors: {actors}  "
            f"affected {cve['affected_range']}  fixed: {fixed}",
            markup=False,
        )
    for action in row["actions"]:
        out.print(f"  - {action}", markup=False)
