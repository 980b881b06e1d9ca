"""Sigma correlation rules: event_count, value_count and temporal over generated logon events."""

from __future__ import annotations

from aptlink.hunt.correlate import Correlation, fields_needed, in_order
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


def clock(second: int) -> str:
    day, rest = divmod(second, 86400)
    return f"2024-06-{20 + day:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z"


def failed(second: int, user: str = "admin", ip: str = "10.0.0.5") -> dict[str, str]:
    row = event(0, 4625, user, ip)
    row.update({"@record": str(second), "@time": clock(second)})
    return row


def correlations_fired(tmp_path, rules: str, events: list[dict[str, str]], title: str):
    path = tmp_path / "rules.yml"
    path.write_text(rules, encoding="utf-8")
    ruleset = load_rules([path])
    assert ruleset.problems == []
    result = run_tables([to_table(events)], ruleset, workers=1, result=HuntResult())
    return [d for d in result.detections if d.title == title]


def test_every_burst_is_its_own_detection(tmp_path):
    """A brute force on Monday and another on Friday: two detections, not the first only."""
    monday = [failed(s) for s in range(0, 40, 10)]
    friday = [failed(4 * 86400 + s) for s in range(0, 40, 10)]
    quiet = [failed(2 * 86400 + s * 600) for s in range(3)]  # 3 failures 10 min apart: nothing
    fired = correlations_fired(tmp_path, RULES, monday + quiet + friday,
                               "Many failed logons from one address")  # fmt: skip
    assert [d.time for d in fired] == [clock(0), clock(4 * 86400)]
    assert all(d.fields["correlation"] == "event_count: 4 events within 5m" for d in fired)


def test_value_count_says_how_many_distinct_values(tmp_path):
    users = [failed(s, user=f"user{s}", ip="10.0.0.9") for s in range(5)]
    fired = correlations_fired(tmp_path, RULES, users, "Password spraying")
    assert [d.fields["correlation"] for d in fired] == [
        "value_count: 3 distinct TargetUserName in 3 events within 5m"
    ]


def test_a_long_attack_is_read_in_one_pass(tmp_path):
    """50,000 failed logons from one address, one every second: one detection per four (each
    window starts after the last), found in one pass over the group."""
    events = [failed(s) for s in range(50_000)]
    fired = correlations_fired(tmp_path, RULES.split("---\n")[0] + "---\n" + RULES.split("---\n")[2],
                               events, "Many failed logons from one address")  # fmt: skip
    assert len(fired) == 12_500


AT_MOST_RULE = """\
title: Few failed logons
id: 0b0b0b0b-0000-4000-8000-000000000006
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 1m
    condition:
        lt: 3
level: low
"""


def test_at_most_conditions_are_judged_on_whole_windows(tmp_path):
    """``lt 3`` in 1 minute: a window of 5 failures does not hold, a window of 2 does; single
    detections as the window grows never count on their own."""
    events = [failed(s) for s in (0, 5, 10, 15, 20)] + [failed(s) for s in (600, 610)]
    fired = correlations_fired(tmp_path, RULES.split("---\n")[0] + "---\n" + AT_MOST_RULE,
                               events, "Few failed logons")  # fmt: skip
    assert [(d.time, d.fields["correlation"]) for d in fired] == [
        (clock(600), "event_count: 2 events within 1m")
    ]


CHAIN_RULES = (
    "---\n".join(RULES.split("---\n")[:2])
    + """---
title: Many failed logons on one account
id: 0b0b0b0b-0000-4000-8000-000000000013
name: many_failed
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 10m
    condition:
        gte: 3
---
title: Brute force that got in
id: 0b0b0b0b-0000-4000-8000-000000000014
correlation:
    type: temporal_ordered
    rules:
        - many_failed
        - good_logon
    group-by:
        - TargetUserName
    timespan: 10m
level: high
"""
)


def run_rules(tmp_path, rules: str, events: list[dict[str, str]]):
    path = tmp_path / "rules.yml"
    path.write_text(rules, encoding="utf-8")
    ruleset = load_rules([path])
    return ruleset, run_tables([to_table(events)], ruleset, workers=1, result=HuntResult())


def test_a_correlation_chain_is_evaluated_from_its_first_link(tmp_path):
    """The specification's own example: many failed logons, then a successful one, same user.
    The building blocks (the two logon rules, the inner count) are not reported on their own."""
    events = [event(s, 4625, "admin", "10.0.0.5") for s in (1, 2, 3)] + [
        event(9, 4624, "admin", "10.0.0.5"),
        event(10, 4624, "bob", "10.0.0.6"),  # no failures before: nothing
        *(event(s, 4625, "carol", "10.0.0.7") for s in (20, 21)),  # two failures: too few
        event(22, 4624, "carol", "10.0.0.7"),
    ]
    ruleset, result = run_rules(tmp_path, CHAIN_RULES, events)
    assert ruleset.problems == []
    assert [c.title for c in ruleset.correlations] == [
        "Many failed logons on one account",
        "Brute force that got in",
    ]
    assert [(d.title, d.fields["TargetUserName"]) for d in result.detections] == [
        ("Brute force that got in", "admin")
    ]
    got_in = result.detections[0]
    assert got_in.level == "high" and got_in.time == "2024-06-20T02:00:01Z"


def test_generate_true_reports_the_building_blocks_too(tmp_path):
    rules = CHAIN_RULES.replace("    type: temporal_ordered\n", "    type: temporal_ordered\n    generate: true\n")  # fmt: skip
    events = [event(s, 4625, "admin", "10.0.0.5") for s in (1, 2, 3)] + [event(9, 4624, "admin", "10.0.0.5")]  # fmt: skip
    _, result = run_rules(tmp_path, rules, events)
    titles = sorted({d.title for d in result.detections})
    # the inner count and the good logon are named by a correlation that generates; the failed
    # logons only by the inner count, which does not
    assert titles == ["Brute force that got in", "Many failed logons on one account", "Successful logon"]  # fmt: skip


def test_a_correlation_chain_that_loops_is_reported_not_run(tmp_path):
    loop = """\
title: A
id: 0b0b0b0b-0000-4000-8000-000000000021
name: corr_a
correlation:
    type: event_count
    rules:
        - corr_b
    group-by:
        - User
    timespan: 1m
    condition:
        gte: 1
---
title: B
id: 0b0b0b0b-0000-4000-8000-000000000022
name: corr_b
correlation:
    type: event_count
    rules:
        - corr_a
    group-by:
        - User
    timespan: 1m
    condition:
        gte: 1
"""
    path = tmp_path / "loop.yml"
    path.write_text(loop, encoding="utf-8")
    ruleset = load_rules([path])
    assert ruleset.correlations == []
    assert sorted((p.rule, p.reason) for p in ruleset.problems) == [
        ("A", "correlation chain loops back on itself"),
        ("B", "correlation chain loops back on itself"),
    ]


ALIAS_RULES = (
    RULES.split("---\n")[0]
    + """---
title: Connection allowed by the firewall
id: 0b0b0b0b-0000-4000-8000-000000000032
name: connection
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 5156
    condition: selection
---
title: Logon failure and connection from the same address
id: 0b0b0b0b-0000-4000-8000-000000000033
correlation:
    type: temporal
    rules:
        - failed_logon
        - connection
    group-by:
        - remote
    timespan: 1m
    aliases:
        remote:
            failed_logon: IpAddress
            connection: SourceAddress
level: medium
"""
)


def test_group_by_aliases_read_each_rule_s_own_field(tmp_path):
    """``remote`` is IpAddress in the logon failures and SourceAddress in the connections."""

    def connection(second: int, source: str) -> dict[str, str]:
        return {"Channel": "Security", "EventID": "5156", "SourceAddress": source,
                "@record": f"c{second}", "@time": f"2024-06-20T02:00:{second:02d}Z"}  # fmt: skip

    events = [event(1, 4625, "admin", "10.0.0.5"), connection(2, "10.0.0.5"),
              event(3, 4625, "bob", "10.0.0.6"), connection(4, "10.0.0.99")]  # fmt: skip
    ruleset, result = run_rules(tmp_path, ALIAS_RULES, events)
    assert ruleset.problems == []
    assert {"IpAddress", "SourceAddress"} <= fields_needed(ruleset.correlations)
    assert [(d.title, d.fields["remote"]) for d in result.detections] == [
        ("Logon failure and connection from the same address", "10.0.0.5")
    ]


def test_the_rule_cache_keeps_names_aliases_and_generate(tmp_path, monkeypatch):
    monkeypatch.setenv("APTLINK_HUNT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "rules.yml"
    chain = CHAIN_RULES.replace("    type: temporal_ordered\n", "    type: temporal_ordered\n    generate: true\n")  # fmt: skip
    path.write_text(chain + "---\n" + "---\n".join(ALIAS_RULES.split("---\n")[1:]), encoding="utf-8")  # fmt: skip
    compiled = load_rules([path])
    cached = load_rules([path])
    assert compiled.problems == cached.problems == []
    assert compiled.correlations == cached.correlations
    assert any(c.aliases for c in cached.correlations)
    assert sorted(c.name for c in cached.correlations) == ["", "", "many_failed"]
    assert sorted(c.generate for c in cached.correlations) == [False, False, True]


def test_a_hostile_chain_thousands_long_is_ordered_without_recursion():
    def link(name: str, names: str) -> Correlation:
        return Correlation(id=name, title=name, level="low", kind="event_count", rules=(names,),
                           group_by=(), seconds=60, op="gte", count=1, field=None)  # fmt: skip

    chain = [link(f"c{n}", f"c{n - 1}" if n else "base") for n in reversed(range(5000))]
    ordered, looping = in_order([*chain, link("self", "self")])
    assert [c.id for c in ordered] == [f"c{n}" for n in range(5000)]
    assert [c.id for c in looping] == ["self"]


def test_min_level_keeps_the_blocks_a_correlation_reads_but_does_not_report_them(tmp_path):
    """``--min-level high``: the two logon rules (low) and the inner count (medium) are kept,
    quiet, because the high correlation reads them; only the correlation is reported."""
    path = tmp_path / "rules.yml"
    path.write_text(CHAIN_RULES.replace("    type: temporal_ordered\n", "    type: temporal_ordered\n    generate: true\n"), encoding="utf-8")  # fmt: skip
    ruleset = load_rules([path]).at_least("high")
    assert len(ruleset.rules) == 2 and len(ruleset.correlations) == 2
    events = [event(s, 4625, "admin", "10.0.0.5") for s in (1, 2, 3)] + [event(9, 4624, "admin", "10.0.0.5")]  # fmt: skip
    result = run_tables([to_table(events)], ruleset, workers=1, result=HuntResult())
    assert [d.title for d in result.detections] == ["Brute force that got in"]
    nothing = load_rules([path]).at_least("critical")
    assert nothing.rules == [] and nothing.correlations == []


def test_investigate_correlates_across_the_batches_of_a_case(tmp_path):
    """The failures are in one log, the successful logon in another: the hunt detector of
    ``investigate`` sees them as two items and still finds the brute force that got in, once."""
    from aptlink.detect.base import DetectContext
    from aptlink.detect.hunt import HuntDetector
    from aptlink.evidence.base import Item
    from aptlink.model import Provenance

    path = tmp_path / "rules.yml"
    path.write_text(CHAIN_RULES, encoding="utf-8")
    detector = HuntDetector(DetectContext(options={"hunt_rules": [str(path)]}))
    failures = [event(s, 4625, "admin", "10.0.0.5") for s in (1, 2, 3)]
    success = [event(9, 4624, "admin", "10.0.0.5")]
    for number, rows in enumerate((failures, success)):
        for row in rows:
            row["@file"], row["Computer"] = f"dc{number}.evtx", "dc01"
        prov = Provenance(file=f"dc{number}.evtx", sha256=f"{number}" * 64, chain=("evtx",))
        assert list(detector.detect(Item(kind="eventlog", provenance=prov, data=to_table(rows)))) == []  # fmt: skip
    findings = list(detector.finalize())
    assert [(f.title, f.extra["events"]) for f in findings] == [("Brute force that got in", 1)]
    assert findings[0].provenance.sha256 == "1" * 64  # the log of the last event


def test_alias_fields_travel_from_worker_processes(tmp_path):
    """Two batches in two worker processes: the field each alias is read from comes back with
    the detections, so the correlation still groups them."""
    path = tmp_path / "rules.yml"
    path.write_text(ALIAS_RULES, encoding="utf-8")
    ruleset = load_rules([path])
    connection = {"Channel": "Security", "EventID": "5156", "SourceAddress": "10.0.0.5",
                  "@record": "c2", "@time": "2024-06-20T02:00:02Z"}  # fmt: skip
    tables = [to_table([event(1, 4625, "admin", "10.0.0.5")]), to_table([connection])]
    result = run_tables(tables, ruleset, workers=2, result=HuntResult())
    assert [(d.title, d.fields["remote"]) for d in result.detections] == [
        ("Logon failure and connection from the same address", "10.0.0.5")
    ]
