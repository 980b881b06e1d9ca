"""The full SigmaHQ Windows rule set over the EVTX attack samples (slow: run with -m slow).

The figures are the ones bench/hunt_compare.py checks against Zircolite rule by rule."""

from __future__ import annotations

import pytest

from aptlink.hunt.rules import load_rules
from aptlink.hunt.runner import hunt

pytestmark = pytest.mark.slow


def test_sigmahq_windows_rules_over_attack_samples(shared):
    ruleset = load_rules([shared / "sigma" / "rules" / "windows"])
    assert len(ruleset.rules) >= 2395
    assert ruleset.problems == []
    result = hunt([shared / "evtx" / "attack-samples"], ruleset)
    assert result.events == 8255
    assert result.warnings == []
    titles = {d.title for d in result.detections}
    assert len(titles) >= 340
    assert len(result.detections) >= 1216
    assert {"LSASS Process Memory Dump Files", "Ntdsutil Abuse"} <= titles
