"""Windows events as flat rows: one ``field -> text`` mapping per event, whatever shape it came in.

Pure Python (no Arrow): the parsers read events with it, and only the hunt needs the columnar
batches of :mod:`aptlink.hunt.events`.

Four shapes are recognised: the JSON the ``evtx`` package writes (``{"Event": {"System": ...}}``),
Winlogbeat (``{"winlog": {...}}``), Velociraptor (``{"System": ..., "EventData": ...}``) and rows that
are already flat (``{"Channel": ..., "EventID": ..., "CommandLine": ...}``). Field names follow the
Sigma Windows taxonomy (``Image``, ``CommandLine``, ``Provider_Name``); values are kept as text.
A few fields are added under ``@`` names (file, record, time) for reporting; rules never see them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Row = dict[str, str]

META_FILE = "@file"
META_RECORD = "@record"
META_TIME = "@time"
META_FIELDS = (META_FILE, META_RECORD, META_TIME)

# The names Zircolite and the Sigma taxonomy give the System attributes (leaf names elsewhere).
SYSTEM_NAMES = {
    ("Provider", "Name"): "Provider_Name",
    ("Provider", "Guid"): "Guid",
    ("Provider", "EventSourceName"): "EventSourceName",
    ("Execution", "ProcessID"): "ProcessID",
    ("Execution", "ThreadID"): "ThreadID",
    ("Security", "UserID"): "UserID",
    ("TimeCreated", "SystemTime"): "SystemTime",
    ("Correlation", "ActivityID"): "ActivityID",
    ("Correlation", "RelatedActivityID"): "RelatedActivityID",
    ("EventID", "Qualifiers"): "Qualifiers",
}
# Fields holding "ALG=hex,ALG=hex" lists that rules also address one hash at a time.
HASH_LIST_FIELDS = ("Hashes", "Hash", "ConfigurationFileHash")
_HASH_LISTS = frozenset(HASH_LIST_FIELDS)  # one hash lookup per field, not three compares
WINLOGBEAT_SYSTEM = {
    "channel": "Channel",
    "event_id": "EventID",
    "computer_name": "Computer",
    "record_id": "EventRecordID",
    "provider_name": "Provider_Name",
    "provider_guid": "Guid",
    "task": "Task",
    "opcode": "Opcode",
    "version": "Version",
}
_NON_ALNUM = re.compile(r"[^A-Za-z0-9_]")
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
MAX_DEPTH = 12


def text(value: Any) -> str | None:
    """A JSON scalar as the text a rule compares against; None for null and empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        parts = [t for t in (text(v) for v in value) if t is not None]
        return "\n".join(parts) if parts else None
    return None


_LEAF_NAMES: dict[str, str] = {}


def _leaf_name(name: str) -> str:
    """The field name for a JSON key (alphanumerics and ``_``); cached, names repeat endlessly."""
    found = _LEAF_NAMES.get(name)
    if found is None:
        found = _NON_ALNUM.sub("", name.lstrip("#")) or name
        if len(_LEAF_NAMES) < 100_000:
            _LEAF_NAMES[name] = found
    return found


_SCALARS = (str, int, float, bool, type(None))


def _walk(node: Any, path: tuple[str, ...], row: Row, depth: int = 0) -> None:
    """Add every leaf of ``node`` to ``row`` under its leaf name (``#attributes`` flattened)."""
    if depth > MAX_DEPTH:
        return
    last = path[-1] if path else ""
    if type(node) is dict:  # JSON objects are plain dicts; the ABC check is too slow per field
        for key, value in node.items():
            if type(value) in _SCALARS:
                _put(row, (last or "text") if key == "#text" else key, value)
            elif key == "#attributes" and type(value) is dict:
                _attributes(value, last, row)
            elif key == "#text":
                _put(row, last or "text", value)
            else:
                _walk(value, (*path, key), row, depth + 1)
        return
    if isinstance(node, list) and node and all(type(v) is dict for v in node):
        for value in node:
            _walk(value, path, row, depth + 1)
        return
    if path:
        _put(row, last, node)


def _attributes(attributes: dict[str, Any], owner: str, row: Row) -> None:
    for attr, value in attributes.items():
        if attr != "xmlns":
            _put(row, SYSTEM_NAMES.get((owner, str(attr)), str(attr)), value)


def _put(row: Row, name: str, value: Any) -> None:
    value_text = value if type(value) is str and value else text(value)
    if value_text is None:
        return
    name = _leaf_name(name)
    row[name] = value_text
    if name in _HASH_LISTS:
        _hash_parts(value_text, row)


def _hash_parts(value: str, row: Row) -> None:
    """``MD5=..,SHA256=..`` also as one field per algorithm (rules address single hashes)."""
    for part in value.split(","):
        alg, sep, digest = part.partition("=")
        if sep and alg.strip():
            row.setdefault(_leaf_name(alg.strip()), digest.strip())


def flatten(event: Mapping[str, Any]) -> Row:
    """A flat row for one event in any of the recognised shapes."""
    body = event.get("Event")
    if type(body) is dict:  # the evtx parser's shape, nearly always: no ABC check per event
        return _flatten_evtx(body)
    if isinstance(body, Mapping):
        return _flatten_evtx(event["Event"])
    if isinstance(event.get("winlog"), Mapping):
        return _flatten_winlogbeat(event)
    if isinstance(event.get("System"), Mapping):
        return _flatten_velociraptor(event)
    row: Row = {}
    for key, value in event.items():
        if isinstance(value, Mapping | list) and not isinstance(value, str):
            _walk(value, (key,), row)
        else:
            _put(row, key, value)
    return row


def _flatten_evtx(event: Mapping[str, Any]) -> Row:
    row: Row = {}
    for section, body in event.items():
        if section == "EventData" and type(body) is dict:
            _flat_data(body, row)
        elif section not in ("#attributes", "System"):
            _walk(body, (section,), row)
    # System last: its Channel/EventID/Computer win over same-named data fields (System 104 holds a
    # ``Channel`` in its UserData, the log that was cleared).
    system = event.get("System", {})
    if type(system) is dict:
        _flat_system(system, row)
    else:
        _walk(system, ("System",), row)
    return row


def _flat_data(body: dict[str, Any], row: Row) -> None:
    """``EventData`` of named scalars (nearly every event) without the generic walk: the same row
    as ``_walk``, at a third of the cost; anything nested goes through ``_walk``."""
    names = _LEAF_NAMES
    for key, value in body.items():
        kind = type(value)
        if kind is str:
            if not value:
                continue
        elif kind is int:
            value = str(value)
        elif kind in _SCALARS:
            value = text(value)
            if value is None:
                continue
        elif key == "#attributes" and kind is dict:
            _attributes(value, "EventData", row)
            continue
        else:
            _walk(value, ("EventData", key), row, 1)
            continue
        name = names.get(key) or _leaf_name(key)
        row[name] = value
        if name in _HASH_LISTS:
            _hash_parts(value, row)


def _flat_system(system: dict[str, Any], row: Row) -> None:
    """The ``System`` section: scalars as they are, ``#attributes`` under their Sigma names (the
    attribute loop inlined: this runs for every event, a function call per element costs)."""
    names, attribute_names = _LEAF_NAMES, _ATTRIBUTE_NAMES
    for key, value in system.items():
        kind = type(value)
        if kind is str:
            if value:
                row[names.get(key) or _leaf_name(key)] = value
        elif kind is int:
            row[names.get(key) or _leaf_name(key)] = str(value)
        elif kind is dict:
            attributes = value.get("#attributes")
            if len(value) != 1 or type(attributes) is not dict:
                _walk({key: value}, ("System",), row, 1)
                continue
            for attr, item in attributes.items():
                name = attribute_names.get((key, attr))
                if name is None:
                    if attr == "xmlns":
                        continue
                    name = _leaf_name(SYSTEM_NAMES.get((key, str(attr)), str(attr)))
                    if len(attribute_names) < 10_000:
                        attribute_names[(key, attr)] = name
                kind = type(item)
                if kind is str:
                    if not item:
                        continue
                elif kind is int:
                    item = str(item)
                else:
                    item = text(item)
                    if item is None:
                        continue
                row[name] = item
                if name in _HASH_LISTS:
                    _hash_parts(item, row)
        elif value is not None:
            _walk({key: value}, ("System",), row, 1)


_ATTRIBUTE_NAMES: dict[tuple[str, str], str] = {}


def _flatten_winlogbeat(event: Mapping[str, Any]) -> Row:
    winlog = event["winlog"]
    row: Row = {}
    for section in ("event_data", "user_data"):
        if isinstance(winlog.get(section), Mapping):
            _walk(winlog[section], (section,), row)
    for key, name in WINLOGBEAT_SYSTEM.items():
        _put(row, name, winlog.get(key))
    timestamp = event.get("@timestamp")
    if isinstance(timestamp, str):
        row.setdefault("SystemTime", timestamp)
    if "Computer" not in row and isinstance(event.get("host"), Mapping):
        _put(row, "Computer", event["host"].get("name"))
    return row


def _flatten_velociraptor(event: Mapping[str, Any]) -> Row:
    row: Row = {}
    for section in ("EventData", "UserData"):
        if section in event:
            _walk(event[section], (section,), row)
    system = event["System"]
    for key, value in system.items():
        if key == "EventID" and isinstance(value, Mapping):
            _put(row, "EventID", value.get("Value"))
        elif key == "TimeCreated" and isinstance(value, Mapping):
            _put(row, "SystemTime", _velociraptor_time(value.get("SystemTime")))
        elif key == "Provider" and isinstance(value, Mapping):
            _put(row, "Provider_Name", value.get("Name"))
            _put(row, "Guid", value.get("Guid"))
        elif isinstance(value, Mapping):
            _walk(value, (key,), row)
        else:
            _put(row, key, value)
    return row


def _velociraptor_time(value: Any) -> Any:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).isoformat().replace("+00:00", "Z")
    return value


def event_time(row: Mapping[str, str]) -> str | None:
    """The event's creation time as ISO 8601 UTC text, from the fields that carry it."""
    for name in ("SystemTime", "UtcTime", "TimeCreated", "EventTime"):
        value = row.get(name)
        if value:
            return normalise_time(value)
    return None


def normalise_time(value: str) -> str:
    """``2019-07-19 14:42:51.257`` and ``...Z UTC`` forms to ``2019-07-19T14:42:51.257000Z``."""
    if _CANONICAL_TIME.match(value) and not value.endswith(".000000Z"):
        return value  # already the form below (the evtx parser writes it): no datetime round trip
    cleaned = value.strip().removesuffix(" UTC").replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
