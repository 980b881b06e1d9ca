"""aptlink's own Sigma rules: they load, carry valid ATT&CK v19 ids, and each fires on its generated
positive event and not on its near miss (tests/data/hunt/mirrorface.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import hunt_factory as hf
import pytest

from aptlink.hunt.rules import PACKAGE_RULES, load_rules
from aptlink.hunt.runner import hunt

DATA = Path(__file__).parents[1] / "data" / "hunt" / "mirrorface.jsonl"


@pytest.fixture(scope="module")
def own_rules():
    return load_rules([PACKAGE_RULES])


@pytest.fixture(scope="module")
def result(own_rules):
    return hunt([DATA], own_rules, workers=1)


def test_own_rules_load_without_problems(own_rules):
    assert own_rules.problems == []
    assert len(own_rules.rules) == 21
    assert all(r.techniques and r.tactics for r in own_rules.rules)


def test_fixture_file_is_what_the_factory_writes():
    assert DATA.read_text(encoding="utf-8").splitlines() == hf.lines()


def test_every_event_triggers_exactly_the_expected_rules(result):
    seen: dict[int, set[str]] = {record: set() for record in hf.EXPECTED}
    for d in result.detections:
        seen[int(d.record)].add(d.title)
    assert seen == hf.EXPECTED
    assert result.events == len(hf.CASES)
    assert result.warnings == []


def test_every_own_rule_has_a_positive_case(own_rules):
    expected_titles = set().union(*hf.EXPECTED.values())
    titles = {r.title for r in own_rules.rules} | {c.title for c in own_rules.correlations}
    assert titles == expected_titles
    assert [c.title for c in own_rules.correlations] == [hf.STAGING]


def test_detection_record_is_complete(result):
    first = next(d for d in result.detections if d.record == "8")
    assert first.to_dict() | {"matched": None, "context": None} == {
        "rule_id": first.rule_id,
        "title": first.title,
        "level": first.level,
        "attack": ["T1564.006"],
        "tactics": ["stealth"],
        "file": str(DATA),
        "event_record_id": "8",
        "timestamp": "2024-06-20T01:08:00Z",
        "computer": hf.HOST,
        "channel": hf.SYSMON,
        "event_id": "1",
        "matched": None,
        "context": None,
    }
    sensitive = next(
        d for d in result.detections if d.record == "8" and d.title == hf.SANDBOX_SENSITIVE
    )
    assert set(sensitive.matched if hasattr(sensitive, "matched") else sensitive.fields) == {
        "Image",
        "CommandLine",
    }


def test_technique_ids_are_current_in_attack_v19(own_rules, shared):
    bundle = json.loads((shared / "attack" / "enterprise-attack.json").read_text("utf-8"))
    current = {
        ref["external_id"]
        for obj in bundle["objects"]
        if obj.get("type") == "attack-pattern"
        and not obj.get("revoked")
        and not obj.get("x_mitre_deprecated")
        for ref in obj.get("external_references", [])
        if ref.get("source_name") == "mitre-attack"
    }
    used = {t for r in own_rules.rules for t in r.techniques}
    assert used <= current, used - current
