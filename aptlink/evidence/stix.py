"""STIX 2.1 bundles describing incidents, as national CERTs and ISACs exchange them.

Each ``grouping`` or ``incident`` object in a bundle becomes one external incident with what it
refers to (directly, or through relationships and sightings); a bundle with neither is one incident.
Indicator patterns become values, observed data and cyber observables become indicators, attack
patterns become ATT&CK technique ids, malware and tools become names, victim identities give
sector and organisation, locations give the country, sightings give the times.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from aptlink.errors import CorruptEvidence, UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source, read_json
from aptlink.evidence.external import IncidentReader
from aptlink.model import TECHNIQUE_RE, Kind, Observation, Provenance, utc

Obj = dict[str, Any]
CONTAINER_TYPES = ("grouping", "incident")
MAX_PATTERN_CHARS = 4096
MAX_OBJECTS = 200_000
# One comparison inside a STIX pattern: [file:hashes.'SHA-256' = '...'] (bounded, no backtracking).
COMPARISON_RE = re.compile(
    r"([a-z0-9-]+):([A-Za-z0-9_.'\- ]{1,80}?)\s*=\s*'((?:[^'\\]|\\.){0,2048})'"
)
HASH_KINDS = {
    "md5": Kind.MD5,
    "sha-1": Kind.SHA1,
    "sha1": Kind.SHA1,
    "sha-256": Kind.SHA256,
    "sha256": Kind.SHA256,
    "ssdeep": Kind.FUZZY_HASH,
    "tlsh": Kind.FUZZY_HASH,
}
# (object type, property path) -> kind; file hashes are handled by HASH_KINDS.
PROPERTY_KINDS = {
    ("domain-name", "value"): Kind.DOMAIN,
    ("ipv4-addr", "value"): Kind.IPV4,
    ("ipv6-addr", "value"): Kind.IPV6,
    ("url", "value"): Kind.URL,
    ("email-addr", "value"): Kind.EMAIL,
    ("email-addr", "display_name"): Kind.DISPLAY_NAME,
    ("email-message", "subject"): Kind.SUBJECT,
    ("email-message", "from_ref.value"): Kind.EMAIL,
    ("email-message", "sender_ref.value"): Kind.EMAIL,
    ("file", "name"): Kind.FILE_NAME,
    ("windows-registry-key", "key"): Kind.REGISTRY_KEY,
    ("process", "command_line"): Kind.COMMAND_LINE,
    ("user-account", "account_login"): Kind.ACCOUNT,
    ("user-account", "user_id"): Kind.ACCOUNT,
}


class StixBundleParser(Parser):
    """STIX 2.1 bundles: each grouping or incident (or the whole bundle) is an external incident."""

    name = "stix"
    description = "STIX 2.1 bundle of incidents (groupings/incidents, indicators, observed data)"
    extensions = (".json", ".stix")

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        text = head[:4096].decode("utf-8", "replace")
        if re.search(r'"type"\s*:\s*"bundle"', text) and '"objects"' in text:
            return 85
        return 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        bundle = _load(source)
        objects = [o for o in bundle.get("objects", []) if isinstance(o, dict) and "id" in o]
        if len(objects) > MAX_OBJECTS:
            raise CorruptEvidence(
                f"{len(objects)} objects, over the {MAX_OBJECTS} limit", source.where
            )
        graph = BundleGraph(objects)
        containers = [o for o in objects if o.get("type") in CONTAINER_TYPES]
        if not containers:
            yield self._item(source, ctx, graph, None, objects)
            return
        for container in sorted(containers, key=lambda o: str(o["id"])):
            yield self._item(source, ctx, graph, container, graph.closure(container))

    @classmethod
    def sample(cls) -> tuple[str, bytes]:
        """A bundle of one incident (the conformance test parses it)."""
        from aptlink.demo import demo_files, scenario

        return "bundle.json", demo_files()[scenario()["intel"]["file"]]

    def _item(
        self,
        source: Source,
        ctx: ParseContext,
        graph: BundleGraph,
        container: Obj | None,
        members: list[Obj],
    ) -> Item:
        ext_id = str(container["id"]) if container else f"bundle:{source.sha256[:16]}"
        prov = source.provenance(self.name, record=ext_id)
        reader = ObjectReader(prov, ctx, graph)
        for obj in members:
            reader.read(obj)
        return reader.item(
            external_id=ext_id,
            name=str((container or {}).get("name") or source.path.name),
            source="stix",
            description=str((container or {}).get("description", ""))[:2000],
        )


def _load(source: Source) -> Obj:
    data = read_json(source)
    if not isinstance(data, dict) or data.get("type") != "bundle":
        raise UnsupportedEvidence("not a STIX bundle", source.where)
    if not isinstance(data.get("objects", []), list):
        raise CorruptEvidence("bundle 'objects' is not a list", source.where)
    return data


class BundleGraph:
    """Objects by id and who refers to whom (refs, relationships, sightings)."""

    SKIP_REFS = frozenset({"created_by_ref", "object_marking_refs"})

    def __init__(self, objects: list[Obj]) -> None:
        self.by_id = {str(o["id"]): o for o in objects}
        self.related: dict[str, set[str]] = defaultdict(set)
        self.authors = {str(o["created_by_ref"]) for o in objects if o.get("created_by_ref")}
        self.reports = [o for o in objects if o.get("type") == "report"]
        for o in objects:
            if o.get("type") == "relationship":
                for end in (o.get("source_ref"), o.get("target_ref")):
                    self.related[str(end)].add(str(o["id"]))
            elif o.get("type") == "sighting":
                self.related[str(o.get("sighting_of_ref", ""))].add(str(o["id"]))

    def reported_with(self, cid: str) -> Iterator[str]:
        """What a report says about this container when the report is about it alone."""
        for report in self.reports:
            refs = [str(r) for r in report.get("object_refs", []) or []]
            inside = [r for r in refs if self.by_id.get(r, {}).get("type") in CONTAINER_TYPES]
            if inside == [cid]:
                yield from refs

    def refs(self, obj: Obj) -> Iterator[str]:
        for key, value in obj.items():
            if key in self.SKIP_REFS:
                continue
            if key.endswith("_refs") and isinstance(value, list):
                yield from (str(v) for v in value)
            elif key.endswith("_ref") and isinstance(value, str):
                yield value

    def closure(self, container: Obj) -> list[Obj]:
        """The container, what it refers to, what relationships and sightings tie to it, and what
        those refer to. Relationships of shared objects (a victim, a malware family) are not
        followed, so one incident does not swallow its neighbours in the same bundle."""
        cid = str(container["id"])
        seen = {cid}
        frontier = [*self.refs(container), *self.related.get(cid, ()), *self.reported_with(cid)]
        while frontier:
            oid = frontier.pop()
            obj = self.by_id.get(oid)
            if (
                oid in seen
                or obj is None
                or obj.get("type") in (*CONTAINER_TYPES, "marking-definition")
            ):
                continue
            seen.add(oid)
            frontier.extend(self.refs(obj))
            if obj.get("type") == "indicator":
                frontier.extend(self.related.get(oid, ()))
        return [self.by_id[i] for i in sorted(seen)]


class ObjectReader(IncidentReader):
    """Turns STIX objects into observations, times, the victim and claimed actors."""

    step = "stix"

    def __init__(self, prov: Provenance, ctx: ParseContext, graph: BundleGraph) -> None:
        super().__init__(prov, ctx)
        self.graph = graph

    def add(self, kind: Kind, value: Any, obj: Obj, time: Any = None) -> None:
        self.observe(kind, value, str(obj.get("id", "")), _time(time))

    def read(self, obj: Obj) -> None:
        handler = getattr(self, "_" + str(obj.get("type", "")).replace("-", "_"), None)
        try:
            if handler is not None:
                handler(obj)
            else:
                self._observable(obj)
        except (TypeError, AttributeError, ValueError) as exc:
            self.ctx.warn(
                self.prov.where(), f"{obj.get('id')}: unreadable {obj.get('type')}: {exc}"
            )

    def _incident(self, obj: Obj) -> None:
        self._times(obj, "first_seen", "last_seen", "created")

    def _grouping(self, obj: Obj) -> None:
        self._times(obj, "first_seen", "last_seen")

    def _times(self, obj: Obj, *keys: str) -> None:
        for key in keys:
            t = _time(obj.get(key))
            if t:
                self.times.append(t)
                if key == "created":
                    return

    def _indicator(self, obj: Obj) -> None:
        pattern = str(obj.get("pattern", ""))[:MAX_PATTERN_CHARS]
        if obj.get("pattern_type", "stix") != "stix":
            return
        for otype, prop, value in COMPARISON_RE.findall(pattern):
            self._property(
                otype, prop.strip(), value.replace("\\'", "'"), obj, obj.get("valid_from")
            )

    def _property(self, otype: str, prop: str, value: str, obj: Obj, time: Any) -> None:
        if otype == "file" and prop.startswith("hashes."):
            kind = HASH_KINDS.get(prop.split(".", 1)[1].strip("'").lower())
        else:
            kind = PROPERTY_KINDS.get((otype, prop))
        if kind is not None:
            self.add(kind, value, obj, time)

    def _observed_data(self, obj: Obj) -> None:
        t = obj.get("first_observed")
        if _time(t):
            self.times.append(_time(t))  # type: ignore[arg-type]
        embedded = obj.get("objects")
        if isinstance(embedded, Mapping):  # STIX 2.0 style, still common
            for sco in embedded.values():
                if isinstance(sco, dict):
                    self._observable(sco, t)
        for ref in obj.get("object_refs", []) or []:
            sco = self.graph.by_id.get(str(ref))
            if sco:
                self._observable(sco, t)

    def _observable(self, sco: Obj, time: Any = None) -> None:
        otype = str(sco.get("type", ""))
        if otype == "file":
            for algo, value in (sco.get("hashes") or {}).items():
                kind = HASH_KINDS.get(str(algo).lower())
                if kind:
                    self.add(kind, value, sco, time)
        for (ptype, prop), kind in PROPERTY_KINDS.items():
            if ptype == otype and "." not in prop:
                self.add(kind, sco.get(prop), sco, time)

    def _attack_pattern(self, obj: Obj) -> None:
        for ref in obj.get("external_references", []) or []:
            eid = str(ref.get("external_id", "")).upper()
            if TECHNIQUE_RE.match(eid):
                self.add(Kind.TECHNIQUE, eid, obj)

    def _malware(self, obj: Obj) -> None:
        self.add(Kind.MALWARE, obj.get("name"), obj)

    def _tool(self, obj: Obj) -> None:
        self.add(Kind.TOOL, obj.get("name"), obj)

    def _vulnerability(self, obj: Obj) -> None:
        name = str(obj.get("name", ""))
        if re.fullmatch(r"CVE-\d{4}-\d{4,7}", name.upper()):
            self.add(Kind.CVE, name, obj)

    def _identity(self, obj: Obj) -> None:
        if str(obj.get("id")) in self.graph.authors:
            return  # the producer of the bundle, not a victim
        if obj.get("identity_class") not in (None, "organization", "group", "class"):
            return
        for sector in obj.get("sectors", []) or []:
            self.add(Kind.SECTOR, sector, obj)
        name = obj.get("name")
        if isinstance(name, str) and name.strip():
            self.add(Kind.ORGANISATION, name, obj)
            self.victim = self.victim or name.strip()

    def _location(self, obj: Obj) -> None:
        self.add(Kind.COUNTRY, obj.get("country"), obj)

    def _sighting(self, obj: Obj) -> None:
        self._times(obj, "first_seen", "last_seen")

    def _threat_actor(self, obj: Obj) -> None:
        if obj.get("name"):
            self.actors.add(str(obj["name"]))

    _intrusion_set = _threat_actor

    def _relationship(self, obj: Obj) -> None:
        pass

    def _report(self, obj: Obj) -> None:
        pass

    def _note(self, obj: Obj) -> None:
        pass


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return utc(value)
    except ValueError:
        return None


def techniques_of(observations: Iterable[Observation]) -> list[str]:
    return sorted({o.value for o in observations if o.kind is Kind.TECHNIQUE})
