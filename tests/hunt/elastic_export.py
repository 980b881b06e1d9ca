"""Windows events as Winlogbeat ships them and as Elasticsearch stores them after its modules.

``winlogbeat(event)`` turns an event of the evtx parser's JSON into a raw Winlogbeat document
(``winlog.event_data`` holds every field, as text; unnamed ``<Data>`` items are ``param1`` ...).
``elastic(doc)`` then does to it what Winlogbeat 8's ingest pipelines for the sysmon, security and
powershell modules do (elastic/beats x-pack/winlogbeat/module/*/ingest/*.yml, read for this and
transcribed here independently of aptlink's own table): renames to ECS fields, splits, removals.
The tests compare what aptlink reads from both with what it reads from the .evtx.
"""

from __future__ import annotations

import copy
from typing import Any

SYSMON = "Microsoft-Windows-Sysmon/Operational"
PS_OPERATIONAL = "Microsoft-Windows-PowerShell/Operational"
PS_CLASSIC = "Windows PowerShell"

# (Windows field, ECS field, event ids or None for all): the Sysmon pipeline's renames
SYSMON_RENAMES: list[tuple[str, str, set[str] | None]] = [
    ("ProcessGuid", "process.entity_id", None),
    ("ProcessId", "process.pid", None),
    ("Image", "process.executable", None),
    ("SourceProcessGuid", "process.entity_id", None),
    ("SourceProcessGUID", "process.entity_id", None),
    ("SourceProcessId", "process.pid", None),
    ("SourceThreadId", "process.thread.id", None),
    ("SourceImage", "process.executable", None),
    ("Destination", "process.executable", None),
    ("CommandLine", "process.command_line", None),
    ("CurrentDirectory", "process.working_directory", None),
    ("ParentProcessGuid", "process.parent.entity_id", None),
    ("ParentProcessId", "process.parent.pid", None),
    ("ParentImage", "process.parent.executable", None),
    ("ParentCommandLine", "process.parent.command_line", None),
    ("TargetFilename", "file.path", None),
    ("Device", "file.path", None),
    ("PipeName", "file.name", None),
    ("ImageLoaded", "file.path", None),
    ("Protocol", "network.transport", None),
    ("SourceHostname", "source.domain", None),
    ("DestinationHostname", "destination.domain", None),
    ("SourceIp", "source.ip", None),
    ("SourcePort", "source.port", None),
    ("DestinationIp", "destination.ip", None),
    ("DestinationPort", "destination.port", None),
    ("QueryName", "dns.question.name", None),
    ("RuleName", "rule.name", None),
]
SYSMON_REMOVED = {
    "SourcePortName", "DestinationPortName", "SourceIsIpv6", "DestinationIsIpv6", "QueryStatus",
    "Archived", "IsExecutable", "QueryResults", "UtcTime", "Hash", "Hashes", "TargetObject",
    "Details", "User", "Initiated",
}  # fmt: skip
INTEGERS = {
    "process.pid",
    "process.parent.pid",
    "process.thread.id",
    "source.port",
    "destination.port",
}
SECURITY_AUTH_EVENTS = {
    "1100", "1102", "1104", "1105", "1108", "4624", "4648", "4625", "4670", "4673", "4674", "4689",
    "4697", "4719", "4720", "4722", "4723", "4724", "4725", "4726", "4727", "4728", "4729", "4730",
    "4731", "4732", "4733", "4734", "4735", "4737", "4738", "4740", "4741", "4742", "4743", "4744",
    "4745", "4746", "4747", "4748", "4749", "4750", "4751", "4752", "4753", "4754", "4755", "4756",
    "4757", "4758", "4759", "4760", "4761", "4762", "4763", "4764", "4767", "4768", "4769", "4770",
    "4771", "4798", "4799", "4817", "4904", "4905", "4907", "4912",
}  # fmt: skip
PS_RENAMES = {
    "HostID": "process.entity_id", "HostId": "process.entity_id",
    "HostApplication": "process.command_line", "HostName": "process.title",
    "ShellID": "powershell.id", "EngineVersion": "powershell.engine.version",
    "PipelineID": "powershell.pipeline_id", "PipelineId": "powershell.pipeline_id",
    "RunspaceID": "powershell.runspace_id", "RunspaceId": "powershell.runspace_id",
    "HostVersion": "powershell.process.executable_version",
    "CommandLine": "powershell.command.value", "CommandPath": "powershell.command.path",
    "CommandName": "powershell.command.name", "CommandType": "powershell.command.type",
    "ScriptBlockId": "powershell.file.script_block_id",
    "ScriptBlockText": "powershell.file.script_block_text",
    "NewEngineState": "powershell.engine.new_state",
    "PreviousEngineState": "powershell.engine.previous_state",
    "NewProviderState": "powershell.provider.new_state", "ProviderName": "powershell.provider.name",
    "ScriptName": "file.path",
}  # fmt: skip
PS_REMOVED = {
    "SequenceNumber", "User", "ConnectedUser", "ContextInfo", "Severity", "MessageTotal",
    "MessageNumber", "Payload",
}  # fmt: skip
PS_CLASSIC_REMOVED = {"param1", "param2", "param3", "DetailTotal", "DetailSequence", "UserId"}


def winlogbeat(event: dict[str, Any]) -> dict[str, Any]:
    """The raw Winlogbeat document of one evtx-parser event (no module processing)."""
    body = event["Event"]
    system = body["System"]
    event_id = system["EventID"]
    if isinstance(event_id, dict):
        event_id = event_id.get("#text")
    provider = (system.get("Provider") or {}).get("#attributes", {})
    when = ((system.get("TimeCreated") or {}).get("#attributes") or {}).get("SystemTime")
    data: dict[str, str] = {}
    section = body.get("EventData") or body.get("UserData") or {}
    if isinstance(section, dict):
        for key, value in section.items():
            if key == "#attributes":
                continue
            if key == "Data" and isinstance(value, dict) and "#text" in value:
                items = value["#text"] if isinstance(value["#text"], list) else [value["#text"]]
                for number, item in enumerate(items, 1):
                    data[f"param{number}"] = "" if item is None else str(item)
            elif isinstance(value, dict | list):
                continue  # (nested user data: not what these tests are about)
            elif value is not None:
                data[key] = (
                    ("true" if value else "false") if isinstance(value, bool) else str(value)
                )
    return {
        "@timestamp": when,
        "host": {"name": system.get("Computer")},
        "winlog": {
            "channel": system.get("Channel"),
            "event_id": str(event_id),
            "computer_name": system.get("Computer"),
            "record_id": system.get("EventRecordID"),
            "provider_name": provider.get("Name"),
            "event_data": data,
        },
    }


def elastic(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as Winlogbeat 8's ingest pipeline for its channel leaves it."""
    doc = copy.deepcopy(doc)
    channel, code = doc["winlog"]["channel"], doc["winlog"]["event_id"]
    data: dict[str, str] = doc["winlog"]["event_data"]
    if channel == SYSMON:
        _sysmon(doc, data, code)
    elif channel == "Security":
        _security(doc, data, code)
    elif channel in (PS_OPERATIONAL, PS_CLASSIC):
        _powershell(doc, data, channel, code)
    return doc


def put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node = doc
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _sysmon(doc: dict[str, Any], data: dict[str, str], code: str) -> None:
    for key in [
        k for k, v in data.items() if v in ("", "-", "{00000000-0000-0000-0000-000000000000}")
    ]:
        del data[key]
    if "Hash" in data:
        data["Hashes"] = data.pop("Hash")
    hashes = {}
    for part in data.get("Hashes", "").split(","):
        alg, _, digest = part.partition("=")
        if digest and digest.strip("0"):
            hashes[alg.lower()] = digest.lower()
    owner = "process" if code in ("1", "23", "24", "25", "26") else "file"
    if hashes and code in ("1", "23", "24", "25", "26", "6", "7", "15", "29"):
        imphash = hashes.pop("imphash", None)
        put(doc, f"{owner}.hash", hashes)
        if imphash:
            put(doc, f"{owner}.pe.imphash", imphash)
    if "OriginalFileName" in data:
        put(
            doc,
            ("file" if code == "7" else "process") + ".pe.original_file_name",
            data.pop("OriginalFileName"),
        )
    for name, ecs, codes in SYSMON_RENAMES:
        if name in data and (codes is None or code in codes):
            value: Any = data.pop(name)
            put(doc, ecs, int(value) if ecs in INTEGERS and value.isdigit() else value)
    user = data.get("User", "").split("\\")
    if len(user) == 2:
        put(doc, "user.domain", user[0])
        put(doc, "user.name", user[1])
    direction = {"true": "egress", "false": "ingress"}.get(data.get("Initiated", ""))
    if direction:
        put(doc, "network.direction", direction)
    if code in ("12", "13", "14") and "TargetObject" in data:
        put(doc, "registry.path", data["TargetObject"])
        details = data.get("Details")
        if details:
            put(doc, "registry.data", _registry_data(details))
    if "TargetProcessGuid" in data:
        data["TargetProcessGUID"] = data.pop("TargetProcessGuid")
    for name in SYSMON_REMOVED:
        data.pop(name, None)


def _registry_data(details: str) -> dict[str, Any]:
    if details.startswith("DWORD (0x") and details.endswith(")"):
        return {"strings": [str(int(details[9:-1], 16))], "type": "SZ_DWORD"}
    if details.startswith("QWORD ("):
        return {"strings": ["(lost)"], "type": "SZ_QWORD"}
    return {"strings": [details], "type": "REG_BINARY" if details == "Binary Data" else "REG_SZ"}


def _security(doc: dict[str, Any], data: dict[str, str], code: str) -> None:
    moves = {"ProcessId": "process.pid", "ProcessName": "process.executable",
             "IpAddress": "source.ip", "IpPort": "source.port", "WorkstationName": "source.domain",
             "ClientAddress": "related.ip"} if code in SECURITY_AUTH_EVENTS else {}  # fmt: skip
    if code == "4688":
        moves = {"NewProcessId": "process.pid", "NewProcessName": "process.executable",
                 "ParentProcessName": "process.parent.executable"}  # fmt: skip
    for name, ecs in moves.items():
        value: Any = data.get(name)
        if value is None or (name in ("IpAddress", "IpPort", "ClientAddress") and value == "-"):
            continue
        del data[name]
        if ecs.endswith(".pid"):
            value = int(value, 16) if value.lower().startswith("0x") else int(value)
        elif ecs == "source.port":
            value = int(value)
        elif ecs == "source.ip":
            value = value.replace("::ffff:", "")
        put(doc, ecs, value)


def _powershell(doc: dict[str, Any], data: dict[str, str], channel: str, code: str) -> None:
    if channel == PS_CLASSIC:
        text = data.get("param2" if code == "800" else "param3", "")
        for line in text.replace("\r\n", "\n").split("\n"):
            key, sep, value = line.strip("\n\t ").partition("=")
            if sep and key:
                data[key] = value
    elif code == "4103":
        for line in data.get("ContextInfo", "").replace("\r\n", "\n").split("\n"):
            key, sep, value = line.partition("=")
            if sep and key.strip():
                data["".join(key.split())] = value.strip()
    if channel == PS_OPERATIONAL and "Path" in data:
        data["ScriptName"] = data.pop("Path")
    for name, ecs in PS_RENAMES.items():
        if data.get(name):
            put(doc, ecs, data.pop(name))
    for name in PS_REMOVED | (PS_CLASSIC_REMOVED if channel == PS_CLASSIC else set()):
        data.pop(name, None)
    for key in [k for k, v in data.items() if v == ""]:
        del data[key]
