"""The organisation's directory (people.csv): who works where, under which address, and who left.

Columns ``name,address,organisation,former_staff[,sector,country]``. One item of kind
``directory`` whose data is a list of :class:`~aptlink.detect.phishing.Person`; detectors use it to
see impersonation of staff and former staff, lookalike domains and the victim organisation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source
from aptlink.model import Kind, Observation, Provenance

REQUIRED = ("name", "address", "organisation")
TRUE = frozenset({"1", "true", "yes", "y", "former", "x", "はい"})


class DirectoryParser(Parser):
    """A people directory CSV with name, address and organisation columns."""

    name = "directory"
    description = "people directory CSV (name,address,organisation,former_staff[,sector,country])"
    extensions = (".csv",)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
        columns = {c.strip().lower() for c in first.split(",")}
        return 85 if all(c in columns for c in REQUIRED) else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        prov = source.provenance(self.name)
        people = read_people(source.read(), source.where, ctx)
        yield Item(kind="directory", provenance=prov, data=people, observations=_orgs(people, prov))


def read_people(data: bytes, where: str, ctx: ParseContext | None = None) -> list[object]:
    """Persons from directory CSV bytes; a bad row is a warning, a file without the columns an error."""
    from aptlink.detect.maildomains import Person

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp932", "replace")
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower() for f in reader.fieldnames or ()}
    if not all(c in fields for c in REQUIRED):
        raise UnsupportedEvidence(f"directory needs columns {', '.join(REQUIRED)}", where)
    people: list[object] = []
    for number, row in enumerate(reader, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not row.get("name") and not row.get("address"):
            if ctx:
                ctx.warn(f"{where}:{number}", "row without name or address")
            continue
        people.append(
            Person(
                name=row.get("name", ""),
                address=row.get("address", "").lower(),
                organisation=row.get("organisation", ""),
                former_staff=row.get("former_staff", "").lower() in TRUE,
                sector=row.get("sector", ""),
                country=row.get("country", ""),
            )
        )
    if not people:
        raise CorruptEvidence("directory has no people", where)
    return people


def load_directory(path: Path) -> list[object]:
    """Persons from a people.csv file (for ``aptlink triage --directory``)."""
    return read_people(path.read_bytes(), str(path))


def _orgs(people: list[object], prov: Provenance) -> tuple[Observation, ...]:
    seen: dict[str, Observation] = {}
    for p in people:
        org = getattr(p, "organisation", "")
        if org and org not in seen:
            seen[org] = Observation(kind=Kind.ORGANISATION, value=org, provenance=prov)
    return tuple(seen.values())
