"""MISP events (JSON export or REST response): each event becomes one external incident.

Attributes (and the attributes of MISP objects) become indicators by their MISP type; galaxy
clusters and tags give ATT&CK techniques, malware and tools, victim sectors and countries, and the
actor the producer names (kept as a claim, never as evidence); the event date and sightings give
the times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aptlink.errors import UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source, read_json
from aptlink.evidence.external import IncidentReader
from aptlink.model import TECHNIQUE_RE, Kind, Provenance, utc

Obj = dict[str, Any]
MAX_ATTRIBUTES = 500_000
TECHNIQUE_IN_TEXT = re.compile(r"\b(T\d{4}(?:\.\d{3})?)\b")
ATTRIBUTE_KINDS = {
    "domain": Kind.DOMAIN,
    "hostname": Kind.HOSTNAME,
    "url": Kind.URL,
    "uri": Kind.URL,
    "email": Kind.EMAIL,
    "email-src": Kind.EMAIL,
    "email-dst": Kind.EMAIL,
    "email-reply-to": Kind.EMAIL,
    "email-src-display-name": Kind.DISPLAY_NAME,
    "email-subject": Kind.SUBJECT,
    "md5": Kind.MD5,
    "sha1": Kind.SHA1,
    "sha256": Kind.SHA256,
    "ssdeep": Kind.FUZZY_HASH,
    "tlsh": Kind.FUZZY_HASH,
    "imphash": Kind.FUZZY_HASH,
    "filename": Kind.FILE_NAME,
    "regkey": Kind.REGISTRY_KEY,
    "vulnerability": Kind.CVE,
    "target-org": Kind.ORGANISATION,
    "target-location": Kind.COUNTRY,
    "user-agent": Kind.COMMAND_LINE,
    "whois-registrant-email": Kind.EMAIL,
}
IP_TYPES = frozenset({"ip-src", "ip-dst", "ip"})
GALAXY_KINDS = {
    "mitre-malware": Kind.MALWARE,
    "malpedia": Kind.MALWARE,
    "mitre-tool": Kind.TOOL,
    "tool": Kind.TOOL,
    "sector": Kind.SECTOR,
    "country": Kind.COUNTRY,
    "target-information": Kind.COUNTRY,
}
ACTOR_GALAXIES = frozenset({"threat-actor", "mitre-intrusion-set", "microsoft-activity-group"})


class MispEventParser(Parser):
    """MISP event JSON: one external incident per event."""

    name = "misp"
    description = "MISP event JSON (export or REST response), one incident per event"
    extensions = (".json",)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        text = head[:4096].decode("utf-8", "replace")
        return 88 if re.search(r'"Event"\s*:\s*\{', text) else 0

    @classmethod
    def sample(cls) -> tuple[str, bytes]:
        """A one-event export (the conformance test parses it)."""
        attrs = [
            {"type": "domain", "value": "www.aesorunwe.com"},
            {"type": "ip-dst", "value": "5.8.95.174"},
        ]
        tags = [{"name": 'misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1566.001"'}]
        event = {
            "uuid": "sample",
            "info": "sample",
            "date": "2022-07-01",
            "Attribute": attrs,
            "Tag": tags,
        }
        return "event.json", json.dumps({"Event": event}).encode()

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        events = list(_events(_load(source), source.where))
        if not events:
            raise UnsupportedEvidence("no MISP event in this JSON", source.where)
        for n, event in enumerate(events):
            yield self._item(source, ctx, event, n)

    def _item(self, source: Source, ctx: ParseContext, event: Obj, n: int) -> Item:
        ext_id = str(event.get("uuid") or f"{source.sha256[:16]}:{n}")
        prov = source.provenance(self.name, record=f"event {ext_id}")
        reader = EventReader(prov, ctx)
        reader.read(event)
        return reader.item(
            external_id=f"misp:{ext_id}",
            name=str(event.get("info") or ext_id)[:300],
            source="misp",
            producer=str((event.get("Orgc") or {}).get("name", "")),
            threat_level=str(event.get("threat_level_id", "")),
        )


def _load(source: Source) -> Any:
    return read_json(source)


def _events(data: Any, where: str) -> Iterator[Obj]:
    """Events from the shapes MISP writes: {Event}, {response: [{Event}]}, [{Event}]."""
    if isinstance(data, Mapping):
        if isinstance(data.get("Event"), Mapping):
            yield dict(data["Event"])
        elif "response" in data:
            yield from _events(data["response"], where)
    elif isinstance(data, list):
        for entry in data:
            yield from _events(entry, where)


class EventReader(IncidentReader):
    """Observations, times, victim and claimed actors of one MISP event."""

    step = "misp"

    def __init__(self, prov: Provenance, ctx: ParseContext) -> None:
        super().__init__(prov, ctx)
        self.count = 0

    def read(self, event: Obj) -> None:
        self._time(event.get("date"))
        for attr in _list(event.get("Attribute")):
            self.attribute(attr)
        for obj in _list(event.get("Object")):
            for attr in _list(obj.get("Attribute") if isinstance(obj, Mapping) else None):
                self.attribute(attr)
        for galaxy in _list(event.get("Galaxy")):
            self.galaxy(galaxy)
        for tag in _list(event.get("Tag")):
            self.tag(str(tag.get("name", "")) if isinstance(tag, Mapping) else "")
        for sighting in _list(event.get("Sighting")):
            if isinstance(sighting, Mapping):
                self._time(sighting.get("date_sighting"))

    def add(self, kind: Kind, value: Any, record: str, time: datetime | None = None) -> None:
        self.observe(kind, value, record, time)

    def attribute(self, attr: Any) -> None:
        self.count += 1
        if not isinstance(attr, Mapping) or self.count > MAX_ATTRIBUTES or attr.get("deleted"):
            return
        atype, value = str(attr.get("type", "")), attr.get("value")
        record = f"attribute {attr.get('uuid') or attr.get('id') or self.count}"
        when = self._time(attr.get("first_seen")) or _epoch(attr.get("timestamp"))
        if not isinstance(value, str) or not value.strip():
            self.ctx.warn(self.prov.where(), f"{record}: value is empty or not text")
            return
        for part_type, part in _split(atype, value):
            self._typed(part_type, part, record, when)
        for sighting in _list(attr.get("Sighting")):
            if isinstance(sighting, Mapping):
                self._time(sighting.get("date_sighting"))
        for galaxy in _list(attr.get("Galaxy")):
            self.galaxy(galaxy)
        for tag in _list(attr.get("Tag")):
            self.tag(str(tag.get("name", "")) if isinstance(tag, Mapping) else "")

    def _typed(self, atype: str, value: str, record: str, when: datetime | None) -> None:
        if atype in IP_TYPES or atype.startswith("ip-"):
            kind = Kind.IPV6 if ":" in value else Kind.IPV4
            self.add(kind, value.split("/")[0], record, when)
        elif atype in ATTRIBUTE_KINDS:
            self.add(ATTRIBUTE_KINDS[atype], value, record, when)
            if atype == "target-org" and not self.victim:
                self.victim = value.strip()

    def galaxy(self, galaxy: Any) -> None:
        if not isinstance(galaxy, Mapping):
            return
        gtype = str(galaxy.get("type", ""))
        for cluster in _list(galaxy.get("GalaxyCluster")):
            if isinstance(cluster, Mapping):
                self.cluster(gtype, str(cluster.get("value", "")))

    def tag(self, name: str) -> None:
        m = re.match(r'misp-galaxy:([a-z0-9-]+)="(.{1,300})"$', name)
        if m:
            self.cluster(m.group(1), m.group(2))

    def cluster(self, gtype: str, value: str) -> None:
        record = f"galaxy {gtype}"
        if (
            gtype.startswith("mitre-") and "attack-pattern" in gtype
        ) or gtype == "mitre-attack-pattern":
            for tid in TECHNIQUE_IN_TEXT.findall(value):
                if TECHNIQUE_RE.match(tid):
                    self.add(Kind.TECHNIQUE, tid, record)
        elif gtype in ACTOR_GALAXIES:
            self.actors.add(value.split(" - G")[0].strip())
        elif gtype in GALAXY_KINDS:
            self.add(GALAXY_KINDS[gtype], re.sub(r" - S\d{4}$", "", value), record)

    def _time(self, value: Any) -> datetime | None:
        if not isinstance(value, str) or not value:
            return None
        try:
            parsed = utc(value) if "T" in value or "-" in value else _epoch(value)
        except ValueError:
            return None
        if parsed:
            self.times.append(parsed)
        return parsed


def _split(atype: str, value: str) -> Iterator[tuple[str, str]]:
    """Composite MISP types (``filename|sha256``, ``ip-dst|port``) into their parts."""
    if "|" not in atype:
        yield atype, value
        return
    for t, v in zip(atype.split("|"), value.split("|"), strict=False):
        if t != "port":
            yield t, v


def _epoch(value: Any) -> datetime | None:
    try:
        seconds = int(str(value))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []
