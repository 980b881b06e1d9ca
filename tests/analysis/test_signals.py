"""The signal table: every code the analysers raise is defined, with a 0-100 weight and a current
ATT&CK technique from the shared Enterprise bundle."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aptlink.analysis.base import reason, signals

PACKAGE = Path(__file__).resolve().parents[2] / "aptlink"
SOURCES = [*(PACKAGE / "analysis").glob("*.py"), PACKAGE / "detect" / "attachments.py"]
FLAG_RE = re.compile(r"""\.flag\(\s*["']([a-z0-9-]+)["']""")
# Codes chosen at run time (the script language, the launcher found) rather than written in a call.
DYNAMIC = {"script-js", "script-vbs", "script-wsf", "script-hta", "script-ps1", "script-bat"}


def _raised_codes() -> set[str]:
    codes = set(DYNAMIC)
    for source in SOURCES:
        text = source.read_text("utf-8")
        codes |= set(FLAG_RE.findall(text))
        codes |= set(re.findall(r'\("(lnk-[a-z0-9]+)", r"', text))
    return codes


def test_every_raised_code_is_defined() -> None:
    assert _raised_codes() - set(signals()) == set()


def test_every_defined_code_is_raised() -> None:
    assert set(signals()) - _raised_codes() == set()


def test_weights_are_on_the_score_scale() -> None:
    assert all(0 < s.weight <= 100 for s in signals().values())


def test_techniques_are_current_attack_techniques(shared: Path) -> None:
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
    assert {s.technique for s in signals().values()} - current == set()


def test_reason_carries_weight_and_technique() -> None:
    made = reason("remote-template", "template from https://example.invalid/t.dotm")
    assert (made.code, made.technique, made.weight) == ("attachment:remote-template", "T1221", 55.0)
    with pytest.raises(KeyError):
        reason("no-such-signal", "x")
