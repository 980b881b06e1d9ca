"""Linking and attribution on a generated scenario with a known truth (bench/linkgen.py).

Prints, for aptlink's union-find over strong edges, the Louvain alternative and a naive baseline
(any shared indicator links, as the first skeleton did): the adjusted Rand index of campaigns
against the truth, how many commodity incidents were pulled into an APT campaign, and the
attribution accuracy (APT incidents whose campaign is named for the right actor; commodity
incidents wrongly named).

    .venv/bin/python bench/link_scenario.py [--seed N] [--commodity N]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import linkgen  # noqa: E402

from aptlink.link.attribute import attribute  # noqa: E402
from aptlink.link.campaigns import link_incidents  # noqa: E402
from aptlink.model import INDICATOR_KINDS, Campaign, Incident  # noqa: E402


def adjusted_rand(truth: Sequence[str], pred: Sequence[str]) -> float:
    """Adjusted Rand index (Hubert and Arabie) of two labelings of the same items."""

    def pairs(n: int) -> float:
        return n * (n - 1) / 2

    table = Counter(zip(truth, pred, strict=True))
    a, b = Counter(truth), Counter(pred)
    index = sum(pairs(n) for n in table.values())
    sa, sb = sum(pairs(n) for n in a.values()), sum(pairs(n) for n in b.values())
    expected = sa * sb / pairs(len(truth)) if len(truth) > 1 else 0.0
    top = (sa + sb) / 2
    return 1.0 if math.isclose(top, expected) else (index - expected) / (top - expected)


def naive_groups(incidents: Sequence[Incident], kb: object) -> list[set[str]]:
    """The first skeleton's linking: any shared indicator (not warninglisted) joins two incidents."""
    parent = {i.id: i.id for i in incidents}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    holders: dict[tuple[str, str], list[str]] = defaultdict(list)
    for inc in incidents:
        for o in inc.observations:
            if o.kind in INDICATOR_KINDS and not kb.warninglisted(o.value):  # type: ignore[attr-defined]
                holders[(o.kind, o.value)].append(inc.id)
    for ids in holders.values():
        for other in ids[1:]:
            parent[find(other)] = find(ids[0])
    groups: dict[str, set[str]] = defaultdict(set)
    for inc in incidents:
        groups[find(inc.id)].add(inc.id)
    return list(groups.values())


def score(name: str, groups: Sequence[set[str]], s: linkgen.Scenario, secs: float) -> None:
    label = {i: n for n, g in enumerate(groups) for i in g}
    ids = sorted(s.campaign_of)
    ari = adjusted_rand([s.campaign_of[i] for i in ids], [str(label[i]) for i in ids])
    pulled = sum(
        1
        for g in groups
        if any(s.actor_of[i] is not None for i in g)
        for i in g
        if s.actor_of[i] is None
    )
    multi = sum(1 for g in groups if len(g) > 1)
    print(
        f"  {name:34} ARI {ari:.3f}   campaigns {len(groups):4} ({multi} multi-incident)   "
        f"commodity pulled into APT campaigns {pulled:3}   {secs:.2f} s"
    )


def attribution_accuracy(
    campaigns: Sequence[Campaign],
    s: linkgen.Scenario,
    named: Mapping[str, str | None],
    kinds: Mapping[str, str],
) -> None:
    right = wrong = unnamed = 0
    commodity_named: Counter[str] = Counter()
    for c in campaigns:
        for i in c.incident_ids:
            truth, got = s.actor_of[i], named.get(c.id)
            if truth is None:
                if got is not None:
                    commodity_named[got] += 1
            elif got is None:
                unnamed += 1
            elif got == truth:
                right += 1
            else:
                wrong += 1
    apt = right + wrong + unnamed
    print(
        f"  attribution: APT incidents named right {right}/{apt} = {right / (apt or 1):.2f} "
        f"(wrong {wrong}, unattributed {unnamed})"
    )
    espionage = {a: n for a, n in commodity_named.items() if kinds.get(a, "apt") == "apt"}
    print(
        f"  commodity incidents named for an actor of kb kind 'apt': {sum(espionage.values())}/"
        f"{len(s.commodity)} {dict(espionage)}; for a criminal actor: "
        f"{sum(commodity_named.values()) - sum(espionage.values())} "
        f"{ {a: n for a, n in commodity_named.items() if a not in espionage} }"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--commodity", type=int, default=60)
    args = ap.parse_args(argv)
    from aptlink.kb import KnowledgeBase

    attack = REPO / ".." / "shared" / "data" / "attack" / "enterprise-attack.json"
    kb = KnowledgeBase.load(attack_path=attack if attack.is_file() else None)
    kb.warninglisted("example.org")  # load the warninglists once, outside the timings
    actors = linkgen.pick_actors(kb)
    s = linkgen.generate(actors, commodity=args.commodity, seed=args.seed)
    years = sorted({i.first_seen.year for i in s.incidents if i.first_seen})
    print(
        f"scenario: {len(s.incidents)} incidents ({len(s.commodity)} commodity) from "
        f"{len(actors)} actors, {len(set(s.campaign_of.values())) - len(s.commodity)} APT "
        f"campaigns, {years[0]}-{years[-1]}, seed {args.seed}"
    )
    results = {}
    for method in ("union-find", "louvain"):
        t = time.perf_counter()
        campaigns = link_incidents(s.incidents, kb, method=method)
        results[method] = campaigns
        score(
            f"aptlink {method}",
            [set(c.incident_ids) for c in campaigns],
            s,
            time.perf_counter() - t,
        )
    t = time.perf_counter()
    score(
        "baseline: any shared indicator", naive_groups(s.incidents, kb), s, time.perf_counter() - t
    )
    campaigns = results["union-find"]
    t = time.perf_counter()
    atts = attribute(campaigns, s.incidents, kb)
    named = {a.campaign_id: a.actor for a in atts if a.rank == 1 and a.attributed}
    print(f"  attribute: {time.perf_counter() - t:.2f} s")
    attribution_accuracy(campaigns, s, named, {a.name: a.kind for a in kb.actors()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
