"""The batch pre-check: the clauses a rule needs (one leaf of each must hold wherever the rule
does), and rules skipped by it give the same detections as rules evaluated in full."""

from __future__ import annotations

from aptlink.hunt.compile import Leaf, Op
from aptlink.hunt.engine import Batch, NeedleIndex, RuleRun, match_rules, necessary
from aptlink.hunt.events import to_table
from aptlink.hunt.logsources import ANY_EVENT
from aptlink.hunt.rules import CompiledRule

A, B, C, D = (Leaf("image", "endswith", f"\\{n}.exe") for n in "abcd")


def test_clauses_of_and_or_not() -> None:
    assert necessary(A) == (frozenset({A}),)
    assert necessary(Op("and", (A, Op("not", (B,))))) == (frozenset({A}),)
    assert set(necessary(Op("and", (A, B)))) == {frozenset({A}), frozenset({B})}
    assert necessary(Op("or", (A, Op("and", (B, C))))) in (
        (frozenset({A, B}),),
        (frozenset({A, C}),),
    )
    assert necessary(Op("or", (A, Op("not", (B,))))) == ()  # a NOT may hold with no leaf true
    assert necessary(True) == ()
    assert necessary(False) == (frozenset(),)  # never true: an empty clause


def test_skipped_rules_match_nothing_the_full_evaluation_finds() -> None:
    rows = [
        {"Image": "C:\\x\\a.exe", "CommandLine": "a"},
        {"Image": "C:\\x\\b.exe", "CommandLine": "b"},
        {"Image": "C:\\x\\c.exe"},
    ]
    trees = [
        Op("and", (A, Op("not", (B,)))),
        Op("and", (A, B)),
        Op("or", (D, Op("and", (B, Leaf("commandline", "eq", "b"))))),
        Op("not", (D,)),
        Op("and", (C, Leaf("commandline", "null"))),
        Op("and", (D, C)),
    ]
    rules = [
        CompiledRule(id=str(n), title=str(n), level="high", path="", variants=((ANY_EVENT, t),))
        for n, t in enumerate(trees)
    ]
    table = to_table(rows)
    planned = match_rules(Batch(table, NeedleIndex(rules)), rules)
    found = {index: rows_.tolist() for index, rows_ in planned}
    assert found == {0: [0], 2: [1], 3: [0, 1, 2], 4: [2]}
    # every variant evaluated in full (no plan, no skipping) gives the same rows
    batch = Batch(table)
    full = {}
    for index, rule in enumerate(rules):
        hit = RuleRun(batch, ANY_EVENT).matched_rows(rule.variants[0][1])
        if len(hit):
            full[index] = hit.tolist()
    assert full == found
