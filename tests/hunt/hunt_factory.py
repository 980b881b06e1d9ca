"""Generated Windows events for aptlink's own Sigma rules: one positive and one near miss per rule.

``python tests/hunt/hunt_factory.py`` rewrites tests/data/hunt/mirrorface.jsonl. Each event is written in
one of the shapes the JSON-lines parser reads (Winlogbeat, Velociraptor, evtx_dump, flat), and its
EventRecordID keys the rule titles it must trigger (EXPECTED).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SYSMON = "Microsoft-Windows-Sysmon/Operational"
HOST = "ws01.example.jp"
OUT = Path(__file__).parents[1] / "data" / "hunt" / "mirrorface.jsonl"

SANDBOX_ON = "Windows Sandbox Feature Enabled"
SANDBOX_PS = "Windows Sandbox Feature Enabled - PowerShell Script"
WSB_FILE = "Windows Sandbox Configuration File Created"
SANDBOX_START = "Windows Sandbox Started With a Configuration File"
SANDBOX_SENSITIVE = "Windows Sandbox With Sensitive Configuration"
WDAG = "Activity of the Windows Sandbox Account WDAGUtilityAccount"
STAGING = "Windows Sandbox Enabled, Configured and Started on One Host"  # a correlation
TUNNEL = "Visual Studio Code Remote Tunnel Started"
TUNNEL_SERVICE = "Visual Studio Code Tunnel Installed as a Service"
TUNNEL_NET = "Network Connection to a Visual Studio Code Tunnel Service"
TUNNEL_DNS = "DNS Query for a Visual Studio Code Tunnel Service"
SIDELOAD = "DLL Side-Loading From a User-Writable Folder"
LSASS = "LSASS Memory Dumped With ProcDump or comsvcs MiniDump"
SAM = "SAM, SYSTEM or SECURITY Hive Saved With reg.exe"
NTDS = "NTDS.dit Copied via ntdsutil or a Volume Shadow Copy"
DEFENDER_CMD = "Windows Defender Disabled From the Command Line"
DEFENDER_REG = "Windows Defender Disabled in the Registry"
DEFENDER_LOG = "Windows Defender Real-Time Protection Disabled (Defender Log)"
LOG_CLEARED = "Windows Event Log Cleared"
LOG_CLEAR_CMD = "Event Log Cleared From the Command Line"
RECOVERY = "Backups and Recovery Disabled Before Encryption"
RANSOM_NOTE = "Ransom Note Written (LockBit Style)"


def process(
    image: str, command: str, user: str = "EXAMPLE\\tanaka", **extra: str
) -> dict[str, Any]:
    return {"Image": image, "CommandLine": command, "User": user,
            "ParentImage": "C:\\Windows\\System32\\cmd.exe", **extra}  # fmt: skip


# (record id, shape, channel, event id, event data, expected titles)
CASES: list[tuple[int, str, str, int, dict[str, Any], set[str]]] = [
    (
        1,
        "winlogbeat",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\Dism.exe",
            "dism.exe /online /enable-feature /featurename:Containers-DisposableClientVM /all /norestart",
        ),
        {SANDBOX_ON},
    ),
    (
        2,
        "winlogbeat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\Dism.exe", "dism.exe /online /get-features"),
        set(),
    ),
    (
        3,
        "velociraptor",
        "Microsoft-Windows-PowerShell/Operational",
        4104,
        {
            "ScriptBlockText": "Enable-WindowsOptionalFeature -Online -FeatureName "
            "Containers-DisposableClientVM -All -NoRestart"
        },
        {SANDBOX_PS},
    ),
    (
        4,
        "velociraptor",
        "Microsoft-Windows-PowerShell/Operational",
        4104,
        {"ScriptBlockText": "Get-WindowsOptionalFeature -Online"},
        set(),
    ),
    (
        5,
        "flat",
        SYSMON,
        11,
        {
            "Image": "C:\\Windows\\explorer.exe",
            "TargetFilename": "C:\\Users\\Public\\Documents\\sb.wsb",
        },
        {WSB_FILE},
    ),
    (
        6,
        "flat",
        SYSMON,
        11,
        {
            "Image": "C:\\Windows\\explorer.exe",
            "TargetFilename": "C:\\Users\\Public\\Documents\\sb.wsb.txt",
        },
        set(),
    ),
    (
        7,
        "evtx",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\WindowsSandbox.exe",
            '"C:\\Windows\\System32\\WindowsSandbox.exe" C:\\Users\\Public\\Documents\\sb.wsb',
        ),
        {SANDBOX_START},
    ),
    (
        8,
        "evtx",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\WindowsSandboxClient.exe",
            "WindowsSandboxClient.exe <Configuration><MappedFolders><MappedFolder><HostFolder>"
            "C:\\Users\\Public\\Documents</HostFolder></MappedFolder></MappedFolders><LogonCommand>"
            "<Command>C:\\Users\\WDAGUtilityAccount\\Desktop\\Documents\\run.bat</Command>"
            "</LogonCommand><Networking>Enable</Networking></Configuration>",
        ),
        {SANDBOX_START, SANDBOX_SENSITIVE},
    ),
    (
        9,
        "evtx",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\notepad.exe", "notepad.exe C:\\notes\\HostFolder.txt"),
        set(),
    ),
    (
        10,
        "winlogbeat",
        SYSMON,
        1,
        process(
            "C:\\Users\\WDAGUtilityAccount\\Desktop\\run.exe",
            "run.exe",
            user="DESKTOP-SANDBOX\\WDAGUtilityAccount",
        ),
        {WDAG},
    ),
    (
        11,
        "winlogbeat",
        "Security",
        4624,
        {"TargetUserName": "WDAGUtilityAccount", "LogonType": "2"},
        {WDAG},
    ),
    (12, "winlogbeat", "Security", 4624, {"TargetUserName": "tanaka", "LogonType": "2"}, set()),
    (
        13,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Users\\tanaka\\AppData\\Local\\Temp\\code.exe",
            "code.exe tunnel --accept-server-license-terms --name ws01",
        ),
        {TUNNEL},
    ),
    (
        14,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Users\\tanaka\\Downloads\\code-tunnel.exe",
            "code-tunnel.exe",
            OriginalFileName="code-tunnel.exe",
        ),
        {TUNNEL},
    ),
    (
        15,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Program Files\\Microsoft VS Code\\Code.exe",
            '"C:\\Program Files\\Microsoft VS Code\\Code.exe" C:\\src\\project',
        ),
        set(),
    ),
    (
        16,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Users\\tanaka\\AppData\\Local\\Temp\\code.exe",
            "code.exe tunnel service install --accept-server-license-terms",
        ),
        {TUNNEL, TUNNEL_SERVICE},
    ),
    (
        17,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Users\\tanaka\\.vscode-cli\\code.exe",
            "code.exe tunnel service internal-run --log-to-file tunnel-service.log",
        ),
        {TUNNEL, TUNNEL_SERVICE},
    ),
    (
        18,
        "winlogbeat",
        SYSMON,
        3,
        {
            "Image": "C:\\Users\\tanaka\\AppData\\Local\\Temp\\code.exe",
            "DestinationHostname": "abcd1234-8000.asse.devtunnels.ms",
            "DestinationIp": "20.194.10.5",
        },
        {TUNNEL_NET},
    ),
    (
        19,
        "winlogbeat",
        SYSMON,
        3,
        {
            "Image": "C:\\Program Files\\Microsoft VS Code\\Code.exe",
            "DestinationHostname": "update.code.visualstudio.com",
            "DestinationIp": "13.107.5.1",
        },
        set(),
    ),
    (
        20,
        "winlogbeat",
        SYSMON,
        22,
        {
            "Image": "C:\\Users\\tanaka\\AppData\\Local\\Temp\\code.exe",
            "QueryName": "global.rel.tunnels.api.visualstudio.com",
        },
        {TUNNEL_DNS},
    ),
    (
        21,
        "evtx",
        SYSMON,
        7,
        {
            "Image": "C:\\ProgramData\\McAfee\\ScnCfg32.exe",
            "ImageLoaded": "C:\\ProgramData\\McAfee\\vsodscpl.dll",
            "Signed": "false",
            "Signature": "",
        },
        {SIDELOAD},
    ),
    (
        22,
        "evtx",
        SYSMON,
        7,
        {
            "Image": "C:\\ProgramData\\McAfee\\ScnCfg32.exe",
            "ImageLoaded": "C:\\ProgramData\\McAfee\\mfevtps.dll",
            "Signed": "true",
            "Signature": "McAfee, Inc.",
        },
        set(),
    ),
    (
        23,
        "evtx",
        SYSMON,
        7,
        {
            "Image": "C:\\Program Files\\McAfee\\ScnCfg32.exe",
            "ImageLoaded": "C:\\ProgramData\\McAfee\\vsodscpl.dll",
            "Signed": "false",
        },
        set(),
    ),
    (
        24,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Tools\\procdump64.exe",
            "procdump64.exe -accepteula -ma lsass.exe C:\\Windows\\Temp\\l.dmp",
        ),
        {LSASS},
    ),
    (
        25,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\rundll32.exe",
            "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\Temp\\o.dmp full",
        ),
        {LSASS},
    ),
    (
        26,
        "flat",
        SYSMON,
        1,
        process("C:\\Tools\\procdump64.exe", "procdump64.exe -ma notepad.exe"),
        set(),
    ),
    (
        27,
        "winlogbeat",
        "Security",
        4688,
        {
            "NewProcessName": "C:\\Windows\\System32\\reg.exe",
            "CommandLine": "reg save HKLM\\SAM C:\\ProgramData\\sam.save",
            "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        },
        {SAM},
    ),
    (
        28,
        "winlogbeat",
        "Security",
        4688,
        {
            "NewProcessName": "C:\\Windows\\System32\\reg.exe",
            "CommandLine": "reg query HKLM\\SAM",
            "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        },
        set(),
    ),
    (
        29,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\ntdsutil.exe",
            'ntdsutil "ac i ntds" "ifm" "create full C:\\Windows\\Temp\\ifm" q q',
        ),
        {NTDS},
    ),
    (
        30,
        "flat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\vssadmin.exe", "vssadmin create shadow /for=C:"),
        {NTDS},
    ),
    (
        31,
        "flat",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c copy \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\Windows\\NTDS\\"
            "ntds.dit C:\\Windows\\Temp\\n.dit",
        ),
        {NTDS},
    ),
    (
        32,
        "flat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\vssadmin.exe", "vssadmin list shadows"),
        set(),
    ),
    (
        33,
        "velociraptor",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell.exe Set-MpPreference -DisableRealtimeMonitoring $true",
        ),
        {DEFENDER_CMD},
    ),
    (
        34,
        "velociraptor",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\sc.exe", "sc.exe stop WinDefend"),
        {DEFENDER_CMD},
    ),
    (
        35,
        "velociraptor",
        SYSMON,
        1,
        process(
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell.exe Get-MpPreference",
        ),
        set(),
    ),
    (
        36,
        "winlogbeat",
        SYSMON,
        13,
        {
            "Image": "C:\\Windows\\regedit.exe",
            "TargetObject": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware",
            "Details": "DWORD (0x00000001)",
        },
        {DEFENDER_REG},
    ),
    (
        37,
        "winlogbeat",
        SYSMON,
        13,
        {
            "Image": "C:\\Windows\\regedit.exe",
            "TargetObject": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware",
            "Details": "DWORD (0x00000000)",
        },
        set(),
    ),
    (38, "evtx", "Microsoft-Windows-Windows Defender/Operational", 5001, {}, {DEFENDER_LOG}),
    (
        39,
        "evtx",
        "Microsoft-Windows-Windows Defender/Operational",
        1116,
        {"Threat Name": "Trojan:Win32/Test"},
        set(),
    ),
    (40, "evtx", "Security", 1102, {"SubjectUserName": "tanaka"}, {LOG_CLEARED}),
    (41, "evtx", "System", 104, {"Channel": "Application"}, {LOG_CLEARED}),
    (42, "evtx", "System", 7036, {"param1": "Windows Event Log"}, set()),
    (
        43,
        "flat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\wevtutil.exe", "wevtutil.exe cl Security"),
        {LOG_CLEAR_CMD},
    ),
    (
        44,
        "flat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\wevtutil.exe", "wevtutil.exe qe Security /c:5"),
        set(),
    ),
    (
        45,
        "flat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\vssadmin.exe", "vssadmin.exe delete shadows /all /quiet"),
        {RECOVERY},
    ),
    (
        46,
        "flat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\bcdedit.exe", "bcdedit /set {default} recoveryenabled no"),
        {RECOVERY},
    ),
    (
        47,
        "flat",
        SYSMON,
        1,
        process("C:\\Windows\\System32\\wbadmin.exe", "wbadmin delete catalog -quiet"),
        {RECOVERY},
    ),
    (48, "flat", SYSMON, 1, process("C:\\Windows\\System32\\bcdedit.exe", "bcdedit /enum"), set()),
    (
        49,
        "flat",
        SYSMON,
        11,
        {
            "Image": "C:\\Users\\Public\\lb3.exe",
            "TargetFilename": "C:\\Users\\tanaka\\Documents\\Restore-My-Files.txt",
        },
        {RANSOM_NOTE},
    ),
    (
        50,
        "flat",
        SYSMON,
        11,
        {
            "Image": "C:\\Users\\Public\\lb3.exe",
            "TargetFilename": "C:\\Users\\tanaka\\Documents\\A1b2C3d4E.README.txt",
        },
        {RANSOM_NOTE},
    ),
    (
        51,
        "flat",
        SYSMON,
        11,
        {
            "Image": "C:\\Windows\\explorer.exe",
            "TargetFilename": "C:\\Users\\tanaka\\Documents\\README.txt",
        },
        set(),
    ),
]
EXPECTED = {record: titles for record, _, _, _, _, titles in CASES}
# The sandbox turned on (1), a .wsb written (5) and the sandbox started (7), in that order on one
# host, also fire the correlation, whose detection carries the record of its last event.
EXPECTED[7] = EXPECTED[7] | {STAGING}


def event(
    record: int, shape: str, channel: str, event_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """One event in the given export shape, timed one minute after the previous one."""
    when = f"2024-06-20T01:{record:02d}:00.000Z"
    provider = (
        "Microsoft-Windows-Eventlog" if event_id in (104, 1102) else "Microsoft-Windows-Sysmon"
    )
    if shape == "winlogbeat":
        return {"@timestamp": when, "host": {"name": HOST}, "winlog": {
            "channel": channel, "event_id": event_id, "computer_name": HOST, "record_id": record,
            "provider_name": provider, "event_data": data}}  # fmt: skip
    if shape == "velociraptor":
        return {"System": {"Provider": {"Name": provider}, "EventID": {"Value": event_id},
                "Channel": channel, "Computer": HOST, "EventRecordID": record,
                "TimeCreated": {"SystemTime": 1718845200 + record * 60}},
                "EventData": data}  # fmt: skip
    if shape == "evtx":
        return {"Event": {"System": {"Provider": {"#attributes": {"Name": provider}},
                "EventID": event_id, "Channel": channel, "Computer": HOST,
                "EventRecordID": record, "TimeCreated": {"#attributes": {"SystemTime": when}}},
                "EventData": data}}  # fmt: skip
    return {"Channel": channel, "EventID": event_id, "Computer": HOST, "EventRecordID": record,
            "SystemTime": when, "Provider_Name": provider, **data}  # fmt: skip


def lines() -> list[str]:
    return [json.dumps(event(r, s, c, e, d), ensure_ascii=False) for r, s, c, e, d, _ in CASES]


if __name__ == "__main__":
    OUT.write_text("\n".join(lines()) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} events to {OUT}")
