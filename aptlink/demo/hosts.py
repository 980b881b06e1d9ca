"""The demo's host traces: Windows events as JSON lines in the shape Winlogbeat writes, one file per
host, with record numbers, process ids and times filled in deterministically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from aptlink.demo.mail import as_datetime

PROVIDERS = {
    "Microsoft-Windows-Sysmon/Operational": "Microsoft-Windows-Sysmon",
    "Microsoft-Windows-PowerShell/Operational": "Microsoft-Windows-PowerShell",
    "Security": "Microsoft-Windows-Eventlog",
    "System": "Microsoft-Windows-Eventlog",
}
FIRST_RECORD = 48_210


def host_log(spec: Mapping[str, Any]) -> bytes:
    """The JSON lines of one host's events, in time order."""
    events = sorted(spec["events"], key=lambda e: as_datetime(e["at"]))
    lines = [_event(spec, e, FIRST_RECORD + n * 7) for n, e in enumerate(events)]
    return ("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n").encode()


def _event(host: Mapping[str, Any], event: Mapping[str, Any], record: int) -> dict[str, Any]:
    when = as_datetime(event["at"])
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    channel = event["channel"]
    data = {k: str(v) for k, v in event["data"].items()}
    if channel.startswith("Microsoft-Windows-Sysmon"):
        data = _sysmon_fields(host, data, when.strftime("%Y-%m-%d %H:%M:%S.000"))
    return {
        "@timestamp": stamp,
        "event": {"code": str(event["id"]), "provider": PROVIDERS[channel], "kind": "event"},
        "host": {"name": host["host"]},
        "winlog": {
            "channel": channel,
            "event_id": event["id"],
            "computer_name": host["host"],
            "record_id": record,
            "provider_name": PROVIDERS[channel],
            "event_data": data,
        },
    }


def _sysmon_fields(host: Mapping[str, Any], data: dict[str, str], utc_time: str) -> dict[str, str]:
    image = data.get("Image") or data.get("SourceImage") or ""
    pid = 1000 + int(hashlib.sha256(f"{host['host']}|{image}".encode()).hexdigest()[:4], 16) % 8000
    return {
        "RuleName": "-",
        "UtcTime": utc_time,
        "ProcessGuid": _guid(host["host"], image),
        "ProcessId": str(pid),
        "User": host.get("user", ""),
        **data,
    }


def _guid(*parts: str) -> str:
    h = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return "{" + f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}".upper() + "}"
