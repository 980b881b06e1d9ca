"""Campaigns: incidents linked by shared indicators (a first, thresholded union-find)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from aptlink.kb import KnowledgeBase
from aptlink.model import INDICATOR_KINDS, Campaign, Incident, Link, Reason


def link_incidents(incidents: Sequence[Incident], kb: KnowledgeBase | None) -> list[Campaign]:
    parent = {i.id: i.id for i in incidents}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_value: dict[tuple[str, str], list[str]] = defaultdict(list)
    for inc in incidents:
        for o in inc.observations:
            if o.kind in INDICATOR_KINDS and not (kb and kb.warninglisted(o.value)):
                by_value[(o.kind, o.value)].append(inc.id)
    links: list[Link] = []
    for (kind, value), ids in sorted(by_value.items()):
        ids = sorted(set(ids))
        for other in ids[1:]:
            parent[find(other)] = find(ids[0])
            links.append(
                Link(
                    source=ids[0],
                    target=other,
                    weight=1.0,
                    reasons=(Reason(code=f"shared:{kind}", detail=value),),
                )
            )
    groups: dict[str, list[Incident]] = defaultdict(list)
    for inc in incidents:
        groups[find(inc.id)].append(inc)
    return [_campaign(n, members, links) for n, members in enumerate(groups.values(), 1)]


def _campaign(n: int, members: list[Incident], links: list[Link]) -> Campaign:
    ids = {i.id for i in members}
    times = [t for i in members for t in (i.first_seen, i.last_seen) if t]
    return Campaign(
        name=f"campaign {n}",
        incident_ids=tuple(ids),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        victims=tuple(sorted({i.victim for i in members if i.victim})),
        techniques=tuple(t for i in members for t in i.techniques),
        links=tuple(lk for lk in links if lk.source in ids),
    )
