"""The `aptlink exposure` command: an inventory's edge devices against exploited (CISA KEV) CVEs."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from aptlink.errors import ConfigError, UnsupportedEvidence

if TYPE_CHECKING:
    from aptlink.evidence.base import Parser, Source
    from aptlink.exposure.assess import Asset, AssetReport

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
    result = assess_inventory(inventory, kev, nvd)
    if as_json:
        write_json(result, sys.stdout)
    else:
        _print(result)


@dataclasses.dataclass(frozen=True, slots=True)
class ExposureRun:
    """One inventory assessed: its reports (in inventory order), the KEV used and the warnings."""

    inventory: str
    kev: dict[str, Any]
    reports: list[AssetReport]
    warnings: list[dict[str, str]]

    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUS_ORDER}
        for report in self.reports:
            counts[report.status] = counts.get(report.status, 0) + 1
        counts["assets"] = len(self.reports)
        return counts

    def head(self) -> dict[str, Any]:
        return {"inventory": self.inventory, "kev": self.kev, "summary": self.summary()}


def run_exposure(
    inventory: Path, kev: Path | None = None, nvd: Path | None = None
) -> dict[str, Any]:
    """Parse the inventory and assess every asset; the result as plain JSON types."""
    result = assess_inventory(inventory, kev, nvd)
    rows = [r.to_dict() for r in result.reports]
    return result.head() | {"assets": rows, "warnings": result.warnings}


def assess_inventory(
    inventory: Path, kev: Path | None = None, nvd: Path | None = None
) -> ExposureRun:
    """Parse the inventory and assess every asset; reports stay objects until they are written."""
    from aptlink.cli import load_kb
    from aptlink.evidence.base import ParseContext, Source
    from aptlink.exposure.assess import Assessor, Asset
    from aptlink.exposure.catalogue import default_nvd_path, load_catalogue
    from aptlink.kb.kev import load_kev

    if not inventory.is_file():
        what = (
            "the inventory is a folder, not a file"
            if inventory.is_dir()
            else "no such inventory file"
        )
        raise ConfigError(what, str(inventory))
    source, ctx = Source(inventory), ParseContext()
    parser = _inventory_parser(source)
    assets = [a for item in parser().parse(source, ctx) for a in item.data if isinstance(a, Asset)]
    catalogue = load_catalogue(nvd_path=nvd or default_nvd_path())
    kev_catalogue = load_kev(kev)
    assessor = Assessor(kev=kev_catalogue, catalogue=catalogue, kb=load_kb(None))
    warnings = [{"where": w.where, "message": w.message} for w in ctx.warnings]
    return ExposureRun(
        inventory=str(inventory),
        kev={
            "version": kev_catalogue.version,
            "source": kev_catalogue.source,
            "count": len(kev_catalogue),
        },
        reports=assessor.assess_all(assets),
        warnings=warnings + _duplicates(assets, source.where),
    )


def _inventory_parser(source: Source) -> type[Parser]:
    from aptlink.evidence.base import choose_parser
    from aptlink.evidence.inventory import CycloneDxInventoryParser, InventoryCsvParser

    parser = choose_parser(source)
    if parser in (InventoryCsvParser, CycloneDxInventoryParser):
        assert parser is not None
        return parser
    raise UnsupportedEvidence(_not_an_inventory(source), source.where)


def _not_an_inventory(source: Source) -> str:
    """Why the file is not read as an inventory, naming the header line and the columns it lacks."""
    from aptlink.evidence.inventory import (
        COLUMNS,
        MAX_PREAMBLE,
        REQUIRED,
        column_key,
        preamble_line,
    )

    head = source.head(8192)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "not an inventory: the file is UTF-16 text; save it as CSV UTF-8"
    lines = head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[:MAX_PREAMBLE]
    number, header = next(
        ((n, line) for n, line in enumerate(lines, 1) if not preamble_line(line)),
        (0, ""),
    )
    if not head.strip():
        return "not an inventory: the file is empty"
    if not header or header.lstrip().startswith(("{", "[")):
        return "not an inventory CSV (no header line) or CycloneDX JSON (no bomFormat 'CycloneDX')"
    cells = {column_key(c) for c in re.split(r"[,;\t]", header)}
    missing = [f for f in REQUIRED if not cells & {column_key(n) for n in COLUMNS[f]}]
    accepted = "; ".join(f"{f}: {', '.join(COLUMNS[f])}" for f in missing)
    return (
        f"not an inventory CSV: the header (line {number}) has no column for "
        f"{', '.join(missing) or 'the required fields'} (accepted names, any case or spacing: {accepted})"
    )


def _duplicates(assets: list[Asset], where: str) -> list[dict[str, str]]:
    """A warning for each asset and product listed again: the summary counts it twice, or it has two
    versions. One host with several products (Exchange and Confluence, a BOM's device and its firmware)
    is not a repeat."""
    first: dict[tuple[str, str, str], Asset] = {}
    found: list[dict[str, str]] = []
    for asset in assets:
        key = (asset.name.casefold(), asset.vendor.casefold(), asset.product.casefold())
        seen = first.setdefault(key, asset)
        if seen is asset:
            continue
        what = (
            "listed again"
            if seen.version == asset.version
            else f"listed again with version {asset.version!r}"
        )
        found.append(
            {
                "where": _where(where, asset.record),
                "message": f"asset {asset.name!r} {what} (first at {seen.record}: "
                f"{seen.vendor} {seen.product} {seen.version!r}); both are assessed",
            }
        )
    return found


def _where(path: str, record: str) -> str:
    return f"{path}:{record[5:]}" if record.startswith("line ") else f"{path}#{record}"


def write_json(result: ExposureRun, stream: TextIO) -> None:
    """The JSON document, one asset at a time: a 100,000-row inventory never sits in memory as text."""
    head = json.dumps(result.head(), ensure_ascii=False, indent=2)
    stream.write(head[: -len("\n}")] + ',\n  "assets": [')
    for index, report in enumerate(result.reports):
        text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
        stream.write(("," if index else "") + "\n" + textwrap.indent(text, "    "))
    stream.write("\n  ]," if result.reports else "],")
    warnings = json.dumps(result.warnings, ensure_ascii=False, indent=2)
    stream.write('\n  "warnings": ' + textwrap.indent(warnings, "  ")[2:] + "\n}\n")


def _print(result: ExposureRun) -> None:
    # Plain writes, not rich's print: 100,000 assets are a million lines (rich took 119 s for them).
    from aptlink.cli import out

    kev, summary = result.kev, result.summary()
    write = out.file.write
    write(
        f"{result.inventory}: {summary['assets']} asset(s); KEV {kev['version']} ({kev['count']} CVEs)\n"
    )
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    for report in sorted(result.reports, key=lambda r: (order.get(r.status, 9), r.asset.name)):
        write("".join(f"{terminal_safe(line)}\n" for line in asset_lines(report.to_dict())))
    for w in result.warnings:
        write(terminal_safe(f"warning: {w['message']} ({w['where']})") + "\n")
    counts = ", ".join(f"{k} {v}" for k, v in summary.items() if k != "assets" and v)
    write(f"summary: {counts}\n")
    out.file.flush()


def terminal_safe(text: str) -> str:
    """One table line as the terminal may show it: textsafe's escapes, and a line feed from a field
    (an asset name could forge a 'summary:' line) written as ``\\n``."""
    from aptlink.textsafe import terminal_text

    return terminal_text(text).replace("\n", "\\n")


def asset_lines(row: dict[str, Any]) -> list[str]:
    """One asset as the table shows it: status and label, the reason, one line per CVE, the actions."""
    label = f"{row['asset']} [{row['exposure']}] {row['vendor']} {row['product']} {row['version']}"
    lines = ["", f"{row['status'].upper():<20} {label}"]
    if row["reason"]:
        lines.append(f"  {row['reason']}")
    for cve in row["cves"]:
        actors = ", ".join(cve["actors"]) or "-"
        ransom = "yes" if cve["ransomware_use"] else "unknown"
        fixed = " / ".join(cve["fixed"]) or "no fixed release recorded (see the advisory)"
        lines.append(
            f"  {cve['cve']}  KEV {cve['kev_date_added']}  ransomware: {ransom}  actors: {actors}  "
            f"affected {cve['affected_range']}  fixed: {fixed}"
        )
    lines.extend(f"  - {action}" for action in row["actions"])
    return lines
