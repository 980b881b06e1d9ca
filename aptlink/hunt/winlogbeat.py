"""Winlogbeat events with the Windows field names Sigma rules use, even after Elastic's processing.

Winlogbeat's sysmon, security and powershell modules rename many event fields to ECS fields (in the
beat in 7.x, in Elasticsearch ingest pipelines in 8.x): an export from Elasticsearch or Kibana has
``process.command_line`` and ``process.parent.executable`` where the event said ``CommandLine`` and
``ParentImage``, and no ``Hashes``, ``User`` or ``TargetObject`` at all. A Sigma hunt over such an
export would miss nearly every Sysmon detection. :func:`moved_fields` gives those values back under
their Windows names, only for names the event's ``event_data`` no longer has: raw Winlogbeat output
keeps every field and is read as it is. The renames are data (``winlogbeat_moves.yaml``); the values
a module rewrote (hashes split and lower-cased, the user split at the backslash, registry data
typed, process ids made decimal) are rebuilt here.
"""

from __future__ import annotations

import functools
from collections import ChainMap
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"
CLASSIC_POWERSHELL = "Windows PowerShell"
_HASH_ORDER = ("sha1", "md5", "sha256", "imphash")  # the order Sysmon writes them in
QWORD_LOST = "QWORD (value lost in Winlogbeat's processing)"
_DIRECTIONS = {"egress": "true", "outbound": "true", "ingress": "false", "inbound": "false"}
# the key=value lines of a classic PowerShell event's third Data item, in the order it has them
_CLASSIC_KEYS = (
    "NewEngineState",
    "PreviousEngineState",
    "ProviderName",
    "NewProviderState",
    "HostName",
    "HostVersion",
    "HostId",
    "HostApplication",
    "EngineVersion",
    "RunspaceId",
    "PipelineId",
    "CommandName",
    "CommandType",
    "ScriptName",
    "CommandPath",
    "CommandLine",
)

Renames = dict[str, str]  # ECS field -> Windows field


@functools.cache
def renames() -> dict[str, tuple[Renames, dict[str, Renames]]]:
    """Per channel: the renames of all its events, and those of single event ids."""
    text = resources.files("aptlink.hunt").joinpath("winlogbeat_moves.yaml").read_text("utf-8")
    table: dict[str, tuple[Renames, dict[str, Renames]]] = {}
    for channel, spec in yaml.safe_load(text).items():
        events = {str(number): dict(names) for number, names in (spec.get("events") or {}).items()}
        table[channel] = (dict(spec.get("all") or {}), events)
    return table


def moved_fields(event: Mapping[str, Any], row: dict[str, str]) -> dict[str, Any]:
    """Windows field -> value for the fields of ``event`` that Winlogbeat moved out of
    ``event_data`` and ``row`` (the event flattened so far, with Channel and EventID) lacks."""
    channel, event_id = row.get("Channel", ""), row.get("EventID", "")
    found: dict[str, Any] = {}
    for ecs, name in _renames_of(channel, event_id):
        if name not in row and name not in found:
            value = dig(event, ecs)
            if value is not None and not isinstance(value, Mapping):
                found[name] = value
    computed = _computed(event, channel, event_id, ChainMap(found, row))
    found.update((name, value) for name, value in computed.items() if name not in row)
    return found


@functools.lru_cache(maxsize=4096)  # (bounded: channels and ids come from the evidence)
def _renames_of(channel: str, event_id: str) -> tuple[tuple[str, str], ...]:
    """The renames of one channel's event id: its own over the channel's common ones."""
    every, per_event = renames().get(channel, ({}, {}))
    return tuple({**every, **per_event.get(event_id, {})}.items())


def dig(event: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted ECS path, nested (``{"process": {"pid": 1}}``) or as one flat key
    (``{"process.pid": 1}``, as some exports write it); None when absent."""
    if dotted in event:
        return event[dotted]
    node: Any = event
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
        if node is None:
            return None
    return node


def _computed(
    event: Mapping[str, Any], channel: str, event_id: str, row: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields a module rewrote rather than renamed, rebuilt in the event's own form
    (``row``: the fields known so far, put back ones included)."""
    found: dict[str, Any] = {}
    if channel == SYSMON:
        domain, name = dig(event, "user.domain"), dig(event, "user.name")
        if isinstance(domain, str) and isinstance(name, str) and domain and name:
            found["User"] = f"{domain}\\{name}"
        hashes = _hash_list(event)
        if hashes:
            found["Hash" if event_id == "15" else "Hashes"] = hashes
        direction = dig(event, "network.direction")
        if isinstance(direction, str) and direction.lower() in _DIRECTIONS:
            found["Initiated"] = _DIRECTIONS[direction.lower()]
        details = _registry_details(event)
        if details is not None:
            found["Details"] = details
    elif channel == SECURITY:
        pid = dig(event, "process.pid")  # Windows writes these ids in hexadecimal
        if type(pid) is int and pid >= 0:
            found["NewProcessId" if event_id == "4688" else "ProcessId"] = hex(pid)
    if "Data" not in row:
        data = _data_items(event, channel, row)
        if data:
            found["Data"] = data
    return found


def _hash_list(event: Mapping[str, Any]) -> str | None:
    """``SHA1=..,MD5=..,SHA256=..,IMPHASH=..`` from ``process.hash.*`` or ``file.hash.*`` (and
    ``*.pe.imphash``), as Sysmon wrote it before the module split and lower-cased it."""
    for owner in ("process", "file"):
        parts: dict[str, str] = {}
        nested = dig(event, f"{owner}.hash")
        if isinstance(nested, Mapping):
            parts.update((str(k).lower(), v) for k, v in nested.items() if isinstance(v, str))
        prefix = f"{owner}.hash."
        parts.update(
            (k[len(prefix) :].lower(), v) for k, v in event.items() if k.startswith(prefix)
        )
        imphash = dig(event, f"{owner}.pe.imphash")
        if isinstance(imphash, str):
            parts["imphash"] = imphash
        parts = {k: v for k, v in parts.items() if isinstance(v, str) and v}
        if parts:
            order = [k for k in _HASH_ORDER if k in parts] + sorted(set(parts) - set(_HASH_ORDER))
            return ",".join(f"{k.upper()}={parts[k].upper()}" for k in order)
    return None


def _registry_details(event: Mapping[str, Any]) -> str | None:
    """Sysmon's ``Details`` from ``registry.data``: ``DWORD (0x00000001)`` for a DWORD (the
    module turned it into decimal), the text itself otherwise. The module's conversion of a
    QWORD loses its value: no value is made up, but the text says it was a QWORD, so that rules
    asking whether a value was written at all (or of which type) still decide right."""
    strings, kind = dig(event, "registry.data.strings"), dig(event, "registry.data.type")
    if not isinstance(strings, list) or not strings or not isinstance(strings[0], str):
        return None
    if kind == "SZ_DWORD":
        try:
            return f"DWORD (0x{int(strings[0]):08x})"
        except ValueError:
            return None
    return QWORD_LOST if kind == "SZ_QWORD" else strings[0]


def _data_items(event: Mapping[str, Any], channel: str, row: Mapping[str, Any]) -> list[str]:
    """The unnamed ``<Data>`` items of an event, which the evtx parser gives as ``Data`` and
    Winlogbeat as ``param1``, ``param2`` ...; for classic PowerShell, whose module also drops
    them, the ``key=value`` lines of the third item rebuilt from the fields put back."""
    event_data = dig(event, "winlog.event_data")
    if isinstance(event_data, Mapping):
        params = [(k[5:], v) for k, v in event_data.items() if str(k).startswith("param")]
        numbered = sorted((int(n), v) for n, v in params if n.isdigit() and isinstance(v, str))
        if numbered:
            return [value for _, value in numbered if value]
    if channel == CLASSIC_POWERSHELL:
        # (``row`` holds event_data's fields already, and the ones put back)
        values = ((key, row.get(key)) for key in _CLASSIC_KEYS)
        lines = [f"{key}={value}" for key, value in values if isinstance(value, str) and value]
        return ["\n".join(lines)] if lines else []
    return []
