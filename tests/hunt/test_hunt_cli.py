"""`aptlink hunt` end to end on the generated events, and the hunt detector inside investigate."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import hunt_factory as hf
from typer.testing import CliRunner

from aptlink.cli import _register_subcommands, app
from aptlink.detect.base import DetectContext
from aptlink.detect.hunt import HuntDetector
from aptlink.evidence.base import ParseContext
from aptlink.hunt.rules import PACKAGE_RULES
from aptlink.model import Kind, Severity
from aptlink.pipeline import ingest, run_detectors

DATA = Path(__file__).parents[1] / "data" / "hunt" / "mirrorface.jsonl"


def run(*args: str):
    _register_subcommands()
    return CliRunner().invoke(app, ["hunt", *args], env={"CI": "true"})


def test_json_lines_timeline_and_summary(tmp_path):
    timeline = tmp_path / "timeline.csv"
    result = run(str(DATA), "--rules", str(PACKAGE_RULES), "--json", "--timeline", str(timeline),
                 "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    detections, summary = lines[:-1], lines[-1]["summary"]
    expected = sum(len(t) for t in hf.EXPECTED.values())
    assert len(detections) == expected == summary["detections"]
    assert summary["rules_hit"] == 22  # 21 rules and the sandbox staging correlation
    assert summary["correlations_loaded"] == 1 and summary["filters_applied"] == []
    assert summary["per_tactic"]["stealth"] == 10  # 8 sandbox detections, staging, side-loading
    assert {"rule_id", "title", "level", "attack", "file", "event_record_id", "timestamp",
            "computer", "channel", "event_id", "matched"} <= set(detections[0])  # fmt: skip
    rows = list(csv.DictReader(timeline.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == expected
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)


def test_min_level_and_text_output():
    result = run(str(DATA), "--rules", str(PACKAGE_RULES), "--min-level", "critical",
                 "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "LSASS Memory Dumped" in result.stdout
    assert "Windows Sandbox" not in result.stdout.split("\n\n")[0]


def test_bad_level_is_a_config_error():
    result = run(str(DATA), "--min-level", "severe")
    assert result.exit_code != 0


def test_detector_turns_detections_into_findings():
    pctx = ParseContext()
    evidence, items = ingest([DATA], pctx)
    assert [e.format for e in evidence] == ["eventjson"]
    ctx = DetectContext(options={"hunt_rules": [str(PACKAGE_RULES)],
                                 "hosts": {hf.HOST: "Example Research Institute"}}, parse=pctx)  # fmt: skip
    findings = run_detectors(items, ctx, detectors=[HuntDetector])
    assert len(findings) == 22  # one per rule (and correlation), host and day
    staging = next(f for f in findings if f.title == hf.STAGING)
    assert staging.techniques == ("T1564.006",) and staging.extra["events"] == 1
    assert "held 1 time(s)" in staging.reasons[0].detail
    assert "temporal_ordered: 3 events within 7d" in staging.reasons[0].detail
    lsass = next(f for f in findings if f.title.startswith("LSASS Memory Dumped"))
    assert lsass.severity is Severity.CRITICAL
    assert lsass.techniques == ("T1003.001",)
    assert lsass.group_key == f"host:{hf.HOST}:2024-06-20"
    assert lsass.victim == "Example Research Institute"
    assert lsass.extra["events"] == 2
    kinds = {(o.kind, o.value) for o in lsass.observations}
    assert (Kind.HOSTNAME, hf.HOST) in kinds
    assert (Kind.TECHNIQUE, "T1003.001") in kinds
    assert any(k is Kind.COMMAND_LINE and "comsvcs" in v for k, v in kinds)
    tunnel = next(f for f in findings if f.title.startswith("Network Connection to a Visual"))
    values = {o.value for o in tunnel.observations}
    assert {"abcd1234-8000.asse.devtunnels.ms", "20.194.10.5"} <= values


def test_a_named_pipe_among_event_files_fails_without_blocking(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "events.jsonl").write_bytes(DATA.read_bytes())
    os.mkfifo(folder / "stuck.evtx")
    result = run(str(folder), "--rules", str(PACKAGE_RULES), "--json", "--workers", "1")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])["summary"]
    assert summary["detections"] == sum(len(t) for t in hf.EXPECTED.values())
    assert "not a regular file" in summary["files_failed"][str(folder / "stuck.evtx")]


SAMPLE_EVTX = (
    Path(__file__).parents[2]
    / "../shared/data/evtx/attack-samples/AutomatedTestingTools/Malware/rundll32_cmd_schtask.evtx"
)


def test_event_files_whose_names_are_not_utf8_are_read(tmp_path):
    """A Shift_JIS or Latin-1 name copied from a Windows volume: the evtx parser is given the open
    file (it would look the surrogate-escaped name up as another file), and the name is reported
    with its bytes escaped (Arrow, JSON and SQLite refuse surrogates)."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / os.fsdecode(b"j\xfe.jsonl")).write_bytes(DATA.read_bytes())
    (folder / os.fsdecode(b"r\x93x.evtx")).write_bytes(SAMPLE_EVTX.read_bytes())
    result = run(str(folder), "--rules", str(PACKAGE_RULES), "--json", "--workers", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    summary = json.loads(lines[-1])["summary"]
    assert summary["files"] == 2 and not summary["files_failed"]
    assert summary["events"] > DATA.read_text().count("\n")  # the EVTX file's events too
    assert summary["detections"] == sum(len(t) for t in hf.EXPECTED.values())
    files = {json.loads(line)["file"] for line in lines[:-1]}
    assert files == {str(folder) + "/j\\xfe.jsonl"}


def test_network_names_of_events_become_the_right_indicator():
    """DestinationHostname and QueryName hold DNS names, addresses and a host's own name."""
    from aptlink.detect.hunt import _indicators

    assert list(_indicators("QueryName", "c2.example.net")) == [(Kind.DOMAIN, "c2.example.net")]
    assert list(_indicators("DestinationHostname", "20.194.10.5")) == [(Kind.IPV4, "20.194.10.5")]
    assert list(_indicators("DestinationHostname", "DC01")) == [(Kind.HOSTNAME, "DC01")]
    assert list(_indicators("QueryName", "<unknown>")) == []


def test_text_output_shows_hostile_names_as_text(tmp_path):
    """A host name carrying escape sequences (retitle the window, clear the screen) is printed
    escaped, never sent to the analyst's terminal as it is."""
    event = {"@timestamp": "2024-06-20T01:00:00Z", "winlog": {
        "channel": hf.SYSMON, "event_id": 1, "computer_name": "ws\x1b]0;pwned\x07\x1b[2J",
        "record_id": 5, "event_data": hf.process(
            "C:\\Tools\\procdump64.exe", "procdump64.exe -ma lsass.exe C:\\x\\l.dmp")}}  # fmt: skip
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(event) + "\n", encoding="utf-8")
    result = run(str(path), "--rules", str(PACKAGE_RULES), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "LSASS Memory Dumped" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "ws\\x1b]0;pwned\\x07\\x1b[2J" in result.stdout
