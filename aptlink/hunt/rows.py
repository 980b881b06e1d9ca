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
from itertools import compress
from typing import Annotated, Any, Generic, TypeVar, cast

import msgspec

from aptlink.hunt.winlogbeat import dig, moved_fields

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
    ("EventID", "Value"): "EventID",  # (Velociraptor, golang-evtx)
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
                if not _bare_attributes(value):
                    _walk({key: value}, ("System",), row, 1)
                    continue
                attributes = value  # (``{"Provider": {"Name": ...}}``: no ``#attributes`` level)
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


def _bare_attributes(element: dict[str, Any]) -> bool:
    """A System element written as its attributes alone, as golang-evtx (WHIDS, evtxdump) and
    other tools write ``Event`` JSON: ``"Provider": {"Name": ..., "Guid": ...}``, ``"EventID":
    {"Qualifiers": ..., "Value": ...}``; read like ``#attributes``, so ``Name`` is
    ``Provider_Name`` and ``Value`` the ``EventID``."""
    return "#text" not in element and all(type(v) in _SCALARS for v in element.values())


# -- the evtx parser's JSON decoded straight into typed records ---------------------------------
#
# Nearly every record the evtx parser writes has one shape: ``Event`` with ``#attributes``, a
# ``System`` of known elements and attributes, and an ``EventData`` of named scalars. msgspec
# decodes that shape into the structs below (no dict per System element, no walk over them);
# anything else (UserData, a nested value, an unknown element or attribute, a boolean or float
# where an integer is expected, an integer outside int64, which orjson would read as a float)
# raises, and the record goes through orjson and ``flatten`` as before. Both give the same row.

_Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_Scalar = _Int | str | None
_DataScalar = int | str | float | bool | None  # (ints checked in ``_typed_data``: orjson's range)
_LOWEST_INT, _HIGHEST_INT = -(2**63), 2**64 - 1  # orjson reads integers beyond these as floats


_A = TypeVar("_A")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An unexpected element or attribute raises: the record is then read the generic way.
    (``gc=False``: records hold scalars and records, never a cycle; untracked, the thousands
    decoded per batch do not set off collections.)"""


class _DataText(_Strict):
    """``"Data": {"#text": [...]}``: the unnamed ``<Data>`` elements of an event."""

    text: list[_DataScalar] | _DataScalar = msgspec.field(name="#text")


class _Attributed(_Strict, Generic[_A]):
    """An element that holds only its ``#attributes`` (Provider, TimeCreated, Correlation,
    Execution, Security)."""

    attributes: _A = msgspec.field(name="#attributes")


class _ProviderAttributes(_Strict):
    Name: _Scalar = None
    Guid: _Scalar = None
    EventSourceName: _Scalar = None


class _QualifiersAttributes(_Strict):
    Qualifiers: _Scalar = None


class _QualifiedEventID(_Strict):
    attributes: _QualifiersAttributes = msgspec.field(name="#attributes")
    text: _Scalar = msgspec.field(name="#text", default=None)


class _TimeAttributes(_Strict):
    SystemTime: _Scalar = None


class _CorrelationAttributes(_Strict):
    ActivityID: _Scalar = None
    RelatedActivityID: _Scalar = None


class _ExecutionAttributes(_Strict):
    ProcessID: _Scalar = None
    ThreadID: _Scalar = None
    ProcessorID: _Scalar = None
    SessionID: _Scalar = None
    KernelTime: _Scalar = None
    UserTime: _Scalar = None
    ProcessorTime: _Scalar = None


class _SecurityAttributes(_Strict):
    UserID: _Scalar = None


class _System(_Strict):
    Provider: _Attributed[_ProviderAttributes] | None = None
    EventID: _Int | str | _QualifiedEventID | None = None
    Version: _Scalar = None
    Level: _Scalar = None
    Task: _Scalar = None
    Opcode: _Scalar = None
    Keywords: _Scalar = None
    TimeCreated: _Attributed[_TimeAttributes] | None = None
    EventRecordID: _Scalar = None
    Correlation: _Attributed[_CorrelationAttributes] | None = None
    Execution: _Attributed[_ExecutionAttributes] | None = None
    Channel: _Scalar = None
    Computer: _Scalar = None
    Security: _Attributed[_SecurityAttributes] | None = None


class _EventBody(_Strict):
    System: _System
    attributes: dict[str, _Scalar] | None = msgspec.field(name="#attributes", default=None)
    EventData: dict[str, _DataScalar | _DataText] | None = None


class _EvtxRecord(_Strict):
    Event: _EventBody


_EVTX_DECODER = msgspec.json.Decoder(_EvtxRecord)
_SYSTEM_FIELDS = (  # the row's names of the values ``flatten_evtx_json`` takes from System
    "Provider_Name",
    "Guid",
    "EventSourceName",
    "Qualifiers",
    "EventID",
    "Version",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "SystemTime",
    "EventRecordID",
    "ActivityID",
    "RelatedActivityID",
    "ProcessID",
    "ThreadID",
    "ProcessorID",
    "SessionID",
    "KernelTime",
    "UserTime",
    "ProcessorTime",
    "Channel",
    "Computer",
    "UserID",
)
_NO_PROVIDER = _ProviderAttributes()
_NO_EXECUTION = _ExecutionAttributes()
_NO_QUALIFIERS = _QualifiersAttributes()


def flatten_evtx_json(data: str | bytes) -> Row | None:
    """The row of one record of the evtx parser's JSON, as ``flatten(orjson.loads(data))`` gives
    it; None when the record is not of the common shape (the caller then takes that path)."""
    try:
        body = _EVTX_DECODER.decode(data).Event
    except ValueError:  # msgspec's DecodeError and ValidationError, a string that is not UTF-8
        return None
    data_section = body.EventData
    row = _plain_data(data_section) if data_section else {}
    if row is None:
        row = {}
        if not _typed_data(data_section, row):  # type: ignore[arg-type]
            return None
    system = body.System
    provider = system.Provider.attributes if system.Provider is not None else _NO_PROVIDER
    event_id = system.EventID
    qualifiers = _NO_QUALIFIERS
    if type(event_id) is _QualifiedEventID:
        qualifiers, event_id = event_id.attributes, event_id.text
    execution = system.Execution.attributes if system.Execution is not None else _NO_EXECUTION
    time = system.TimeCreated
    correlation = system.Correlation
    security = system.Security
    # (System last and in the evtx parser's order of elements, as ``_flat_system`` writes them)
    for name, value in zip(
        _SYSTEM_FIELDS,
        (
            provider.Name,
            provider.Guid,
            provider.EventSourceName,
            qualifiers.Qualifiers,
            event_id,
            system.Version,
            system.Level,
            system.Task,
            system.Opcode,
            system.Keywords,
            None if time is None else time.attributes.SystemTime,
            system.EventRecordID,
            None if correlation is None else correlation.attributes.ActivityID,
            None if correlation is None else correlation.attributes.RelatedActivityID,
            execution.ProcessID,
            execution.ThreadID,
            execution.ProcessorID,
            execution.SessionID,
            execution.KernelTime,
            execution.UserTime,
            execution.ProcessorTime,
            system.Channel,
            system.Computer,
            None if security is None else security.attributes.UserID,
        ),
        strict=True,
    ):
        if type(value) is str:
            if value:
                row[name] = value
        elif value is not None:
            row[name] = str(value)
    return row


_PLAIN_KEYS: dict[tuple[str, ...], bool] = {}
_TEXTS, _TEXTS_AND_INTS = {str}, {str, int}


def _plain_data(body: dict[str, _DataScalar | _DataText]) -> Row | None:
    """The row of an ``EventData`` whose keys are field names already (no hash list to split)
    and whose values are texts and integers, as most events' are, made by C-level dict
    operations instead of ``_typed_data``'s loop (same keys, order and texts); None otherwise.
    Rows with hash lists or booleans cost more this way than in the loop (measured)."""
    keys = tuple(body)
    plain = _PLAIN_KEYS.get(keys)
    if plain is None:
        plain = all(_leaf_name(key) == key and key not in _HASH_LISTS for key in keys)
        if len(_PLAIN_KEYS) < 10_000:
            _PLAIN_KEYS[keys] = plain
    if not plain:
        return None
    values = body.values()
    kinds = set(map(type, values))
    if kinds == _TEXTS:  # (decoded for this row alone: it is the row, no copy)
        row = cast(Row, body)
    elif kinds <= _TEXTS_AND_INTS:
        texts = list(map(str, values))
        # an integer orjson reads as a float (beyond 64 bits) has 20 digits or more: only then
        # are the integers compared one by one (the general path gives those rows)
        digits = max(map(len, compress(texts, map(int.__instancecheck__, values))))
        if digits >= 20 and not all(
            _LOWEST_INT <= v <= _HIGHEST_INT for v in values if type(v) is int
        ):
            return None
        row = dict(zip(keys, texts, strict=True))
    else:
        return None
    if "" in row.values():
        row = {key: value for key, value in row.items() if value}
    return row


def _typed_data(body: dict[str, _DataScalar | _DataText], row: Row) -> bool:
    """``_flat_data`` for a decoded ``EventData``; False for an integer orjson would have read as
    a float (beyond 64 bits), whose text would differ."""
    names = _LEAF_NAMES
    for key, value in body.items():
        kind = type(value)
        if kind is str:
            if not value:
                continue
        elif kind is int:
            if not _LOWEST_INT <= value <= _HIGHEST_INT:  # type: ignore[operator]
                return False
            value = str(value)
        elif kind is _DataText:
            inner = value.text  # type: ignore[union-attr]
            if type(inner) is int and not _LOWEST_INT <= inner <= _HIGHEST_INT:
                return False
            if type(inner) is list and any(
                type(item) is int and not _LOWEST_INT <= item <= _HIGHEST_INT for item in inner
            ):
                return False
            _put(row, key or "text", inner)  # (what ``_walk`` does with ``{"#text": ...}``)
            continue
        else:
            value = text(value)
            if value is None:
                continue
        name = names.get(key) or _leaf_name(key)  # type: ignore[arg-type]
        row[name] = value  # type: ignore[assignment]
        if name in _HASH_LISTS:
            _hash_parts(value, row)  # type: ignore[arg-type]
    return True


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
    if "EventID" not in row:
        _put(row, "EventID", dig(event, "event.code"))
    for name, value in moved_fields(event, row).items():  # what Elastic's processing renamed
        _put(row, name, value)
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
        elif key == "Keywords" and type(value) is int and value >= 0:
            _put(row, key, hex(value))  # (a number here; Windows and the evtx parser write hex)
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
