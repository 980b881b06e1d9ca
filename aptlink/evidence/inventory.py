"""Asset inventories: a CSV (asset, vendor, product, version, exposure, role[, organisation]) or a CycloneDX
JSON bill of materials, turned into one ``inventory`` item holding the assets for the exposure detector.

A CSV is recognised by its header, not its name. Lines that are not UTF-8 are read as CP932 (Shift_JIS, the
usual Japanese Excel export) when they decode as such, with a warning naming the first such line; a line
that is neither is read with replacement characters and reported with its line number. A bad row is a warning with
its line number; the other rows are still read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aptlink.errors import UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source, read_json
from aptlink.exposure.assess import Asset, exposure_of
from aptlink.model import Kind, Observation, Provenance

MAX_ROWS = 100_000
MAX_FIELD = 512
MAX_COMPONENT_DEPTH = 8
MAX_PREAMBLE = 10
# Column names accepted for each field (compared by column_key); the first column matching wins.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "asset": (
        "asset",
        "hostname",
        "host",
        "device",
        "name",
        "asset name",
        "device name",
        "資産",
        "ホスト名",
    ),
    "vendor": ("vendor", "manufacturer", "maker", "vendor name", "ベンダー", "メーカー"),
    "product": ("product", "model", "platform", "product name", "製品", "製品名"),
    "version": (
        "version",
        "firmware",
        "firmware_version",
        "os_version",
        "software version",
        "バージョン",
    ),
    "exposure": ("exposure", "facing", "zone", "公開"),
    "role": ("role", "function", "用途", "役割"),
    "organisation": ("organisation", "organization", "org", "owner", "victim", "組織"),
}
REQUIRED = ("asset", "vendor", "product", "version")
CYCLONEDX = re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"')


def column_key(name: str) -> str:
    """A column name as it is compared: case, spaces, ``_`` and ``-`` ignored ('Host Name' is hostname)."""
    return re.sub(r"[\s_\-]+", "", name.strip().strip('"').lstrip("\ufeff").casefold())


def _header_fields(line: str) -> dict[str, int]:
    cells = [column_key(c) for c in re.split(r"[,;\t]", line)]
    found: dict[str, int] = {}
    for field, names in COLUMNS.items():
        index = next((cells.index(k) for k in map(column_key, names) if k in cells), None)
        if index is not None:
            found[field] = index
    return found


def _first_line(head: bytes) -> str:
    line = head.split(b"\n", 1)[0]
    for codec in ("utf-8-sig", "cp932"):
        try:
            return line.decode(codec)
        except UnicodeDecodeError:
            continue
    return line.decode("utf-8", "replace")


class InventoryCsvParser(Parser):
    """Asset inventory CSV: asset, vendor, product, version, exposure (internet|internal), role."""

    name = "inventory-csv"
    description = "asset inventory CSV (asset, vendor, product, version, exposure, role)"
    extensions = (".csv",)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        lines = [_first_line(line) for line in head.split(b"\n")[: MAX_PREAMBLE + 1]]
        fields = _header_fields(lines[_preamble(lines)] if lines else "")
        return 85 if all(f in fields for f in REQUIRED) else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        text = _decode(source.read(), source.where, ctx)
        lines = text.splitlines()
        skip = _preamble(lines)
        if len(lines) <= skip or not all(f in _header_fields(lines[skip]) for f in REQUIRED):
            raise UnsupportedEvidence(
                "no inventory header (asset, vendor, product, version)", source.where
            )
        body = text.split("\n", skip)[-1] if skip else text
        rows = csv.reader(io.StringIO(body, newline=""), _dialect(lines[skip]))
        header = [c.strip().lstrip("\ufeff").casefold() for c in next(rows)]
        columns = _header_fields(",".join(header))
        found = _csv_assets(_rows(rows, source, ctx, skip), columns, source, ctx, first=skip + 2)
        yield _item(self.name, source, list(found))


def _preamble(lines: list[str]) -> int:
    """How many leading lines are preamble (``preamble_line``)."""
    for index, line in enumerate(lines[:MAX_PREAMBLE]):
        if not preamble_line(line):
            return index
    return 0


def preamble_line(line: str) -> bool:
    """A line before the header: blank, a ``#`` comment (a title some exports write first) or
    Excel's ``sep=;`` separator hint."""
    text = line.lstrip("\ufeff")
    return not text.strip() or text.startswith("#") or text.lower().startswith("sep=")


def _dialect(header: str) -> type[csv.Dialect]:
    class Inventory(csv.excel):
        delimiter = max((",", ";", "\t"), key=header.count)

    return Inventory


def _decode(data: bytes, where: str, ctx: ParseContext) -> str:
    """UTF-8 when it is; otherwise line by line: UTF-8, then CP932, then UTF-8 with replacement."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    out, cp932_lines = [], []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            out.append(raw.decode("utf-8"))
            continue
        except UnicodeDecodeError as exc:
            bad_column = exc.start + 1
        try:
            out.append(_cp932(raw))
            cp932_lines.append(number)
        except UnicodeDecodeError:
            ctx.warn(f"{where}:{number}", f"undecodable bytes at column {bad_column}; replaced")
            out.append(raw.decode("utf-8", "replace"))
    if cp932_lines:
        first, count = cp932_lines[0], len(cp932_lines)
        ctx.warn(f"{where}:{first}", f"{count} line(s) not UTF-8, read as CP932 (Shift_JIS)")
    return "\n".join(out).lstrip("\ufeff")


def _cp932(raw: bytes) -> str:
    text = raw.decode("cp932")
    # CP932 maps the stray bytes 0xFD-0xFF to private-use characters: that is noise, not Japanese.
    bad = next((i for i, ch in enumerate(text) if "\ue000" <= ch <= "\uf8ff"), None)
    if bad is not None:
        raise UnicodeDecodeError("cp932", raw, bad, bad + 1, "private-use character")
    return text


def _rows(
    reader: Iterator[list[str]], source: Source, ctx: ParseContext, skipped: int = 0
) -> Iterator[list[str]]:
    """The reader's rows; a row the csv module refuses (field too large ...) is a warning, not the end."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = getattr(reader, "line_num", 0) + skipped
            ctx.warn(f"{source.path}:{line}", f"unreadable CSV row: {exc}; skipped")
            yield []


def _csv_assets(
    rows: Iterator[list[str]],
    columns: Mapping[str, int],
    source: Source,
    ctx: ParseContext,
    first: int = 2,
) -> Iterator[Asset]:
    for count, cells in enumerate(rows, 1):
        number = count + first - 1
        line = f"line {number}"
        if count > MAX_ROWS:
            ctx.warn(f"{source.path}", f"more than {MAX_ROWS} rows; the rest is not read")
            return
        if not any(c.strip() for c in cells):
            continue
        values = {f: _cell(cells, i) for f, i in columns.items()}
        asset = _asset(values, line, f"{source.path}:{number}", ctx)
        if asset is not None:
            yield asset


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip()[:MAX_FIELD] if index < len(cells) else ""


def _asset(values: Mapping[str, str], record: str, where: str, ctx: ParseContext) -> Asset | None:
    missing = [f for f in ("asset", "product") if not values.get(f)]
    if missing:
        ctx.warn(where, f"row without {' and '.join(missing)}; skipped")
        return None
    exposure = exposure_of(values.get("exposure", ""))
    if exposure is None:
        ctx.warn(where, f"unknown exposure {values['exposure']!r}; taken as unknown")
        exposure = "unknown"
    return Asset(
        name=values["asset"],
        vendor=values.get("vendor", ""),
        product=values["product"],
        version=values.get("version", ""),
        exposure=exposure,
        role=values.get("role", ""),
        organisation=values.get("organisation") or None,
        record=record,
    )


def _item(parser: str, source: Source, assets: list[Asset]) -> Item:
    observations = [
        o for a in assets for o in _observations(a, source.provenance(parser, a.record))
    ]
    return Item(
        kind="inventory",
        provenance=source.provenance(parser),
        data=tuple(assets),
        observations=tuple(observations),
    )


def _observations(asset: Asset, prov: Provenance) -> list[Observation]:
    product = " ".join(p for p in (asset.vendor, asset.product, asset.version) if p)
    context = {"vendor": asset.vendor, "product": asset.product, "version": asset.version}
    found = [
        Observation(
            kind=Kind.ASSET, value=asset.name, provenance=prov, context={"role": asset.role}
        ),
        Observation(kind=Kind.PRODUCT, value=product, provenance=prov, context=context),
    ]
    if asset.organisation:
        found.append(Observation(kind=Kind.ORGANISATION, value=asset.organisation, provenance=prov))
    return found


# --- CycloneDX ------------------------------------------------------------------------------------------


class CycloneDxInventoryParser(Parser):
    """CycloneDX JSON BOM: each component with a version becomes an asset (device, firmware, OS, app)."""

    name = "inventory-cyclonedx"
    description = "CycloneDX JSON bill of materials as an asset inventory"
    extensions = (".cdx.json", ".bom.json")

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        return 85 if CYCLONEDX.search(head) else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        doc = read_json(source, "CycloneDX JSON")
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise UnsupportedEvidence("not a CycloneDX BOM", source.where)
        meta = doc.get("metadata") or {}
        defaults = _bom_defaults(meta if isinstance(meta, dict) else {})
        assets = list(_bom_assets(doc.get("components") or [], defaults, source, ctx))
        device = meta.get("component") if isinstance(meta, dict) else None
        if not assets and isinstance(device, dict) and device.get("version"):
            # A BOM that describes one device and lists no components: the device is the asset.
            assets = list(_bom_assets([device], defaults, source, ctx))
        yield _item(self.name, source, assets)


def _properties(obj: Mapping[str, Any]) -> dict[str, str]:
    props = obj.get("properties") or []
    return {
        str(p.get("name", "")).casefold(): str(p.get("value", ""))
        for p in props
        if isinstance(p, dict)
    }


def _bom_defaults(meta: Mapping[str, Any]) -> dict[str, str]:
    component = meta.get("component") or {}
    props = _properties(meta) | _properties(component)
    supplier = meta.get("supplier") or meta.get("manufacture") or {}
    return {
        "asset": props.get("aptlink:asset") or str(component.get("name", "")),
        "exposure": props.get("aptlink:exposure", ""),
        "role": props.get("aptlink:role", ""),
        "organisation": props.get("aptlink:organisation") or str(supplier.get("name", "")),
    }


def _bom_assets(
    components: Any, defaults: Mapping[str, str], source: Source, ctx: ParseContext, depth: int = 0
) -> Iterator[Asset]:
    if depth > MAX_COMPONENT_DEPTH or not isinstance(components, list):
        if depth > MAX_COMPONENT_DEPTH:
            ctx.warn(source.where, f"components nested deeper than {MAX_COMPONENT_DEPTH}; not read")
        return
    if len(components) > MAX_ROWS:
        ctx.warn(
            source.where,
            f"{len(components)} components, more than {MAX_ROWS}; the rest is not read",
        )
    for index, comp in enumerate(components[:MAX_ROWS]):
        if not isinstance(comp, dict):
            ctx.warn(f"{source.path}#components[{index}]", "component is not an object; skipped")
            continue
        asset = _bom_asset(comp, defaults, f"{source.path}#{_ref(comp, index)}", ctx)
        if asset is not None:
            yield asset
        inner = dict(defaults) | {"asset": asset.name if asset else defaults.get("asset", "")}
        yield from _bom_assets(comp.get("components"), inner, source, ctx, depth + 1)


def _ref(comp: Mapping[str, Any], index: int) -> str:
    return str(comp.get("bom-ref") or f"components[{index}]")[:MAX_FIELD]


def _bom_asset(
    comp: Mapping[str, Any], defaults: Mapping[str, str], where: str, ctx: ParseContext
) -> Asset | None:
    props = _properties(comp)
    (cpe_vendor, cpe_version), (purl_vendor, purl_version) = _cpe(comp), _purl(comp)
    vendor = _supplier(comp) or cpe_vendor or purl_vendor
    version = str(comp.get("version", "")) or cpe_version or purl_version
    values = {
        "asset": props.get("aptlink:asset") or defaults.get("asset") or str(comp.get("name", "")),
        "vendor": vendor,
        "product": str(comp.get("name", "")),
        "version": version,
        "exposure": props.get("aptlink:exposure", defaults.get("exposure", "")),
        "role": props.get("aptlink:role", defaults.get("role", "")),
        "organisation": props.get("aptlink:organisation", defaults.get("organisation", "")),
    }
    values = {k: v.strip()[:MAX_FIELD] for k, v in values.items()}
    return _asset(values, where.rsplit("#", 1)[1], where, ctx)


def _cpe(comp: Mapping[str, Any]) -> tuple[str, str]:
    """(vendor, version) of a CPE 2.3 name or a CPE 2.2 URI (``cpe:/o:fortinet:fortios:7.2.4``)."""
    text = str(comp.get("cpe", ""))
    parts = text.split(":")[1 if text.startswith("cpe:/") else 2 :]
    version = parts[3] if len(parts) > 3 and parts[3] not in ("*", "-") else ""
    return (parts[1] if len(parts) > 3 else ""), unquote(version.replace("\\", ""))


def _purl(comp: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, version) of a package URL (``pkg:generic/arraynetworks/arrayos_ag@9.4.0.481``)."""
    text = str(comp.get("purl", ""))
    if not text.startswith("pkg:"):
        return "", ""
    path, _, version = text[4:].split("?", 1)[0].split("#", 1)[0].partition("@")
    names = path.split("/")
    return (unquote(names[1]) if len(names) > 2 else ""), unquote(version)


def _supplier(comp: Mapping[str, Any]) -> str:
    for key in ("supplier", "manufacturer"):
        value = comp.get(key)
        if isinstance(value, dict) and value.get("name"):
            return str(value["name"])
    return str(comp.get("publisher") or comp.get("group") or "")
