"""Sigma semantics of the engine, each on a few hand-made events: modifiers, wildcards, regular
expressions, networks, encodings, existence, keywords, conditions, and log-source pre-filters."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from aptlink.hunt.events import cell_table, to_table
from aptlink.hunt.rules import load_rules
from aptlink.hunt.runner import HuntResult, run_tables

SYSMON = "Microsoft-Windows-Sysmon/Operational"
EVENTS = [
    {"Channel": SYSMON, "EventID": "1", "@record": "1", "Image": "C:\\Windows\\System32\\cmd.exe",
     "CommandLine": "cmd.exe /c whoami /all", "User": "CORP\\Tanaka"},
    {"Channel": SYSMON, "EventID": "1", "@record": "2",
     "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "CommandLine": "powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA", "User": "CORP\\sato"},
    {"Channel": SYSMON, "EventID": "3", "@record": "3", "Image": "C:\\Temp\\x.exe",
     "DestinationIp": "10.1.2.3", "DestinationPort": "443", "Initiated": "true"},
    {"Channel": SYSMON, "EventID": "3", "@record": "4", "Image": "C:\\Temp\\x.exe",
     "DestinationIp": "8.8.8.8", "DestinationPort": "53", "Initiated": "true"},
    {"Channel": "Security", "EventID": "4688", "@record": "5",
     "NewProcessName": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami",
     "ParentProcessName": "C:\\Windows\\explorer.exe"},
    {"Channel": "Security", "EventID": "4624", "@record": "6", "TargetUserName": "admin",
     "LogonType": "10", "IpAddress": "192.168.5.9"},
    {"Channel": SYSMON, "EventID": "7", "@record": "7", "Image": "C:\\Windows\\System32\\cmd.exe",
     "ImageLoaded": "C:\\Windows\\System32\\kernel32.dll"},
]  # fmt: skip


def matches(tmp_path: Path, detection: str, logsource: str = "category: process_creation"):
    rule = (
        "title: Test rule\nid: 11111111-2222-3333-4444-555555555555\n"
        f"logsource:\n    product: windows\n    {logsource}\n"
        "detection:\n" + textwrap.indent(detection, "    ") + "\nlevel: high\n"
    )
    path = tmp_path / "rule.yml"
    path.write_text(rule, encoding="utf-8")
    ruleset = load_rules([path])
    assert ruleset.problems == [], ruleset.problems
    result = run_tables([to_table(EVENTS)], ruleset, workers=1, result=HuntResult())
    found = sorted(int(d.record) for d in result.detections)
    # the hunt's own batches (cells, columns made on demand) give the same detections
    cells = run_tables([cell_table(EVENTS)], ruleset, workers=1, result=HuntResult())
    assert [d.to_dict() for d in cells.detections] == [d.to_dict() for d in result.detections]
    return found


CASES = {
    "equality is case-insensitive": ("sel:\n    Image: 'c:\\windows\\system32\\CMD.EXE'\ncondition: sel", [1, 5]),
    "contains": ("sel:\n    CommandLine|contains: 'WHOAMI'\ncondition: sel", [1, 5]),
    "startswith": ("sel:\n    CommandLine|startswith: 'powershell '\ncondition: sel", [2]),
    "endswith": ("sel:\n    Image|endswith: '\\cmd.exe'\ncondition: sel", [1, 5]),
    "inner wildcard": ("sel:\n    CommandLine: 'cmd*who?mi /all'\ncondition: sel", [1]),
    "regex is case-sensitive": ("sel:\n    CommandLine|re: 'WHOAMI'\ncondition: sel", []),
    "regex with i flag": ("sel:\n    CommandLine|re|i: 'who[a-z]mi\\s/all$'\ncondition: sel", [1]),
    "cased modifier": ("sel:\n    User|cased|endswith: '\\Tanaka'\ncondition: sel", [1]),
    "all modifier": ("sel:\n    CommandLine|contains|all:\n        - '/c'\n        - '/all'\ncondition: sel", [1]),
    "base64offset": ("sel:\n    CommandLine|wide|base64offset|contains: 'IEX (New-Object'\ncondition: sel", [2]),
    "windash": ("sel:\n    CommandLine|windash|contains: ' -c '\ncondition: sel", [1, 5]),
    "not with absent field": ("sel:\n    Image|endswith: '.exe'\nflt:\n    ParentImage|contains: 'explorer'\ncondition: sel and not flt", [1, 2]),
    "1 of and parentheses": ("sel_a:\n    CommandLine|contains: 'whoami'\nsel_b:\n    CommandLine|contains: '-enc'\nflt:\n    User|contains: 'sato'\ncondition: (1 of sel_*) and not flt", [1, 5]),
    "all of": ("sel_a:\n    CommandLine|contains: 'whoami'\nsel_b:\n    User|contains: 'tanaka'\ncondition: all of sel_*", [1]),
    "exists": ("sel:\n    User|exists: true\ncondition: sel", [1, 2]),
    "null": ("sel:\n    Image|endswith: 'cmd.exe'\n    User: null\ncondition: sel", [5]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_process_creation_semantics(tmp_path, name):
    detection, expected = CASES[name]
    assert matches(tmp_path, detection) == expected


def test_cidr_and_numbers_on_network_events(tmp_path):
    cidr = "sel:\n    DestinationIp|cidr: '10.0.0.0/8'\ncondition: sel"
    assert matches(tmp_path, cidr, "category: network_connection") == [3]
    number = "sel:\n    DestinationPort|gte: 100\ncondition: sel"
    assert matches(tmp_path, number, "category: network_connection") == [3]


def test_keywords_search_every_field(tmp_path):
    keywords = "keywords:\n    - '192.168.5'\ncondition: keywords"
    assert matches(tmp_path, keywords, "service: security") == [6]


def test_logsource_prefilter_keeps_rules_to_their_events(tmp_path):
    # a process_creation rule does not fire on the Sysmon 7 event with the same Image
    image = "sel:\n    Image|endswith: '\\cmd.exe'\ncondition: sel"
    assert 7 not in matches(tmp_path, image)
    # a security rule sees only Security events
    user = "sel:\n    TargetUserName: admin\ncondition: sel"
    assert matches(tmp_path, user, "service: security") == [6]
    assert matches(tmp_path, user, "service: system") == []


def test_malformed_rules_are_reported_and_the_rest_loads(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text(
        "title: ok\nid: 11111111-2222-3333-4444-555555555556\nlogsource:\n    product: windows\n"
        "detection:\n    sel:\n        EventID: 1\n    condition: sel\nlevel: low\n",
        encoding="utf-8",
    )
    (tmp_path / "broken_yaml.yml").write_text("title: x\ndetection: [unclosed\n", encoding="utf-8")
    (tmp_path / "bad_condition.yml").write_text(
        "title: bad\nid: 11111111-2222-3333-4444-555555555557\nlogsource:\n    product: windows\n"
        "detection:\n    sel:\n        EventID: 1\n    condition: sel and missing_sel\nlevel: low\n",
        encoding="utf-8",
    )
    ruleset = load_rules([tmp_path])
    assert [r.title for r in ruleset.rules] == ["ok"]
    reasons = {Path(p.path).name: p.reason for p in ruleset.problems}
    assert set(reasons) == {"broken_yaml.yml", "bad_condition.yml"}
    assert "line" in reasons["broken_yaml.yml"]
    assert "missing_sel" in reasons["bad_condition.yml"]
