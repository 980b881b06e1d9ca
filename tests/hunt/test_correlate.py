"""Sigma correlation rules: event_count, value_count and temporal over generated logon events."""

from __future__ import annotations

from aptlink.hunt.events import to_table
from aptlink.hunt.rules import load_rules
from aptlink.hunt.runner import HuntResult, run_tables

RULES = """\
title: Failed logon
id: 0b0b0b0b-0000-4000-8000-000000000001
name: failed_logon
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
---
title: Successful logon
id: 0b0b0b0b-0000-4000-8000-000000000002
name: good_logon
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
level: low
---
title: Many failed logons from one address
id: 0b0b0b0b-0000-4000-8000-000000000003
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        gte: 4
level: high
tags:
    - attack.credential-access
    - attack.t1110.001
---
title: Password spraying
id: 0b0b0b0b-0000-4000-8000-000000000004
correlation:
    type: value_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        field: TargetUserName
        gte: 3
level: high
---
title: Logon after failures
id: 0b0b0b0b-0000-4000-8000-000000000005
correlation:
    type: temporal
    rules:
        - failed_logon
        - good_logon
    group-by:
        - IpAddress
    timespan: 10m
level: critical
"""


def event(second: int, event_id: int, user: str, ip: str) -> dict[str, str]:
    return {"Channel": "Security", "EventID": str(event_id), "TargetUserName": user,
            "IpAddress": ip, "@record": str(second), "@time": f"2024-06-20T02:00:{second:02d}Z"}  # fmt: skip


EVENTS = [
    *(event(s, 4625, "admin", "10.0.0.5") for s in (1, 2, 3, 4)),  # brute force on one account
    *(event(10 + n, 4625, u, "10.0.0.9") for n, u in enumerate(("a", "b", "c"))),  # spraying
    event(20, 4624, "c", "10.0.0.9"),
    event(30, 4625, "x", "10.0.0.7"),  # alone: nothing
]


def test_event_count_value_count_and_temporal(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    ruleset = load_rules([path])
    assert ruleset.problems == []
    assert [c.kind for c in ruleset.correlations] == ["event_count", "value_count", "temporal"]
    result = run_tables([to_table(EVENTS)], ruleset, workers=1, result=HuntResult())
    fired = sorted((d.title, d.fields.get("IpAddress")) for d in result.detections
                   if d.rule_id.endswith(("3", "4", "5")))  # fmt: skip
    assert fired == [
        ("Logon after failures", "10.0.0.9"),
        ("Many failed logons from one address", "10.0.0.5"),
        ("Password spraying", "10.0.0.9"),
    ]
    brute = next(d for d in result.detections if d.title.startswith("Many failed"))
    assert brute.techniques == ("T1110.001",)
    assert brute.time == "2024-06-20T02:00:01Z"


def test_correlation_on_a_missing_rule_is_reported(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES.split("---\n")[2], encoding="utf-8")
    ruleset = load_rules([path])
    assert ruleset.correlations == []
    assert len(ruleset.problems) == 1
    assert "failed_logon" in ruleset.problems[0].reason
