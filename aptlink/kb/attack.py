"""MITRE ATT&CK Enterprise as plain look-up tables: techniques, groups, campaigns, software,
mitigations and detections, read from a STIX 2.1 bundle (or, offline, from the MISP galaxy copy in
``galaxy.py``) and cached as a pickle keyed by the bundle's path, size and mtime.

Revoked and deprecated objects are dropped on purpose; a revoked id resolves to its replacement
through ``revoked-by`` (mitreattack-python does the same).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aptlink.errors import KnowledgeError

CACHE_VERSION = 2
EXTERNAL_ID_RE = re.compile(
    r"^(T\d{4}(\.\d{3})?|G\d{4}|S\d{4}|C\d{4}|M\d{4}|TA\d{4}|DC\d{4}|DET\d{4})$"
)
PREFIX_TABLE = {
    "T": "techniques",
    "G": "groups",
    "S": "software",
    "C": "campaigns",
    "M": "mitigations",
}
Row = dict[str, Any]


def default_cache_dir() -> Path:
    """Where aptlink keeps downloads and parsed caches: $APTLINK_CACHE or ~/.cache/aptlink."""
    env = os.environ.get("APTLINK_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "aptlink"


@dataclasses.dataclass(slots=True)
class AttackData:
    """ATT&CK as dictionaries keyed by external id (``T1566.001``, ``G1054``, ``S0275``, ``M1049``)."""

    source: str = "none"
    version: str = ""
    modified: str = ""
    techniques: dict[str, Row] = dataclasses.field(default_factory=dict)
    groups: dict[str, Row] = dataclasses.field(default_factory=dict)
    campaigns: dict[str, Row] = dataclasses.field(default_factory=dict)
    software: dict[str, Row] = dataclasses.field(default_factory=dict)
    mitigations: dict[str, Row] = dataclasses.field(default_factory=dict)
    tactics: dict[str, Row] = dataclasses.field(default_factory=dict)
    revoked: dict[str, str] = dataclasses.field(default_factory=dict)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)

    def table(self, external_id: str) -> dict[str, Row]:
        """The table an id belongs in, chosen by its prefix (look-ups are by id *and* type)."""
        name = PREFIX_TABLE.get(external_id[:1].upper(), "")
        if not name:
            raise KnowledgeError("not an ATT&CK id", external_id)
        table: dict[str, Row] = getattr(self, name)
        return table

    def get(self, external_id: str) -> Row | None:
        """The object with this id, following ``revoked-by`` to the replacement."""
        eid = external_id.strip().upper()
        if not EXTERNAL_ID_RE.match(eid) or eid.startswith(("TA", "DC", "DET")):
            return None
        eid = self.resolve(eid)
        table = self.table(eid)
        found = table.get(eid)
        if found is None and eid.startswith("T"):  # a current id, in an older release
            from aptlink.model import former_techniques

            found = next((table[old] for old in former_techniques(eid) if old in table), None)
        return found

    def resolve(self, external_id: str) -> str:
        seen: set[str] = set()
        eid = external_id
        while eid in self.revoked and eid not in seen:
            seen.add(eid)
            eid = self.revoked[eid]
        return eid

    def summary(self) -> dict[str, Any]:
        tables = ("techniques", "groups", "campaigns", "software", "mitigations")
        return {
            "source": self.source,
            "version": self.version,
            "modified": self.modified,
            **{t: len(getattr(self, t)) for t in tables},
            "revoked": len(self.revoked),
        }


# ---------------------------------------------------------------- the STIX bundle


def external_id(obj: Mapping[str, Any]) -> str | None:
    for ref in obj.get("external_references") or ():
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def attack_url(obj: Mapping[str, Any]) -> str | None:
    for ref in obj.get("external_references") or ():
        if ref.get("source_name") == "mitre-attack" and ref.get("url"):
            return str(ref["url"])
    return None


def is_active(obj: Mapping[str, Any]) -> bool:
    return not obj.get("revoked") and not obj.get("x_mitre_deprecated")


def read_bundle(path: Path) -> list[dict[str, Any]]:
    """The objects of a STIX 2.1 bundle; a broken file raises KnowledgeError naming the place."""
    try:
        with path.open("rb") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise KnowledgeError(
            f"ATT&CK bundle is not valid JSON: {exc.msg}", f"{path}:{exc.lineno}:{exc.colno}"
        ) from exc
    except OSError as exc:
        raise KnowledgeError(
            f"cannot read ATT&CK bundle: {exc.strerror or exc}", str(path)
        ) from exc
    if not isinstance(data, dict) or data.get("type") != "bundle":
        raise KnowledgeError("not a STIX bundle (no type 'bundle')", str(path))
    objects = data.get("objects")
    if not isinstance(objects, list):
        raise KnowledgeError("STIX bundle has no 'objects' list", str(path))
    return [o for o in objects if isinstance(o, dict) and "type" in o and "id" in o]


def parse_bundle(objects: list[dict[str, Any]], source: str = "attack-bundle") -> AttackData:
    """Build the look-up tables from the objects of an ATT&CK bundle."""
    data = AttackData(source=source)
    by_stix: dict[str, dict[str, Any]] = {o["id"]: o for o in objects}
    ids: dict[str, str] = {}  # stix id -> external id, active objects only
    _collection(data, objects)
    for obj in objects:
        _add_object(data, obj, ids)
    _relationships(data, objects, by_stix, ids)
    _detections(data, objects, by_stix, ids)
    data.counts = {"objects": len(objects)}
    return data


def _collection(data: AttackData, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["type"] == "x-mitre-collection":
            data.version = str(obj.get("x_mitre_version", ""))
            data.modified = str(obj.get("modified", ""))
            return


def _add_object(data: AttackData, obj: dict[str, Any], ids: dict[str, str]) -> None:
    builder = _BUILDERS.get(obj["type"])
    eid = external_id(obj)
    if builder is None or eid is None or not is_active(obj):
        return
    table, row = builder(obj, eid)
    ids[obj["id"]] = eid
    getattr(data, table)[eid] = row


def _base(obj: Mapping[str, Any], eid: str) -> Row:
    return {
        "id": eid,
        "name": obj.get("name", eid),
        "description": obj.get("description", ""),
        "url": attack_url(obj),
    }


def _technique(obj: Mapping[str, Any], eid: str) -> tuple[str, Row]:
    row = _base(obj, eid)
    phases = obj.get("kill_chain_phases") or ()
    row["tactics"] = [p["phase_name"] for p in phases if p.get("kill_chain_name") == "mitre-attack"]
    row["platforms"] = list(obj.get("x_mitre_platforms") or ())
    row["subtechnique"] = bool(obj.get("x_mitre_is_subtechnique"))
    row["detections"] = []
    row["data_components"] = []
    row["mitigations"] = []
    return "techniques", row


def _actor(obj: Mapping[str, Any], eid: str) -> tuple[str, Row]:
    row = _base(obj, eid)
    row["aliases"] = list(obj.get("aliases") or ())
    row["techniques"] = {}
    row["software"] = {}
    row["campaigns"] = []
    row["groups"] = []
    if obj["type"] == "campaign":
        row["first_seen"] = obj.get("first_seen")
        row["last_seen"] = obj.get("last_seen")
        return "campaigns", row
    return "groups", row


def _software(obj: Mapping[str, Any], eid: str) -> tuple[str, Row]:
    row = _base(obj, eid)
    row["type"] = obj["type"]
    row["aliases"] = list(obj.get("x_mitre_aliases") or ())
    row["platforms"] = list(obj.get("x_mitre_platforms") or ())
    row["techniques"] = []
    return "software", row


def _mitigation(obj: Mapping[str, Any], eid: str) -> tuple[str, Row]:
    row = _base(obj, eid)
    row["techniques"] = []
    return "mitigations", row


def _tactic(obj: Mapping[str, Any], eid: str) -> tuple[str, Row]:
    row = _base(obj, eid)
    row["shortname"] = obj.get("x_mitre_shortname", "")
    return "tactics", row


_BUILDERS = {
    "attack-pattern": _technique,
    "intrusion-set": _actor,
    "campaign": _actor,
    "malware": _software,
    "tool": _software,
    "course-of-action": _mitigation,
    "x-mitre-tactic": _tactic,
}


def _relationships(
    data: AttackData,
    objects: Iterable[dict[str, Any]],
    by_stix: Mapping[str, dict[str, Any]],
    ids: Mapping[str, str],
) -> None:
    for rel in objects:
        if rel["type"] != "relationship" or not is_active(rel):
            continue
        kind = rel.get("relationship_type")
        src, tgt = rel.get("source_ref", ""), rel.get("target_ref", "")
        if kind == "revoked-by":
            _revoked(data, by_stix.get(src), by_stix.get(tgt), ids)
        elif src in ids and tgt in ids:
            _link(data, kind, ids[src], ids[tgt], rel.get("description", ""))


def _revoked(
    data: AttackData,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    ids: Mapping[str, str],
) -> None:
    if old is None or new is None:
        return
    old_id, new_id = external_id(old), ids.get(new["id"]) or external_id(new)
    if old_id and new_id and old_id != new_id and old["id"] not in ids:
        data.revoked[old_id] = new_id


def _link(data: AttackData, kind: str | None, src: str, tgt: str, text: str) -> None:
    if kind == "uses":
        _uses(data, src, tgt, text)
    elif kind == "mitigates" and src.startswith("M") and tgt.startswith("T"):
        data.mitigations[src]["techniques"].append(tgt)
        data.techniques[tgt]["mitigations"].append(src)
    elif kind == "attributed-to" and src.startswith("C") and tgt.startswith("G"):
        data.campaigns[src]["groups"].append(tgt)
        data.groups[tgt]["campaigns"].append(src)


def _uses(data: AttackData, src: str, tgt: str, text: str) -> None:
    user = data.groups.get(src) or data.campaigns.get(src)
    if user is not None and tgt[:1] in "TS":
        key = "techniques" if tgt.startswith("T") else "software"
        user[key][tgt] = text
    elif src in data.software and tgt.startswith("T"):
        data.software[src]["techniques"].append(tgt)


def _detections(
    data: AttackData,
    objects: Iterable[dict[str, Any]],
    by_stix: Mapping[str, dict[str, Any]],
    ids: Mapping[str, str],
) -> None:
    """Detection strategies (``detects``) and the data components their analytics read."""
    for rel in objects:
        if rel["type"] != "relationship" or rel.get("relationship_type") != "detects":
            continue
        strategy, tid = by_stix.get(rel.get("source_ref", "")), ids.get(rel.get("target_ref", ""))
        if strategy is None or tid not in data.techniques or not is_active(strategy):
            continue
        row = data.techniques[tid]
        row["detections"].append({"id": external_id(strategy), "name": strategy.get("name", "")})
        for comp in _components(strategy, by_stix):
            if comp not in row["data_components"]:
                row["data_components"].append(comp)


def _components(strategy: Mapping[str, Any], by_stix: Mapping[str, dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for ref in strategy.get("x_mitre_analytic_refs") or ():
        analytic = by_stix.get(ref) or {}
        for src in analytic.get("x_mitre_log_source_references") or ():
            comp = by_stix.get(src.get("x_mitre_data_component_ref", ""))
            if comp and comp.get("name") not in names:
                names.append(comp["name"])
    return names


# ---------------------------------------------------------------- loading and caching


def cache_key(path: Path) -> str:
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{CACHE_VERSION}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def load_attack(path: Path, cache_dir: Path | None = None, use_cache: bool = True) -> AttackData:
    """ATT&CK from a bundle, through the pickle cache when it is fresh."""
    if not path.is_file():
        raise KnowledgeError("ATT&CK bundle not found", str(path))
    cache = (cache_dir or default_cache_dir()) / "parsed" / f"attack-{cache_key(path)}.pickle"
    if use_cache:
        cached = _read_cache(cache)
        if cached is not None:
            return cached
    data = parse_bundle(read_bundle(path))
    data.source = str(path)
    if use_cache:
        _write_cache(cache, data)
    return data


def _read_cache(cache: Path) -> AttackData | None:
    try:
        with cache.open("rb") as fh:
            data = pickle.load(fh)  # our own file, written by _write_cache
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None
    return data if isinstance(data, AttackData) else None


def _write_cache(cache: Path, data: AttackData) -> None:
    """Write atomically; a cache that cannot be written only costs speed."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        return
