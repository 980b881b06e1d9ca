"""Correctness of the hunt against Zircolite, rule by rule, on the EVTX attack samples.

Both run the SigmaHQ Windows rules over ../shared/data/evtx/attack-samples. Zircolite is not part of
aptlink: fetch it to /tmp, install its requirements in its own venv, and either let this script run
it (``--zircolite-dir /tmp/zircolite --zircolite-python /tmp/zvenv/bin/python``) or pass the JSON it
wrote (``--zircolite-json``). Every rule whose matched events differ is listed with, for each event
that only one tool matched, the reason and who is right:

- ``outside-logsource``: Zircolite (no pipeline) matched an event of another log source than the
  rule's, e.g. a process_creation rule on a Sysmon 7 image load. aptlink is right: Sigma rules apply
  to their log source only.
- ``sql-null-not``: the rule says ``not filter`` and the filter's field is absent from the event;
  SQL's three-valued logic makes ``NOT (NULL LIKE ..)`` unknown, so Zircolite drops the event.
  aptlink is right: an absent field does not match the filter, so ``not filter`` holds.
- ``audit-4688``: a process_creation rule matched a Security 4688 event through the Windows audit
  pipeline's field names (NewProcessName, ParentProcessName); Zircolite has no such variant.
- ``sql-missing-column``: the rule names a field that no event of the whole sample set has; SQLite
  rejects the query ("no such column") and Zircolite gets nothing from the rule, even where another
  branch of the condition matches. aptlink is right.
- ``field-naming``: the event holds the field under the Sigma name only after aptlink's flattening
  (EventData ``Data`` values, ``#text`` content, booleans as ``true``/``false``).
- ``unexplained``: anything else; listed for a human to judge.

Run: ``.venv/bin/python bench/hunt_compare.py --zircolite-json /tmp/zrun/default.json``
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aptlink.evidence.base import ParseContext  # noqa: E402
from aptlink.evidence.evtx import read_evtx  # noqa: E402
from aptlink.hunt.compile import Leaf, Node, Op  # noqa: E402
from aptlink.hunt.engine import Batch  # noqa: E402
from aptlink.hunt.events import to_table  # noqa: E402
from aptlink.hunt.rules import CompiledRule, load_rules  # noqa: E402
from aptlink.hunt.runner import hunt  # noqa: E402

SHARED = (REPO / ".." / "shared" / "data").resolve()
SAMPLES = SHARED / "evtx" / "attack-samples"
RULES = SHARED / "sigma" / "rules" / "windows"
EventKey = tuple[str, str]  # (file name, event record id)
UNKNOWN = None


def run_zircolite(zdir: Path, python: str, out: Path) -> tuple[float, str]:
    cmd = [python, "zircolite.py", "-e", str(SAMPLES), "-r", str(RULES), "-o", str(out), "-q",
           "--no-parallel"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=zdir, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done.stdout[-2000:] + done.stderr[-2000:]


def zircolite_matches(path: Path) -> tuple[dict[str, set[EventKey]], dict[str, str]]:
    matches: dict[str, set[EventKey]] = collections.defaultdict(set)
    titles = {}
    for rule in json.loads(path.read_text("utf-8")):
        titles[rule["id"]] = rule["title"]
        for m in rule["matches"]:
            matches[rule["id"]].add((m.get("OriginalLogfile"), str(m.get("EventRecordID"))))
    return matches, titles


def leaf_truth(batch: Batch, leaf: Leaf) -> bool | None:
    """True/False for the one-row batch; None (SQL unknown) when the field is absent."""
    if leaf.field is None or leaf.op in ("exists", "null"):
        return _leaf_value(batch, leaf)
    if batch.column(leaf.field) is None:
        return UNKNOWN
    if leaf.op == "fieldref" and batch.column(leaf.value) is None:
        return UNKNOWN
    return _leaf_value(batch, leaf)


def _leaf_value(batch: Batch, leaf: Leaf) -> bool:
    from aptlink.hunt.engine import RuleRun
    from aptlink.hunt.logsources import ANY_EVENT

    return bool(len(RuleRun(batch, ANY_EVENT).matched_rows(leaf)))


def kleene(batch: Batch, node: Node) -> bool | None:
    """The tree under SQL's three-valued logic (what a SQL backend computes)."""
    if isinstance(node, bool):
        return node
    if isinstance(node, Leaf):
        return leaf_truth(batch, node)
    assert isinstance(node, Op)
    values = [kleene(batch, c) for c in node.children]
    if node.kind == "not":
        return None if values[0] is None else not values[0]
    if node.kind == "and":
        return False if False in values else (None if None in values else True)
    return True if True in values else (None if None in values else False)


def in_source(rule: CompiledRule, row: dict[str, str]) -> list[int]:
    channel, event_id = (row.get("Channel") or "").lower(), row.get("EventID")
    return [
        n
        for n, (src, _) in enumerate(rule.variants)
        if (src.channels is None or channel in src.channels)
        and (src.event_ids is None or event_id in src.event_ids)
    ]


def explain(
    rule: CompiledRule, row: dict[str, str], only: str, all_fields: set[str]
) -> tuple[str, str]:
    """(reason, who is right) for an event matched by one tool only."""
    variants = in_source(rule, row)
    if only == "zircolite":
        if not variants:
            return "outside-logsource", "aptlink"
        return "unexplained", "?"
    batch = Batch(to_table([row]))
    for n in variants:
        src, node = rule.variants[n]
        if src.fields and row.get("EventID") == "4688":
            return "audit-4688", "aptlink"
        if kleene(batch, node) is None:
            return "sql-null-not", "aptlink"
    fields = {leaf.field for _, node in rule.variants[:1] for leaf in _leaves(node) if leaf.field}
    if fields - all_fields:
        return "sql-missing-column", "aptlink"
    if "data" in fields or any(v in ("true", "false") for v in row.values()):
        return "field-naming", "aptlink"
    return "unexplained", "?"


def _leaves(node: Node) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    if isinstance(node, Op):
        return [leaf for c in node.children for leaf in _leaves(c)]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zircolite-json", type=Path)
    parser.add_argument("--zircolite-dir", type=Path, default=Path("/tmp/zircolite"))
    parser.add_argument("--zircolite-python", default="/tmp/zvenv/bin/python")
    parser.add_argument("--report", type=Path, help="write the per-rule differences as JSON")
    args = parser.parse_args()

    zjson = args.zircolite_json
    if zjson is None:
        zjson = Path("/tmp/zircolite-compare.json")
        seconds, _log = run_zircolite(args.zircolite_dir, args.zircolite_python, zjson)
        print(f"zircolite ran in {seconds:.1f} s wall")
    z_matches, z_titles = zircolite_matches(zjson)

    started = time.perf_counter()
    ruleset = load_rules([RULES])
    loaded = time.perf_counter() - started
    result = hunt([SAMPLES], ruleset, workers=2)
    a_matches: dict[str, set[EventKey]] = collections.defaultdict(set)
    for d in result.detections:
        a_matches[d.rule_id].add((os.path.basename(d.file), d.record))
    rows: dict[EventKey, dict[str, str]] = {}
    for path in sorted(SAMPLES.rglob("*.evtx")):
        for row in read_evtx(path, ParseContext()):
            rows[(path.name, row["@record"])] = row
    by_id = {r.id: r for r in ruleset.rules}
    all_fields = {name.lower() for row in rows.values() for name in row}

    def pairs(m: dict[str, set[EventKey]]) -> int:
        return sum(len(v) for v in m.values())

    print(f"events: {result.events}; rules loaded by aptlink: {len(ruleset.rules)} "
          f"({len(ruleset.problems)} not loaded, {loaded:.1f} s)")  # fmt: skip
    print(f"zircolite: {len(z_matches)} rules hit, {pairs(z_matches)} matched events")
    print(f"aptlink:   {len(a_matches)} rules hit, {pairs(a_matches)} matched events")

    report: list[dict[str, Any]] = []
    tally: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for rid in sorted(set(z_matches) | set(a_matches), key=lambda r: z_titles.get(r, r)):
        z_only = z_matches.get(rid, set()) - a_matches.get(rid, set())
        a_only = a_matches.get(rid, set()) - z_matches.get(rid, set())
        if not (z_only or a_only):
            continue
        rule = by_id[rid]
        events = []
        for only, keys in (("zircolite", z_only), ("aptlink", a_only)):
            for key in sorted(keys):
                row = rows[key]
                reason, right = explain(rule, row, only, all_fields)
                tally[(only, reason, right)] += 1
                events.append({"only": only, "file": key[0], "record": key[1],
                               "source": f"{row.get('Channel')}:{row.get('EventID')}",
                               "reason": reason, "right": right})  # fmt: skip
        reasons = collections.Counter((e["only"], e["reason"]) for e in events)
        report.append({"rule": rule.title, "id": rid, "logsource": rule.logsource,
                       "zircolite_only": len(z_only), "aptlink_only": len(a_only),
                       "reasons": {f"{o}:{r}": n for (o, r), n in reasons.items()},
                       "events": events})  # fmt: skip

    print(f"\nrules whose matches differ: {len(report)}")
    for entry in report:
        reasons = ", ".join(f"{k} {v}" for k, v in entry["reasons"].items())
        print(f"  {entry['rule'][:62]:62} Z-only {entry['zircolite_only']:3} "
              f"A-only {entry['aptlink_only']:3}  {reasons}")  # fmt: skip
    print("\nmatched events found by one tool only, by reason (who is right):")
    for (only, reason, right), n in tally.most_common():
        print(f"  {only:>9}-only  {reason:18} {n:5}  right: {right}")
    missed = sum(
        n for (only, _, right), n in tally.items() if only == "zircolite" and right != "aptlink"
    )
    print(f"\nevents Zircolite rightly finds that aptlink misses: {missed}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
