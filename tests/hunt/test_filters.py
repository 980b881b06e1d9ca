"""Sigma filters (the meta filter specification): exclusions kept in their own files, applied to
the rules they name in any file of the rule set; a filter that does nothing is reported."""

from __future__ import annotations

from aptlink.hunt.events import to_table
from aptlink.hunt.rules import load_rules
from aptlink.hunt.runner import HuntResult, run_tables

RULE = """\
title: Whoami run
id: 0c0c0c0c-0000-4000-8000-000000000001
name: whoami
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\\\whoami.exe'
    condition: selection
level: medium
"""

FILTER = """\
title: Whoami on the build servers is expected
filter:
    rules:
        - 0c0c0c0c-0000-4000-8000-000000000001
    selection:
        Computer|startswith: 'build'
    condition: not selection
logsource:
    product: windows
"""


def process(record: str, computer: str) -> dict[str, str]:
    return {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": "1",
            "Image": "C:\\\\Windows\\\\System32\\\\whoami.exe", "Computer": computer,
            "@record": record, "@time": "2024-06-20T02:00:00Z"}  # fmt: skip


def hunted(tmp_path, **files: str):
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.yml").write_text(text, encoding="utf-8")
    ruleset = load_rules([folder])
    events = [process("1", "build07.corp"), process("2", "hr-pc12.corp")]
    result = run_tables([to_table(events)], ruleset, workers=1, result=HuntResult())
    return ruleset, [(d.title, d.computer) for d in result.detections]


def test_a_filter_in_its_own_file_narrows_the_rule_it_names(tmp_path):
    ruleset, found = hunted(tmp_path, a_rule=RULE, z_filter=FILTER)
    assert ruleset.problems == []
    assert found == [("Whoami run", "hr-pc12.corp")]
    assert [(title, count) for _, title, count in ruleset.filters] == [
        ("Whoami on the build servers is expected", 1)
    ]


def test_without_the_filter_both_hosts_are_found(tmp_path):
    _, found = hunted(tmp_path, a_rule=RULE)
    assert sorted(found) == [("Whoami run", "build07.corp"), ("Whoami run", "hr-pc12.corp")]


def test_a_filter_naming_no_loaded_rule_is_reported(tmp_path):
    typo = FILTER.replace("000000000001", "000000000009")
    ruleset, found = hunted(tmp_path, a_rule=RULE, z_filter=typo)
    assert len(found) == 2
    assert [(p.reason, p.rule) for p in ruleset.problems] == [
        ("filter applies to no loaded rule", "Whoami on the build servers is expected")
    ]


def test_a_malformed_filter_is_reported_with_its_file(tmp_path):
    broken = FILTER.replace("    condition: not selection\n", "")
    ruleset, found = hunted(tmp_path, a_rule=RULE, z_filter=broken)
    assert len(found) == 2
    assert len(ruleset.problems) == 1 and ruleset.problems[0].path.endswith("z_filter.yml")


def test_the_rule_cache_keeps_the_filtered_rule_and_the_filter(tmp_path, monkeypatch):
    monkeypatch.setenv("APTLINK_HUNT_CACHE", str(tmp_path / "cache"))
    first, found = hunted(tmp_path, a_rule=RULE, z_filter=FILTER)
    cached = load_rules([tmp_path / "rules"])
    assert cached.filters == first.filters and cached.rules == first.rules
    assert found == [("Whoami run", "hr-pc12.corp")]


def test_a_correlation_in_another_file_reads_the_rules_it_names(tmp_path):
    correlation = """\
title: Whoami on many hosts
correlation:
    type: value_count
    rules:
        - whoami
    group-by:
        - Image
    timespan: 1h
    condition:
        field: Computer
        gte: 2
level: high
"""
    ruleset, found = hunted(tmp_path, a_rule=RULE, b_correlation=correlation)
    assert ruleset.problems == []
    assert found == [("Whoami on many hosts", "hr-pc12.corp")]
