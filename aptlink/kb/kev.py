"""CISA's Known Exploited Vulnerabilities catalogue: load it, look entries up by CVE and by vendor/product.

Sources, first found wins: an explicit path, ``$APTLINK_KEV``, then the compact copy shipped in the
package (``kb/data/kev.json.gz``, CC0, derived from the catalogue with :func:`write_compact`), so a
fresh install works offline. ``kb sync`` downloads the current catalogue and passes its path (or sets
``$APTLINK_KEV``). Both CISA's JSON feed and the compact form are read.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from aptlink.errors import KnowledgeError

PACKAGED = "kev.json.gz"
ENV = "APTLINK_KEV"
FIELDS = (
    "cveID",
    "vendorProject",
    "product",
    "vulnerabilityName",
    "dateAdded",
    "dueDate",
    "knownRansomwareCampaignUse",
    "requiredAction",
    "notes",
    "cwes",
)
CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_SPACE = re.compile(r"\s+")


def normalise_name(value: str) -> str:
    """A vendor or product name as KEV lookups compare it: trimmed, single-spaced, case-folded.

    The catalogue has quirks such as a trailing space in ``"Array Networks "``.
    """
    return _SPACE.sub(" ", value).strip().casefold()


def _tidy(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KevEntry:
    """One catalogue entry; ``vendor`` and ``product`` are tidied (trimmed, single-spaced)."""

    cve: str
    vendor: str
    product: str
    name: str
    date_added: date
    due_date: date | None
    ransomware_use: bool
    required_action: str
    notes: str = ""
    cwes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cve": self.cve,
            "vendor": self.vendor,
            "product": self.product,
            "name": self.name,
            "date_added": self.date_added.isoformat(),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "ransomware_use": self.ransomware_use,
            "required_action": self.required_action,
            "notes": self.notes,
            "cwes": list(self.cwes),
        }


class Kev:
    """The catalogue in memory, indexed by CVE and by normalised (vendor, product)."""

    def __init__(self, entries: list[KevEntry], version: str = "", source: str = "") -> None:
        self.version = version
        self.source = source
        self._by_cve = {e.cve: e for e in entries}
        self._by_product: dict[tuple[str, str], list[KevEntry]] = defaultdict(list)
        self._by_vendor: dict[str, list[KevEntry]] = defaultdict(list)
        for e in self._by_cve.values():
            self._by_product[(normalise_name(e.vendor), normalise_name(e.product))].append(e)
            self._by_vendor[normalise_name(e.vendor)].append(e)

    def __len__(self) -> int:
        return len(self._by_cve)

    def __iter__(self) -> Iterator[KevEntry]:
        return iter(sorted(self._by_cve.values(), key=lambda e: e.cve))

    def __contains__(self, cve: object) -> bool:
        return isinstance(cve, str) and cve.strip().upper() in self._by_cve

    def get(self, cve: str) -> KevEntry | None:
        """The entry for a CVE id (any case), or None."""
        return self._by_cve.get(cve.strip().upper())

    def for_product(self, vendor: str, product: str) -> list[KevEntry]:
        """Entries whose vendor and product equal these after normalisation."""
        return list(self._by_product.get((normalise_name(vendor), normalise_name(product)), []))

    def for_vendor(self, vendor: str) -> list[KevEntry]:
        return list(self._by_vendor.get(normalise_name(vendor), []))

    def products(self) -> list[tuple[str, str]]:
        """Every (vendor, product) pair in the catalogue, tidied, sorted."""
        return sorted({(e.vendor, e.product) for e in self._by_cve.values()})


def load_kev(path: Path | str | None = None) -> Kev:
    """The catalogue from ``path``, ``$APTLINK_KEV`` or the packaged copy (in that order)."""
    chosen = path or os.environ.get(ENV)
    if chosen:
        file = Path(chosen)
        if not file.is_file():
            raise KnowledgeError("KEV catalogue not found", str(file))
        return _from_bytes(file.read_bytes(), str(file))
    packaged = resources.files("aptlink.kb") / "data" / PACKAGED
    return _from_bytes(packaged.read_bytes(), f"aptlink/kb/data/{PACKAGED}")


def _from_bytes(raw: bytes, where: str) -> Kev:
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise KnowledgeError(f"KEV catalogue is not valid gzip: {exc}", where) from None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KnowledgeError(f"KEV catalogue is not JSON: {exc}", where) from None
    if not isinstance(doc, Mapping):
        raise KnowledgeError("KEV catalogue is not a JSON object", where)
    return Kev(_entries(doc, where), str(doc.get("catalogVersion", "")), where)


def _records(doc: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    if "rows" in doc:  # the compact form: field names once, then rows
        fields = doc.get("fields", FIELDS)
        return [dict(zip(fields, row, strict=False)) for row in doc["rows"]]
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise KnowledgeError("KEV catalogue has no 'vulnerabilities' list", where)
    return vulns


def _entries(doc: Mapping[str, Any], where: str) -> list[KevEntry]:
    entries = []
    for n, rec in enumerate(_records(doc, where)):
        try:
            entries.append(entry_from_record(rec))
        except (KeyError, TypeError, ValueError) as exc:
            raise KnowledgeError(f"bad KEV entry: {exc!r}", f"{where}#{n}") from None
    return entries


def entry_from_record(rec: Mapping[str, Any]) -> KevEntry:
    """One entry from a CISA JSON record (the feed's own field names)."""
    cve = str(rec["cveID"]).strip().upper()
    if not CVE_RE.match(cve):
        raise ValueError(f"not a CVE id: {cve!r}")
    due = rec.get("dueDate")
    return KevEntry(
        cve=cve,
        vendor=_tidy(str(rec["vendorProject"])),
        product=_tidy(str(rec["product"])),
        name=_tidy(str(rec.get("vulnerabilityName", ""))),
        date_added=date.fromisoformat(str(rec["dateAdded"])),
        due_date=date.fromisoformat(str(due)) if due else None,
        ransomware_use=str(rec.get("knownRansomwareCampaignUse", "")).strip().lower() == "known",
        required_action=_tidy(str(rec.get("requiredAction", ""))),
        notes=str(rec.get("notes") or "").strip(),
        cwes=tuple(str(c) for c in rec.get("cwes") or ()),
    )


def write_compact(source: Path, dest: Path) -> int:
    """Write the compact gzipped copy shipped in the package from CISA's JSON feed; returns the count."""
    doc = json.loads(source.read_bytes())
    rows = [[rec.get(k) for k in FIELDS] for rec in doc["vulnerabilities"]]
    compact = {
        "title": doc.get("title", ""),
        "catalogVersion": doc.get("catalogVersion", ""),
        "dateReleased": doc.get("dateReleased", ""),
        "license": "CC0 1.0 (CISA KEV catalogue)",
        "fields": list(FIELDS),
        "rows": rows,
    }
    blob = json.dumps(compact, separators=(",", ":"), ensure_ascii=False).encode()
    dest.write_bytes(gzip.compress(blob, 9, mtime=0))
    return len(rows)
