"""Campaigns: the connected components of the correlation graph's strong edges.

A thresholded union-find, chosen over Leiden/Louvain after measuring both on the link scenario
(docs/linking.md): it is deterministic without a seed, explains every membership by one edge, and
is linear in the number of edges. A commodity incident (ransomware, DDoS, mass crimeware) joins a
non-commodity one only over an edge of ``commodity_edge`` weight, so weak shared values never pull
it into an espionage campaign. Campaign ids are uuid5 over the sorted incident ids, hence stable
when the evidence is unchanged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aptlink.link.features import Config, is_commodity, load_config
from aptlink.link.graph import (
    INFRASTRUCTURE_CHANNELS,
    CorrelationGraph,
    UnionFind,
    build_graph,
    paused_gc,
)
from aptlink.model import Campaign, Incident

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase

MAX_LISTED = 50


def link_incidents(
    incidents: Sequence[Incident],
    kb: KnowledgeBase | None,
    *,
    config: Config | None = None,
    method: str = "union-find",
) -> list[Campaign]:
    """Incidents into campaigns; every incident ends up in exactly one (possibly alone)."""
    with paused_gc():
        return _link(incidents, kb, config or load_config(), method)


def _link(
    incidents: Sequence[Incident], kb: KnowledgeBase | None, cfg: Config, method: str
) -> list[Campaign]:
    ordered = sorted(incidents, key=lambda i: i.id)
    graph = build_graph(ordered, kb, cfg)
    commodity = [is_commodity(i, cfg) for i in ordered]
    if method == "louvain":
        groups = louvain_groups(graph, commodity)
    else:
        groups = strong_components(graph, commodity)
    campaigns = [build_campaign(graph, members, commodity) for members in groups]
    return sorted(campaigns, key=lambda c: (c.first_seen is None, c.first_seen, c.id))


def is_strong(graph: CorrelationGraph, a: int, b: int, w: float, commodity: list[bool]) -> bool:
    g = graph.config.graph
    need = g["commodity_edge"] if commodity[a] != commodity[b] else g["strong_edge"]
    return w >= need


def strong_components(graph: CorrelationGraph, commodity: list[bool]) -> list[list[int]]:
    """Three deterministic passes, so that no single borderline edge bridges two operations:

    1. union over *core* edges (shared attacker-specific artefacts worth a strong edge);
    2. each incident still alone joins the group it has the most strong-edge weight to;
    3. incidents still alone after that join each other over their strong edges.
    """
    uf = UnionFind(range(len(graph.incidents)))
    need = graph.config.graph["strong_edge"]
    for (a, b), inner in graph.core.items():
        if inner >= need and is_strong(graph, a, b, graph.edges[(a, b)], commodity):
            uf.union(a, b)
    size = Counter(uf.find(p) for p in range(len(graph.incidents)))
    alone = [p for p in range(len(graph.incidents)) if size[uf.find(p)] == 1]
    attach = {}
    for p in alone:
        pull: dict[int, float] = defaultdict(float)
        for q, w in graph.adjacency.get(p, ()):
            if size[uf.find(q)] > 1 and is_strong(graph, p, q, w, commodity):
                pull[uf.find(q)] += w
        if pull:
            attach[p] = min(pull, key=lambda root: (-pull[root], root))
    for p, root in attach.items():
        uf.union(p, root)
    left = set(alone) - set(attach)
    for p in sorted(left):
        for q, w in graph.adjacency.get(p, ()):
            if q in left and is_strong(graph, p, q, w, commodity):
                uf.union(p, q)
    return uf.groups()


def louvain_groups(graph: CorrelationGraph, commodity: list[bool]) -> list[list[int]]:
    """Modularity communities (networkx Louvain, fixed seed) over edges that pass the commodity
    guard; measured against union-find in bench/link_scenario.py."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(len(graph.incidents)))
    strong = graph.config.graph["strong_edge"]
    for (a, b), w in graph.edges.items():
        if commodity[a] == commodity[b] or w >= graph.config.graph["commodity_edge"]:
            g.add_edge(a, b, weight=w / strong)
    communities = nx.community.louvain_communities(g, weight="weight", seed=0)
    return [sorted(c) for c in communities]


def build_campaign(graph: CorrelationGraph, members: list[int], commodity: list[bool]) -> Campaign:
    incs = [graph.incidents[p] for p in members]
    strong = _intra_edges(graph, members, commodity) if len(members) > 1 else []
    times = [t for i in incs for t in (i.first_seen, i.last_seen) if t]
    limit = int(graph.config.graph["max_links_per_campaign"])
    facts = _facts(graph, members)
    return Campaign(
        name=_name(incs, facts, min(times) if times else None),
        incident_ids=tuple(i.id for i in incs),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        victims=tuple(sorted({i.victim for i in incs if i.victim})),
        techniques=tuple({t for i in incs for t in i.techniques}),
        links=tuple(graph.link(a, b) for _, a, b in _spanning(strong, members)[:limit]),
        membership=_membership(graph, members, strong),
        extra={
            **facts,
            "exposures": _exposures(incs),
            "incidents": len(incs),
            "commodity": all(commodity[p] for p in members),
            "method": "union-find over strong edges",
            **_joints(graph, members, strong),
        },
    )


MAX_JOINTS = 5


def _joints(
    graph: CorrelationGraph, members: list[int], strong: list[tuple[float, int, int]]
) -> dict[str, Any]:
    """The incidents a large campaign hangs on: those without which its strong links fall into
    two or more parts of at least ``joint_part`` incidents each. Single linkage joins operations
    through one incident that holds values of both (a spam run reusing another's tracking host);
    it is shown, not cut, because a real campaign seen in part can hang on one incident just the
    same (docs/linking.md). Most telling first: the larger the second-largest part."""
    cfg = graph.config.graph
    if len(members) < cfg["joint_campaign"]:
        return {}
    import networkx as nx

    least = int(cfg["joint_part"])
    links = nx.Graph()
    links.add_nodes_from(members)
    links.add_edges_from((a, b) for _, a, b in strong)
    found = []
    for p, parts in articulation_parts(links).items():
        if len(parts) > 1 and parts[1] >= least:
            found.append((parts, graph.incidents[p].id))
    if not found:
        return {}
    found.sort(key=lambda f: (-f[0][1], -f[0][0], f[1]))
    return {
        "joints": [
            {"incident": incident, "parts": [n for n in parts if n >= least]}
            for parts, incident in found[:MAX_JOINTS]
        ],
        "joint_count": len(found),
    }


def articulation_parts(links: Any) -> dict[int, list[int]]:
    """For each articulation point of an undirected networkx graph, the sizes of the parts the
    rest of the graph falls into without it (its other components included), largest first. One
    pass over the block-cut tree (blocks and cut vertices; a part is a subtree hanging off the cut
    vertex, or what lies above it), not a search per point: a campaign of thousands of incidents
    can hang on hundreds of them."""
    import networkx as nx

    cuts = set(nx.articulation_points(links))
    if not cuts:
        return {}
    tree: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    weight: dict[tuple[str, int], int] = {("c", v): 1 for v in cuts}
    for number, block in enumerate(nx.biconnected_components(links)):
        weight[("b", number)] = sum(1 for v in block if v not in cuts)
        for v in block & cuts:
            tree[("b", number)].append(("c", v))
            tree[("c", v)].append(("b", number))
    components = list(nx.connected_components(links))
    component_of = {v: n for n, c in enumerate(components) for v in c}
    parts: dict[int, list[int]] = {}
    seen: set[tuple[str, int]] = set()
    for root in sorted(tree):
        if root in seen:
            continue
        order, above = _walk_tree(tree, root, seen)
        below = dict.fromkeys(order, 0)
        for node in reversed(order):  # children before their parent
            below[node] += weight[node]
            parent = above[node]
            if parent is not None:
                below[parent] += below[node]
        total = below[root]
        for node in order:
            if node[0] != "c":
                continue
            hanging = [below[m] for m in tree[node] if above[m] == node]
            rest = total - 1 - sum(hanging)
            others = [len(c) for n, c in enumerate(components) if n != component_of[node[1]]]
            sizes = hanging + ([rest] if rest else []) + others
            parts[node[1]] = sorted(sizes, reverse=True)
    return parts


def _walk_tree(
    tree: dict[tuple[str, int], list[tuple[str, int]]],
    root: tuple[str, int],
    seen: set[tuple[str, int]],
) -> tuple[list[tuple[str, int]], dict[tuple[str, int], tuple[str, int] | None]]:
    """The nodes of the block-cut tree reachable from ``root`` in depth-first order, each with
    the node above it."""
    order: list[tuple[str, int]] = []
    above: dict[tuple[str, int], tuple[str, int] | None] = {root: None}
    stack = [root]
    seen.add(root)
    while stack:
        node = stack.pop()
        order.append(node)
        for nxt in tree[node]:
            if nxt not in seen:
                seen.add(nxt)
                above[nxt] = node
                stack.append(nxt)
    return order, above


def _exposures(incs: list[Incident]) -> list[dict[str, Any]]:
    """Vulnerable devices at the campaign's victims, attached to incidents as their likely way in
    (aptlink/link/incidents.py): the same exploited CVE at several victims is one method."""
    return [
        {**e, "incident": i.id}
        for i in incs
        for e in i.extra.get("exposures") or ()
        if isinstance(e, dict)
    ]


def _intra_edges(
    graph: CorrelationGraph, members: list[int], commodity: list[bool]
) -> list[tuple[float, int, int]]:
    inside = set(members)
    found = []
    adj = graph.adjacency
    for a in members:
        for b, w in adj.get(a, ()):
            if a < b and b in inside and is_strong(graph, a, b, w, commodity):
                found.append((w, a, b))
    return sorted(found, key=lambda e: (-e[0], graph.incidents[e[1]].id, graph.incidents[e[2]].id))


def _spanning(
    strong: list[tuple[float, int, int]], members: list[int]
) -> list[tuple[float, int, int]]:
    """The strongest edges that connect the campaign (a maximum spanning forest, Kruskal): enough
    to explain every membership without listing every pair."""
    if not strong:
        return []
    local = {p: n for n, p in enumerate(members)}
    uf = UnionFind(range(len(members)))
    kept = []
    for w, a, b in strong:
        if uf.find(local[a]) != uf.find(local[b]):
            uf.union(local[a], local[b])
            kept.append((w, a, b))
    return kept


def _membership(
    graph: CorrelationGraph, members: list[int], strong: list[tuple[float, int, int]]
) -> dict[str, str]:
    best: dict[int, tuple[float, int]] = {}
    for w, a, b in strong:
        for me, other in ((a, b), (b, a)):
            if me not in best or w > best[me][0]:
                best[me] = (w, other)
    out = {}
    for p in members:
        inc = graph.incidents[p]
        if p in best:
            w, other = best[p]
            out[inc.id] = (
                f"linked to {graph.incidents[other].id} by {graph.summary(p, other)} (weight {w:.2f})"
            )
        else:
            out[inc.id] = _alone(graph, p)
    return out


def _alone(graph: CorrelationGraph, p: int) -> str:
    weak = graph.adjacency.get(p, [])
    threshold = graph.config.graph["strong_edge"]
    if not weak:
        return "stands alone: shares no weighted value with another incident"
    w, other = max((w, o) for o, w in weak)
    return (
        f"stands alone: its best link ({graph.summary(p, other)}, weight {w:.2f}) to "
        f"{graph.incidents[other].id} is below the {threshold:.2f} needed"
    )


FACT_CHANNELS = {"malware": "malware", "tool": "tools", "lure": "lure_themes", "sector": "sectors",
                 "country": "countries", "cve": "cves"}  # fmt: skip


def _facts(graph: CorrelationGraph, members: list[int]) -> dict[str, Any]:
    """What the campaign's incidents show, by channel: infrastructure, malware, lures, victims."""
    listed = _listed_features(graph)
    counts: dict[int, int] = {}
    for p in members:
        for fid in graph.members[p]:
            if listed[fid]:
                counts[fid] = counts.get(fid, 0) + 1
    by_channel: dict[str, dict[str, int]] = defaultdict(dict)
    for fid, n in counts.items():
        channel, value = graph.features[fid]
        by_channel[channel][value] = n
    infra = {ch: _top(by_channel[ch]) for ch in sorted(INFRASTRUCTURE_CHANNELS) if ch in by_channel}
    return {"infrastructure": infra} | {
        name: _top(by_channel.get(ch, {})) for ch, name in FACT_CHANNELS.items()
    }


def _listed_features(graph: CorrelationGraph) -> list[bool]:
    """Which features a campaign record lists (computed once per graph, not once per campaign)."""
    if graph.listed is None:
        graph.listed = [
            channel in FACT_CHANNELS or (channel in INFRASTRUCTURE_CHANNELS and w > 0)
            for (channel, _), w in zip(graph.features, graph.weights, strict=True)
        ]
    return graph.listed


def _top(counts: Mapping[str, int]) -> list[str]:
    if len(counts) <= 1:
        return list(counts)
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_LISTED]]


def _name(incs: list[Incident], facts: dict[str, Any], first: Any) -> str:
    """A deterministic, readable name: month of first activity, what marks it, and its size."""
    when = first.strftime("%Y-%m") if first else "undated"
    marks = [*facts["malware"][:1], *facts["lure_themes"][:1]]
    if not marks:
        marks = [min(incs, key=lambda i: (i.first_seen is None, i.first_seen, i.id)).title[:60]]
    size = f"{len(incs)} incidents" if len(incs) > 1 else "1 incident"
    return f"{when} {' / '.join(marks)} ({size})"
