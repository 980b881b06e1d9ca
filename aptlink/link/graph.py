"""The correlation graph: incidents joined by weighted, explained edges.

Each incident is reduced to its features (aptlink/link/features.py). A value on a MISP warninglist,
or shared by more incidents than the over-correlation cap, carries no weight. *Anchor* values (hashes,
C2 domains, URLs, sender accounts, lures ...) propose pairs of incidents; every pair's weight is then
the sum over everything the two share, traits included (techniques by specificity, victim sector and
country, tools, CVEs), adjusted for closeness in time. Pairs are found through an inverted index, so
the cost grows with the number of shared values, not with the square of the number of incidents.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aptlink.link.features import (
    Config,
    Feature,
    canonical_url,
    incident_features,
    load_config,
)
from aptlink.model import Incident, Link, Reason

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase

# Channels whose values a warninglist can hold (freemail domains, public resolvers, big hosters).
WARNINGLIST_CHANNELS = frozenset({"domain", "email", "ip", "url"})  # a /24 is only a weak trait
INFRASTRUCTURE_CHANNELS = frozenset({"hash", "fuzzy", "url", "domain", "email", "ip", "registry"})
SPREAD = 4  # a wide anchor value links each incident to this many time-neighbours, not to all


@dataclasses.dataclass(slots=True)
class CorrelationGraph:
    """Incidents (by position), their feature ids, and weighted edges between positions."""

    incidents: list[Incident]
    features: list[Feature]
    weights: list[float]
    members: list[frozenset[int]]
    edges: dict[tuple[int, int], float]
    core: dict[tuple[int, int], float]
    suppressed: dict[str, int]
    config: Config
    ids: dict[Feature, int] = dataclasses.field(default_factory=dict)
    _adjacency: dict[int, list[tuple[int, float]]] | None = None
    listed: list[bool] | None = None  # features a campaign record lists (campaigns.py)
    _reasons: dict[tuple[int, int], tuple[Reason, ...]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = {f: i for i, f in enumerate(self.features)}

    def shared(self, a: int, b: int) -> dict[str, list[str]]:
        """What two incidents share that carries weight, by channel."""
        out: dict[str, list[str]] = defaultdict(list)
        for fid in sorted(self.members[a] & self.members[b]):
            if self.weights[fid] > 0:
                channel, value = self.features[fid]
                out[channel].append(value)
        return dict(out)

    def reasons(self, a: int, b: int) -> tuple[Reason, ...]:
        """One reason per channel, with counts: '3 shared domains', 'same lure theme'."""
        key = _pair(a, b)
        if key not in self._reasons:
            self._reasons[key] = self._explain(*key)
        return self._reasons[key]

    def _explain(self, a: int, b: int) -> tuple[Reason, ...]:
        weights, features = self.weights, self.features
        by_channel: dict[str, list[int]] = {}
        for fid in sorted(self.members[a] & self.members[b]):
            if weights[fid] > 0:
                by_channel.setdefault(features[fid][0], []).append(fid)
        out = []
        for channel in sorted(by_channel):
            fids = by_channel[channel]
            label = self.config.channels[channel].label(len(fids))
            weight = sum(weights[f] for f in fids)
            shown = ", ".join(features[f][1] for f in fids[:3]) + (" ..." if len(fids) > 3 else "")
            out.append(
                Reason(
                    code=f"shared:{channel}", detail=f"{label}: {shown}", weight=round(weight, 3)
                )
            )
        return tuple(sorted(out, key=lambda r: (-r.weight, r.code)))

    def link(self, a: int, b: int) -> Link:
        lo, hi = sorted((self.incidents[a].id, self.incidents[b].id))
        return Link(
            source=lo,
            target=hi,
            weight=round(self.edges[_pair(a, b)], 3),
            reasons=self.reasons(a, b),
        )

    def summary(self, a: int, b: int) -> str:
        return ", ".join(r.detail.split(":", 1)[0] for r in self.reasons(a, b))

    @property
    def adjacency(self) -> dict[int, list[tuple[int, float]]]:
        """Each incident's weighted neighbours (built once)."""
        if self._adjacency is None:
            adj: dict[int, list[tuple[int, float]]] = defaultdict(list)
            for (a, b), w in self.edges.items():
                adj[a].append((b, w))
                adj[b].append((a, w))
            self._adjacency = dict(adj)
        return self._adjacency


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small tuples: with a large knowledge
    base in memory each full collection walks millions of objects, and these records make no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_graph(
    incidents: Sequence[Incident],
    kb: KnowledgeBase | None = None,
    config: Config | None = None,
    min_weight: float = 0.3,
) -> CorrelationGraph:
    """The weighted graph over ``incidents`` (kept in the order given); edges below ``min_weight``
    are dropped."""
    cfg = config or load_config()
    index, features, members = _index(incidents)
    suppressed: Counter[str] = Counter()
    weights = _feature_weights(features, index, len(incidents), kb, cfg, suppressed)
    candidates = _candidate_pairs(index, features, weights, incidents, cfg)
    # (the weights list is read when called: a cut value weighs nothing in a later call)
    weigh = functools.partial(
        _weigh_pairs,
        members=members,
        features=features,
        weights=weights,
        incidents=incidents,
        cfg=cfg,
        min_weight=min_weight,
    )
    edges, core = weigh(candidates)
    bridges = _bridge_values(index, features, weights, edges, core, cfg, kb)
    if bridges:
        for fid in bridges:
            weights[fid] = 0.0
        suppressed["bridge"] += len(bridges)
        edges, core = _reweigh(bridges, index, edges, core, weigh)
    return CorrelationGraph(
        incidents=list(incidents),
        features=features,
        weights=weights,
        members=members,
        edges=edges,
        core=core,
        suppressed=dict(suppressed),
        config=cfg,
    )


def _index(
    incidents: Sequence[Incident],
) -> tuple[list[list[int]], list[Feature], list[frozenset[int]]]:
    ids: dict[Feature, int] = {}
    index: list[list[int]] = []
    members: list[frozenset[int]] = []
    memo: dict[tuple[int, str], tuple[Feature, ...]] = {}
    for pos, inc in enumerate(incidents):
        mine = []
        # Sorted, so that ids and each member set's layout (hence the order in which an edge's
        # weights are summed) do not depend on the hash seed.
        for feat in sorted(incident_features(inc, memo)):
            fid = ids.get(feat)
            if fid is None:
                fid = ids[feat] = len(ids)
                index.append([pos])
            else:
                index[fid].append(pos)
            mine.append(fid)
        members.append(frozenset(mine))
    return index, list(ids), members


def _feature_weights(
    features: list[Feature],
    index: list[list[int]],
    n: int,
    kb: KnowledgeBase | None,
    cfg: Config,
    suppressed: Counter[str],
) -> list[float]:
    g = cfg.graph
    hard = max(g["df_hard"], g["df_hard_fraction"] * n)
    specificity = TechniqueSpecificity.from_kb(kb, cfg)
    exclusivity = SoftwareExclusivity.from_kb(kb, cfg)
    out = []
    for fid, (channel, value) in enumerate(features):
        df = len(index[fid])
        if df >= hard:
            suppressed["over-correlated"] += 1
            out.append(0.0)
            continue
        # A value only one incident holds links nothing: spare it the warninglist look-up.
        if (
            df > 1
            and channel in WARNINGLIST_CHANNELS
            and kb is not None
            and _warninglisted(kb, channel, value)
        ):
            suppressed["warninglisted"] += 1
            out.append(0.0)
            continue
        base = _base_weight(channel, value, cfg, specificity, exclusivity)
        out.append(base * _df_factor(df, g["df_soft"], hard))
    return out


def _warninglisted(kb: KnowledgeBase, channel: str, value: str) -> bool:
    if channel == "url":
        # A specific path on a big host (a OneDrive share link) is the attacker's; the bare host is not.
        canon, host = canonical_url(value)
        specific = canon.split("://", 1)[-1] != host
        return bool(kb.warninglisted(value)) or (not specific and bool(kb.warninglisted(host)))
    if channel == "email":
        return False  # the sender account is the attacker's even when the provider is freemail
    return bool(kb.warninglisted(value.split("/", 1)[0] if channel == "net24" else value))


def _base_weight(
    channel: str,
    value: str,
    cfg: Config,
    specificity: TechniqueSpecificity,
    exclusivity: SoftwareExclusivity,
) -> float:
    base = cfg.channels[channel].weight
    if channel == "technique":
        return base * specificity(value)
    if channel in ("malware", "tool"):
        return base * exclusivity(value)
    return base


def _df_factor(df: int, soft: float, hard: float) -> float:
    """1 up to ``soft`` incidents sharing a value, falling (in log scale) to 0 at ``hard``."""
    if df <= soft:
        return 1.0
    return max(0.0, 1.0 - math.log(df / soft) / math.log(hard / soft))


def _bridge_values(
    index: list[list[int]],
    features: list[Feature],
    weights: list[float],
    edges: Mapping[tuple[int, int], float],
    core: Mapping[tuple[int, int], float],
    cfg: Config,
    kb: KnowledgeBase | None = None,
) -> list[int]:
    """Attacker-specific values whose holders fall, without them, into two or more groups that are
    each held together by their own strong evidence but not to each other: an image host, a CDN
    distribution or a storage bucket that several otherwise unrelated operations use is the trade's
    infrastructure, not one actor's, and would chain their campaigns into one. A value whose holders
    share nothing else (one C2 domain across an actor's incidents) or form one group is kept.

    Values held by exactly the same incidents (a URL and its host, an address and its domain) are
    one piece of evidence and are judged together. A value the knowledge base's intel attributes to
    an actor is that actor's infrastructure by report, whatever the groups: never cut."""
    g = cfg.graph
    strong, group_size = g["strong_edge"], int(g["bridge_group"])
    together: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for fid, holders in enumerate(index):
        if (
            weights[fid] > 0
            and len(holders) >= 2 * group_size
            and features[fid][0] in cfg.core_channels
        ):
            together[tuple(holders)].append(fid)
    found = []
    for held_by, fids in together.items():
        if any(_attributed_by_intel(kb, features[f][1]) for f in fids):
            continue
        w = sum(weights[f] for f in fids)
        inside = UnionFind(held_by)
        for a, b in itertools.combinations(held_by, 2):
            inner = core.get((a, b), 0.0) - w
            if inner >= strong and edges[(a, b)] - w >= strong:
                inside.union(a, b)
        if inside.groups_of(group_size) >= 2:
            found.extend(fids)
    return sorted(found)


def _attributed_by_intel(kb: KnowledgeBase | None, value: str) -> bool:
    """Whether an indicator of the knowledge base with this value names an actor."""
    if kb is None:
        return False
    try:
        return any(hit.get("actor") for hit in kb.ioc(value))
    except Exception:  # a knowledge-base problem must not change how the case links
        return False


class UnionFind:
    """Union-find over integer keys (incident positions; the holders of one value): each group is
    named by its smallest key, so the result does not depend on the order of the unions."""

    def __init__(self, keys: Iterable[int]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups_of(self, size: int) -> int:
        """How many groups hold at least ``size`` keys."""
        counts = Counter(self.find(k) for k in self.parent)
        return sum(1 for c in counts.values() if c >= size)

    def groups(self) -> list[list[int]]:
        """The groups, each in key order, in the order of their first keys."""
        out: dict[int, list[int]] = defaultdict(list)
        for key in self.parent:
            out[self.find(key)].append(key)
        return list(out.values())


def _candidate_pairs(
    index: list[list[int]],
    features: list[Feature],
    weights: list[float],
    incidents: Sequence[Incident],
    cfg: Config,
) -> set[tuple[int, int]]:
    """Pairs proposed by anchor values; a wide value links time-neighbours only (bounded cost)."""
    pairs: set[tuple[int, int]] = set()
    for fid, holders in enumerate(index):
        channel = features[fid][0]
        anchor = cfg.channels[channel].anchor
        if not anchor or weights[fid] <= 0 or len(holders) < 2:
            continue
        if len(holders) <= cfg.graph["df_soft"]:
            pairs.update(itertools.combinations(holders, 2))  # holders ascend: pairs are (lo, hi)
        else:
            ordered = sorted(holders, key=lambda p: _time_key(incidents[p]))
            for i, a in enumerate(ordered):
                pairs.update(_pair(a, b) for b in ordered[i + 1 : i + 1 + SPREAD])
    return pairs


def _time_key(inc: Incident) -> tuple[float, str]:
    t = inc.first_seen or inc.last_seen
    return (t.timestamp() if t else 0.0, inc.id)


def _weigh_pairs(
    candidates: Iterable[tuple[int, int]],
    members: list[frozenset[int]],
    features: list[Feature],
    weights: list[float],
    incidents: Sequence[Incident],
    cfg: Config,
    min_weight: float,
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float]]:
    """Each pair's weight (everything shared) and core weight (attacker-specific artefacts only)."""
    role = [_ROLE.get(f[0], 0) if f[0] not in cfg.core_channels else CORE for f in features]
    times = [_microseconds(inc.first_seen or inc.last_seen) for inc in incidents]
    cap = cfg.graph["technique_cap"]
    edges: dict[tuple[int, int], float] = {}
    core: dict[tuple[int, int], float] = {}
    for a, b in sorted(candidates):
        sums = [0.0, 0.0, 0.0, 0.0, 0.0]
        for fid in members[a] & members[b]:
            sums[role[fid]] += weights[fid]
        other, tech, inner, net, ip = sums
        total = other + inner + ip + (0.0 if ip > 0 else net)  # a shared address subsumes its /24
        if total <= 0:
            continue
        w = _time_adjusted_us(total + min(tech, cap), times[a], times[b], cfg.graph)
        if w >= min_weight:
            edges[(a, b)] = w
            if inner > 0:
                core[(a, b)] = inner
    return edges, core


Edges = dict[tuple[int, int], float]  # weight of each linked pair of incident positions


def _reweigh(
    cut: Sequence[int],
    index: list[list[int]],
    edges: Edges,
    core: Edges,
    weigh: Callable[[Iterable[tuple[int, int]]], tuple[Edges, Edges]],
) -> tuple[Edges, Edges]:
    """``_weigh_pairs`` over every candidate again, after the ``cut`` values lost their weight, but
    only the pairs that share a cut value are weighed anew: the others cannot change. A weight can
    only fall, so no pair is added (an edge is a weighed candidate); the dicts keep their order
    (the sorted order of the pairs). ``weigh``: ``_weigh_pairs`` bound to the graph's data."""
    touched = {
        pair for fid in cut for pair in itertools.combinations(index[fid], 2) if pair in edges
    }
    fresh, fresh_core = weigh(touched)
    kept = {
        p: fresh[p] if p in touched else w
        for p, w in edges.items()
        if p not in touched or p in fresh
    }
    kept_core = {
        p: fresh_core[p] if p in touched else w
        for p, w in core.items()
        if p not in touched or p in fresh_core
    }
    return kept, kept_core


OTHER, TECHNIQUE, CORE, NET, IP = range(5)
_ROLE = {"technique": TECHNIQUE, "net24": NET, "ip": IP}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _microseconds(t: datetime | None) -> int | None:
    """A time as integer microseconds since the epoch: differences stay exact and cost no datetime
    arithmetic per pair."""
    return None if t is None else (t - _EPOCH) // _MICROSECOND


def _time_adjusted_us(w: float, ta: int | None, tb: int | None, g: Mapping[str, float]) -> float:
    """:func:`_time_adjusted` over :func:`_microseconds` (the same figures: timedelta's
    total_seconds is the same integer microseconds divided by 10**6)."""
    if ta is None or tb is None:
        return w
    days = abs((ta - tb) / 1_000_000) / 86400
    if days <= g["time_close_days"]:
        return w + g["time_close"]
    if days >= g["time_far_days"]:
        return w * g["time_far_factor"]
    return w


def _time_adjusted(
    w: float, ta: datetime | None, tb: datetime | None, g: Mapping[str, float]
) -> float:
    if ta is None or tb is None:
        return w
    days = abs((ta - tb).total_seconds()) / 86400
    if days <= g["time_close_days"]:
        return w + g["time_close"]
    if days >= g["time_far_days"]:
        return w * g["time_far_factor"]
    return w


@dataclasses.dataclass(slots=True)
class TechniqueSpecificity:
    """How much sharing a technique says (0-1): IDF over the actors' technique sets; generic -> 0."""

    idf: dict[str, float]
    generic: frozenset[str]
    default: float = 0.5

    @classmethod
    def from_kb(cls, kb: KnowledgeBase | None, cfg: Config) -> TechniqueSpecificity:
        actors = kb.actors() if kb is not None else []
        counts: Counter[str] = Counter(t for a in actors for t in set(a.techniques))
        n = len(actors)
        idf = (
            {t: math.log((n + 1) / (c + 1)) / math.log(n + 1) for t, c in counts.items()}
            if n > 1
            else {}
        )
        return cls(idf=idf, generic=cfg.generic_techniques, default=1.0 if n > 1 else 0.5)

    def __call__(self, tid: str) -> float:
        if tid in self.generic or tid.split(".")[0] in {"T1059", "T1105", "T1082"}:
            return 0.0
        return self.idf.get(tid, self.default)


@dataclasses.dataclass(slots=True)
class SoftwareExclusivity:
    """How much sharing a malware family or tool says (0-1): 1 for one actor's own, less when many
    actors (or criminals at large) use it."""

    users: dict[str, int]
    commodity: frozenset[str]

    @classmethod
    def from_kb(cls, kb: KnowledgeBase | None, cfg: Config) -> SoftwareExclusivity:
        users: Counter[str] = Counter()
        for actor in kb.actors() if kb is not None else []:
            users.update({s.lower() for s in actor.software})
        return cls(users=dict(users), commodity=cfg.commodity_software)

    def __call__(self, name: str) -> float:
        if name in self.commodity:
            return 0.2
        k = self.users.get(name, 1)
        return 1.0 / math.sqrt(max(k, 1))
