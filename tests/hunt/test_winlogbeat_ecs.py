"""Winlogbeat events exported from Elasticsearch, where the sysmon, security and powershell modules
renamed the Windows fields to ECS, are read with their Windows names again (aptlink.hunt.winlogbeat).

The Elastic form of each event is made by tests/hunt/elastic_export.py from the event itself."""

from __future__ import annotations

import json
from pathlib import Path

import elastic_export as ee
import evtx
import hunt_factory as hf
import orjson
import pytest

from aptlink.hunt.rows import flatten
from aptlink.hunt.rules import PACKAGE_RULES, load_rules
from aptlink.hunt.runner import hunt
from aptlink.hunt.winlogbeat import QWORD_LOST

SAMPLES = Path(__file__).parents[2] / "../shared/data/evtx/attack-samples"
CHANNELS = {ee.SYSMON, "Security", ee.PS_OPERATIONAL, ee.PS_CLASSIC}
# What the modules drop or rewrite beyond recovery (each checked on the samples): Sysmon's UtcTime
# (the event time is kept), the IPv6 flags, port names, DNS status and results, archive flags
# and QWORD registry values (the type is kept); PowerShell's message counters and the classic
# events' raw Data items (their key=value lines are rebuilt, see test_classic_powershell_data).
# Any value "-" is dropped too.
LOST = {
    "UtcTime", "SourceIsIpv6", "DestinationIsIpv6", "SourcePortName", "DestinationPortName",
    "QueryStatus", "QueryResults", "IsExecutable", "Archived", "MessageNumber", "MessageTotal",
    "param1", "param2", "param3", "Data",
}  # fmt: skip


@pytest.fixture(scope="module")
def sample_events() -> list[dict]:
    events = []
    for path in sorted(SAMPLES.rglob("*.evtx")):
        for record in evtx.PyEvtxParser(str(path)).records_json():
            event = orjson.loads(record["data"])
            if event["Event"]["System"].get("Channel") in CHANNELS:
                events.append(event)
    return events


def _lost(name: str, value: str, raw: dict[str, str]) -> bool:
    if name in LOST or value == "-":
        return True
    if name == "Hash" and "=" not in value:
        return True  # (a stream hash "Unknown" does not survive the module)
    # an all-zero hash is dropped by the module, and ::ffff: stripped from addresses
    return (name.upper() in ("IMPHASH", "MD5", "SHA1", "SHA256") and not value.strip("0")) or (
        name == "IpAddress" and value.startswith("::ffff:")
    )


def _hashes(value: str) -> str:
    parts = (part.partition("=") for part in value.casefold().split(","))
    return ",".join(sorted(f"{alg}={digest}" for alg, _, digest in parts if digest.strip("0")))


def test_elastic_export_of_the_attack_samples_has_every_field_of_the_raw_events(sample_events):
    assert len(sample_events) > 4000
    missing, different = [], []
    for event in sample_events:
        raw = flatten(ee.winlogbeat(event))
        stored = flatten(ee.elastic(ee.winlogbeat(event)))
        lowered = {k.lower(): v for k, v in stored.items()}  # (rules name fields in any case)
        for name, value in raw.items():
            if _lost(name, value, raw):
                continue
            if name in ("Hashes", "Hash"):  # order kept, all-zero hashes dropped, lower-cased
                value, lowered[name.lower()] = (
                    _hashes(value),
                    _hashes(lowered.get(name.lower(), "")),
                )
            if name == "Details" and value.startswith("QWORD ("):  # (its value is lost)
                value = QWORD_LOST
            if name.lower() not in lowered:
                missing.append((raw["Channel"], raw["EventID"], name))
            elif lowered[name.lower()].casefold() != value.casefold():  # (hashes lower-cased)
                different.append((raw["EventID"], name, value, lowered[name.lower()]))
    assert missing == []
    assert different == []


def test_raw_winlogbeat_reads_like_the_evtx(sample_events):
    """Nothing is put back into a raw document, and its unnamed Data items become ``Data`` (an
    event whose items are *named* param1, param2 ... gets a ``Data`` too: Winlogbeat's names for
    unnamed items are the same, so the two cannot be told apart)."""
    datas = 0
    for event in sample_events:
        raw, native = flatten(ee.winlogbeat(event)), flatten(event)
        for name in (
            "Image",
            "CommandLine",
            "ParentImage",
            "Hashes",
            "User",
            "TargetObject",
            "Data",
        ):
            if name in native:
                assert raw.get(name) == native[name], (name, native.get("EventRecordID"))
        assert "Data" in raw or "param1" not in raw
        datas += "Data" in native
    assert datas > 0


def test_an_elastic_sysmon_process_creation_matches_the_rules_of_its_windows_fields(tmp_path):
    """aptlink's own rules over the MirrorFace cases, every one exported the Elastic way."""
    lines = []
    for record, _shape, channel, event_id, data, _titles in hf.CASES:
        doc = ee.elastic(ee.winlogbeat(hf.event(record, "evtx", channel, event_id, data)))
        lines.append(json.dumps(doc, ensure_ascii=False))
    export = tmp_path / "kibana-export.ndjson"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = export.read_text(encoding="utf-8")
    assert '"Image"' not in text and '"NewProcessName"' not in text  # (moved to process.*)
    result = hunt([export], load_rules([PACKAGE_RULES]), workers=1)
    seen: dict[int, set[str]] = {record: set() for record in hf.EXPECTED}
    for detection in result.detections:
        seen[int(detection.record)].add(detection.title)
    assert seen == hf.EXPECTED
    assert result.warnings == []


def test_rewritten_values_are_rebuilt_in_the_events_own_form():
    doc = {
        "@timestamp": "2024-06-20T01:00:00.000Z",
        "winlog": {"channel": ee.SYSMON, "event_id": "13", "record_id": 7,
                   "event_data": {"EventType": "SetValue"}},
        "registry": {"path": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware",
                     "data": {"strings": ["1"], "type": "SZ_DWORD"}},
        "process.executable": "C:\\Windows\\regedit.exe",  # (a flat key, as some exports write)
        "user": {"domain": "EXAMPLE", "name": "tanaka"},
        "network": {"direction": "egress"},
        "process": {"hash": {"sha256": "ab" * 32, "md5": "cd" * 16}, "pe": {"imphash": "ef" * 16}},
    }  # fmt: skip
    row = flatten(doc)
    assert row["TargetObject"].endswith("DisableAntiSpyware")
    assert row["Details"] == "DWORD (0x00000001)"
    assert row["Image"] == "C:\\Windows\\regedit.exe"
    assert row["User"] == "EXAMPLE\\tanaka"
    assert row["Initiated"] == "true"
    assert row["Hashes"] == f"MD5={'CD' * 16},SHA256={'AB' * 32},IMPHASH={'EF' * 16}"
    assert row["SHA256"] == "AB" * 32


def test_a_field_still_in_event_data_is_never_replaced():
    doc = {
        "winlog": {"channel": "Security", "event_id": "4688",
                   "event_data": {"NewProcessName": "C:\\Windows\\System32\\cmd.exe"}},
        "process": {"executable": "C:\\other.exe", "pid": 4660},
    }  # fmt: skip
    row = flatten(doc)
    assert row["NewProcessName"] == "C:\\Windows\\System32\\cmd.exe"
    assert row["NewProcessId"] == "0x1234"


def test_classic_powershell_data(sample_events):
    """The classic events' key=value lines, rebuilt, are lines of their original Data."""
    classic = [e for e in sample_events if e["Event"]["System"]["Channel"] == ee.PS_CLASSIC]
    assert classic
    for event in classic:
        original = flatten(event)["Data"].replace("\r\n", "\n")
        rebuilt = flatten(ee.elastic(ee.winlogbeat(event)))["Data"]
        lines = rebuilt.split("\n")
        assert any(line.startswith("HostApplication=") for line in lines)
        assert all(f"\t{line}\n" in original + "\n" for line in lines), rebuilt


@pytest.mark.slow
def test_sigmahq_over_the_elastic_export_finds_what_it_finds_in_the_evtx(sample_events, tmp_path):
    """All 8,255 sample events exported the Elastic way (other channels as raw Winlogbeat): the
    SigmaHQ Windows rules give the same detections as over the .evtx files (1,214 of 342 rules;
    420 of 51 rules before the fields were put back)."""
    lines = []
    for path in sorted(SAMPLES.rglob("*.evtx")):
        for record in evtx.PyEvtxParser(str(path)).records_json():
            doc = ee.elastic(ee.winlogbeat(orjson.loads(record["data"])))
            lines.append(json.dumps(doc, ensure_ascii=False))
    export = tmp_path / "elastic.ndjson"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ruleset = load_rules([SAMPLES.parents[1] / "sigma" / "rules" / "windows"])

    def found(paths: list[Path]) -> set[tuple[str, str | None, str, str | None]]:
        result = hunt(paths, ruleset, workers=1)
        assert result.events == 8255
        return {(d.rule_id, d.computer, d.record, d.channel) for d in result.detections}

    native = found([SAMPLES])
    assert len(native) >= 1214
    assert found([export]) == native
