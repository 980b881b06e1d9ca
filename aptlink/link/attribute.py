"""Attribution: which known actor, if any, is behind each campaign, with the evidence for and against.

Each actor is a hypothesis scored in log-odds against a background hypothesis ("someone not in the
knowledge base"): techniques and software weighed by how specific they are to the actor's profile,
plus intel IOCs attributed to the actor, known infrastructure, exploited CVEs, lure themes,
victimology and active years; inconsistencies (techniques never reported for the actor, victims
outside its targeting, activity outside its years, ransomware impact for an espionage actor) count
against it and fill the competing-hypotheses table. A softmax over all hypotheses gives the
confidence; below the threshold the campaign is "unattributed" (docs/attribution.md).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import heapq
import math
import multiprocessing as mp
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aptlink.link.actorindex import ActorIndex, build_index, load_settings, parent, phrases
from aptlink.link.features import canonical_url, load_config, registered_domain
from aptlink.link.graph import paused_gc
from aptlink.model import (
    INDICATOR_KINDS,
    NAMESPACE,
    Attribution,
    Campaign,
    Incident,
    Kind,
    Reason,
)

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase

UNATTRIBUTED = 0.5  # kept for callers of the first version; the live value is in attribution.toml
LURE_TEXT_KINDS = frozenset({Kind.LURE_THEME, Kind.SUBJECT, Kind.FILE_NAME})


@dataclasses.dataclass(slots=True)
class CampaignProfile:
    """What a campaign shows that attribution can weigh."""

    techniques: set[str]
    software: dict[str, str]  # canonical key -> name as seen
    indicators: set[str]
    sectors: set[str]
    countries: set[str]
    cves: set[str]
    lures: set[str]
    texts: set[str]  # subjects, file names and lure themes, lower-cased: where lure phrases show
    years: tuple[int, int] | None
    impact: set[str]
    known: frozenset[str] = frozenset()  # techniques some actor is known for (set by rank_actors)
    ranked: list[str] = dataclasses.field(default_factory=list)  # known, most specific first
    hits: list[tuple[int, str, Mapping[str, Any]]] = dataclasses.field(default_factory=list)
    # Set by rank_actors, once per campaign: the actors' lure phrases found in ``texts``, the
    # indicators listed as some actor's infrastructure (sorted, with those actors), and the keys
    # the per-actor victim and time reasons are memoised on.
    lure_hits: frozenset[str] = frozenset()
    capability: tuple[frozenset[str], frozenset[str]] | tuple[()] = ()
    software_sorted: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    infra: list[tuple[str, list[int]]] = dataclasses.field(default_factory=list)
    victim_key: tuple[Any, ...] = ()
    time_key: tuple[Any, ...] = ()


def attribute(
    campaigns: Sequence[Campaign],
    incidents: Sequence[Incident],
    kb: KnowledgeBase | None,
    *,
    settings: Mapping[str, Any] | None = None,
    workers: int | None = None,
) -> list[Attribution]:
    """Ranked candidates (up to ``top`` per campaign) with Diamond-model evidence and ACH.

    With ``workers`` > 1, large cases are scored in forked processes, each over a contiguous
    slice of the campaigns in id order, so the result is the same as in one. Off by default:
    measured at 100 k incidents the children's copy-on-write of the parent's objects cost more
    than the second core saved (docs/linking.md)."""
    if kb is None:
        return []
    with paused_gc():
        index = build_index(kb, settings)
        if not index.size:
            return []
        ordered = sorted(campaigns, key=lambda c: c.id)
        job = Job(ordered, {i.id: i for i in incidents}, index, IntelCache(kb))
        rows = _rows_in_processes(job, workers)
        if rows is None:
            rows = job.rows(0, len(ordered))
        return [_attribution(index, row) for row in rows]


Row = tuple[str, str, float]  # a reason as (code, detail, weight), made a Reason at the end
Ranked = tuple[int, float, int, bool, tuple[Reason, ...], tuple[Reason, ...]]
Candidate = tuple[str, int, float, int, bool, tuple[Reason, ...], tuple[Reason, ...]]
PARALLEL_MIN = 4000  # campaigns: below this a second process costs more than it saves


@dataclasses.dataclass(slots=True)
class Job:
    """What scoring a slice of the campaigns needs (shared with forked workers, not pickled)."""

    campaigns: list[Campaign]
    incidents: dict[str, Incident]
    index: ActorIndex
    intel: IntelCache

    def rows(self, lo: int, hi: int) -> list[Candidate]:
        out: list[Candidate] = []
        for c in self.campaigns[lo:hi]:
            members = [self.incidents[i] for i in c.incident_ids if i in self.incidents]
            prof = profile_of(c, members, self.index)
            out.extend(rank_actors(c.id, prof, self.index, self.intel))
        return out


_JOB: list[Job] = []  # the job a forked worker inherits


def _rows_in_processes(job: Job, workers: int | None) -> list[Candidate] | None:
    n = len(job.campaigns)
    workers = min(workers or 1, os.cpu_count() or 1)
    if workers < 2 or n < PARALLEL_MIN or "fork" not in mp.get_all_start_methods():
        return None
    step = -(-n // workers)
    bounds = [(lo, min(n, lo + step)) for lo in range(0, n, step)]
    _JOB[:] = [job]
    try:
        with mp.get_context("fork").Pool(len(bounds)) as pool:
            parts = pool.map(_slice_rows, bounds)
    finally:
        _JOB.clear()
    return [row for part in parts for row in part]


def _slice_rows(bounds: tuple[int, int]) -> list[Candidate]:
    return _JOB[0].rows(*bounds)


def profile_of(
    campaign: Campaign, members: Sequence[Incident], index: ActorIndex
) -> CampaignProfile:
    values = _values_by_kind(members)
    cfg = load_config()
    techniques = set(campaign.techniques) | set(values.get(Kind.TECHNIQUE, ()))
    software = {index.canon(v): v for v in values.get(SOFTWARE, ())}
    times = [t for i in members for t in (i.first_seen, i.last_seen) if t]
    years = (min(times).year, max(times).year) if times else None
    return CampaignProfile(
        techniques=techniques,
        software=software,
        indicators=_indicators_of(values),
        sectors={v.lower() for v in values.get(Kind.SECTOR, ())},
        countries={v.lower() for v in values.get(Kind.COUNTRY, ())},
        cves={v.upper() for v in values.get(Kind.CVE, ())},
        lures={v.lower() for v in values.get(Kind.LURE_THEME, ())},
        texts={v.lower() for k in LURE_TEXT_KINDS for v in values.get(k, ())},
        years=years,
        impact=techniques & cfg.commodity_techniques,
    )


SOFTWARE = None  # the key of malware and tools together, in observation order (last name wins)


def _values_by_kind(members: Sequence[Incident]) -> dict[Kind | None, list[str]]:
    """The campaign's observed values by kind, in one pass over its observations."""
    values: dict[Kind | None, list[str]] = {}
    for i in members:
        for o in i.observations:
            kind: Kind | None = SOFTWARE if o.kind in (Kind.MALWARE, Kind.TOOL) else o.kind
            found = values.get(kind)
            if found is None:
                values[kind] = [o.value]
            else:
                found.append(o.value)
    return values


def _indicators_of(values: Mapping[Kind | None, list[str]]) -> set[str]:
    """indicator_values over observations grouped by kind."""
    found: set[str] = set()
    for kind, seen in values.items():
        if kind is None or kind not in INDICATOR_KINDS or kind is Kind.COMMAND_LINE:
            continue
        found.update(seen)
        for value in seen:
            host = _host_of(kind, value)
            if host:
                found.update({host, registered_domain(host)})
    return found


def profile_of_features(techniques: set[str], software: dict[str, str]) -> CampaignProfile:
    """A profile of techniques and software alone (benchmarks and diagnostics)."""
    cfg = load_config()
    return CampaignProfile(
        techniques=techniques,
        software=software,
        indicators=set(),
        sectors=set(),
        countries=set(),
        cves=set(),
        lures=set(),
        texts=set(),
        years=None,
        impact=techniques & cfg.commodity_techniques,
    )


def indicator_values(obs: Iterable[Any]) -> set[str]:
    """Indicator values to look up in intel, with the registered domain of every host."""
    values: set[str] = set()
    for o in obs:
        if o.kind not in INDICATOR_KINDS or o.kind is Kind.COMMAND_LINE:
            continue
        values.add(o.value)
        host = _host_of(o.kind, o.value)
        if host:
            values.update({host, registered_domain(host)})
    return values


def _host_of(kind: Kind, value: str) -> str | None:
    if kind in (Kind.DOMAIN, Kind.HOSTNAME):
        return value
    if kind is Kind.EMAIL and "@" in value:
        return value.rsplit("@", 1)[1]
    if kind is Kind.URL:
        return canonical_url(value)[1] or None
    return None


class IntelCache:
    """kb.ioc look-ups, once per value in a run."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.cache: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, value: str) -> list[dict[str, Any]]:
        if value not in self.cache:
            self.cache[value] = list(self.kb.ioc(value) or [])
        return self.cache[value]


@dataclasses.dataclass(slots=True)
class Hypothesis:
    """One actor's score: log-odds, the evidence for it (Diamond codes) and against it (ACH)."""

    actor: int
    score: float = 0.0
    support: float = 0.0
    evidence: list[Row] = dataclasses.field(default_factory=list)
    against: list[Row] = dataclasses.field(default_factory=list)

    def add(self, code: str, detail: str, weight: float, support: float | None = None) -> None:
        """Count a piece of evidence; ``support`` is what it says beyond the background (for the
        strength of the case), by default its weight when positive."""
        self.score += weight
        if weight >= 0:
            self.support += weight if support is None else max(0.0, support)
            self.evidence.append((code, detail, round(weight, 3)))
        else:
            self.against.append((code, detail, round(weight, 3)))


def rank_actors(
    campaign_id: str, prof: CampaignProfile, index: ActorIndex, intel: IntelCache
) -> list[Candidate]:
    """Score every actor, then describe the best few: evidence for, evidence against, confidence.
    Campaigns that show the same scored facts share one ranking (``ranking_key``)."""
    prof.known = known_techniques(prof, index)
    prof.hits = intel_hits(prof, index, intel)
    prof.lure_hits = lure_phrases_in(prof.texts, index)
    prof.infra = [
        (v, index.infrastructure[v]) for v in sorted(prof.indicators) if v in index.infrastructure
    ]
    prof.victim_key = (frozenset(prof.sectors), frozenset(prof.countries))
    prof.time_key = (prof.years, frozenset(prof.impact), len(prof.known))
    key = ranking_key(prof)

    def rank() -> list[Any]:
        return [_ranked_row(index, *row) for row in rank_profile(prof, index)]

    ranked = rank() if key is None else index.remember(("ranking", key), rank)
    return [(campaign_id, *row) for row in ranked]


def capability_key(prof: CampaignProfile) -> tuple[frozenset[str], frozenset[str]]:
    """The techniques and software (canonical keys) a campaign's capability scores depend on."""
    if not prof.capability:
        prof.capability = (prof.known, frozenset(prof.software))
    return prof.capability


def ranking_key(prof: CampaignProfile) -> tuple[Any, ...] | None:
    """Everything of the profile that scoring reads, as a hashable key (set by rank_actors);
    None when intel hits the campaign (rare, and its records are not worth keying)."""
    if prof.hits:
        return None
    return (
        prof.known,
        tuple(sorted(prof.software.items())),
        tuple(v for v, _ in prof.infra),
        frozenset(prof.cves),
        prof.lure_hits,
        prof.victim_key,
        prof.time_key,
    )


def lure_phrases_in(texts: Iterable[str], index: ActorIndex) -> frozenset[str]:
    """The actors' lure phrases found in the campaign's texts (all that lure scoring reads). The
    texts are searched joined by NUL, which no phrase holds, so a phrase matches only inside one."""
    texts = tuple(texts)
    joined = "\0".join(texts)
    if not joined:
        return frozenset()
    return frozenset(
        p for p in index.lure_phrases if (p in joined if "\0" not in p else lure_in(p, texts))
    )


def rank_profile(
    prof: CampaignProfile, index: ActorIndex
) -> list[tuple[int, float, int, bool, list[Row], list[Row]]]:
    """The ranked candidates of one profile (``prof.known`` and ``prof.hits`` set)."""
    m = index.settings["model"]
    key = capability_key(prof)

    def capability() -> tuple[Any, ...]:
        sims = similarities(prof, index)
        return (*capability_scores(prof, index), sims, nearest(sims, index))

    base, raw, sims, near = index.remember(("capability", key), capability)
    bonuses = intel_scores(prof, index)
    if not raw and not bonuses:
        return []
    listed = _shortlist_of(raw, bonuses, near, key, index)
    hyps = [explain(a, prof, index, base) for a in listed]
    hyps.sort(key=lambda h: (-h.score, index.actors[h.actor].name))
    logits = {h.actor: h.score / m["temperature"] for h in hyps}
    rest = (index.size - len(hyps)) * math.exp(base / m["temperature"])
    norm = _logsumexp(list(logits.values()), extra=rest)
    out = []
    for rank, h in enumerate(fused_order(hyps, sims, index, m["top"]), 1):
        strength = 1.0 - math.exp(-h.support / m["support_scale"])
        breadth = min(1.0, exclusive_facts(h, prof, index) / m["min_facts"])
        if breadth < 1.0 and h.support > 0:
            h.against.append(_narrow(breadth))
        strength *= breadth
        conf = round(min(1.0, math.exp(logits[h.actor] - norm) * strength), 3)
        attributed = conf >= m["threshold"] and rank == 1
        out.append((h.actor, conf, rank, attributed, h.evidence, h.against))
    return out


# evidence rows that are one exclusive fact each: the case's own indicators and lures
FACT_CODES = ("intel-ioc", "infrastructure:known", "adversary:lure-theme")


def exclusive_facts(h: Hypothesis, prof: CampaignProfile, index: ActorIndex) -> float:
    """What the evidence for the actor is worth in exclusive facts: each exact match of a
    specific technique (not generic, impact or the marks of any phishing mail), of its software
    that is not a commodity family and of its exploited CVEs counts 1 / the number of actors
    known for it; intel indicators, known infrastructure and lure themes count 1. Below
    ``min_facts`` the case is weaker in proportion, however large the log-odds: two techniques
    that 14 and 35 groups report are worth 0.1 of one only the actor is known for."""
    unnamed, mine = _unnamed_techniques(), index.techniques[h.actor]
    facts = sum(1 / len(index.tech_delta[t]) for t in prof.known if t in mine and t not in unnamed)
    tools = index.software[h.actor]
    facts += sum(
        1 / max(1, len(index.soft_users.get(key, ())))
        for key, seen_as in sorted_software(prof)
        if key in tools and not is_commodity_software(key, seen_as)
    )
    for cve in prof.cves & set(index.actors[h.actor].cves) if prof.cves else ():
        facts += 1 / len(_cve_users(index, cve))
    facts += sum(1 for code, _, _ in h.evidence if code.endswith(FACT_CODES))
    return facts


def _narrow(breadth: float) -> Row:
    """The ACH row saying why the confidence is lower than the log-odds alone would make it."""
    return (
        "adversary:narrow-evidence",
        f"what points at this actor alone is worth {breadth:.2f} of one fact only it is known "
        f"for: the confidence is scaled to {breadth:.0%}",
        0.0,
    )


def _cve_users(index: ActorIndex, cve: str) -> list[int]:
    return index.remember(
        ("cve-users", cve), lambda: [a for a, actor in enumerate(index.actors) if cve in actor.cves]
    )


def similarities(prof: CampaignProfile, index: ActorIndex) -> dict[int, float]:
    """IDF-weighted similarity of the campaign's specific techniques and software to each actor's
    profile (the ranking below rank 1)."""
    sim = index.similarity
    return sim.scores(sim.query(prof.known, prof.software))


def nearest(sims: Mapping[int, float], index: ActorIndex) -> list[int]:
    """The actors with the most similar profiles (ties by name: actors are in name order)."""
    n = index.settings["similarity"]["shortlist"]
    return [a for _, a in heapq.nsmallest(n, [(-v, a) for a, v in sims.items()])]


def _shortlist_of(
    raw: Mapping[int, float],
    bonuses: Mapping[int, float],
    near: Sequence[int],
    key: tuple[Any, ...],
    index: ActorIndex,
) -> list[int]:
    """The shortlist with the intel, infrastructure and lure bonuses; without any, it is the
    same for every campaign of one technique and software profile (``key``), so it is kept."""
    if bonuses:
        scores = dict(raw)
        for actor, bonus in bonuses.items():
            scores[actor] = scores.get(actor, 0.0) + bonus
        return shortlist(scores, near, index)
    return index.remember(("shortlist", key), lambda: shortlist(raw, near, index))


def shortlist(raw: Mapping[int, float], near: Sequence[int], index: ActorIndex) -> list[int]:
    """The actors explained in full: the best by log-odds and the most similar profiles."""
    m = index.settings["model"]
    best = heapq.nsmallest(m["shortlist"], [(-v, a) for a, v in raw.items()])
    return sorted({a for _, a in best} | set(near))


def fused_order(
    hyps: list[Hypothesis], sims: Mapping[int, float], index: ActorIndex, top: int | None = None
) -> list[Hypothesis]:
    """Rank 1 is the best log-odds hypothesis (what the confidence is about); the others follow
    by reciprocal-rank fusion of their log-odds rank and their profile-similarity rank, so an
    actor whose whole profile resembles the campaign is listed even when no single rare match
    lifts it. ``hyps`` is in log-odds order; hypotheses with no specific evidence and no
    similarity are not listed."""
    k = index.settings["similarity"]["rrf_k"]
    listed = [h for h in hyps if h.support > 0 or sims.get(h.actor, 0.0) > 0]
    if not listed:
        return []
    by_sim = sorted(listed, key=lambda h: (-sims.get(h.actor, 0.0), index.actors[h.actor].name))
    sim_rank = {h.actor: r for r, h in enumerate(by_sim)}
    fused = {
        h.actor: 1 / (k + r + 1) + 1 / (k + sim_rank[h.actor] + 1) for r, h in enumerate(listed)
    }
    rest = sorted(listed[1:], key=lambda h: (-fused[h.actor], index.actors[h.actor].name))
    ordered = [listed[0], *rest][:top]
    for h in ordered:  # the similarity reason only for the candidates shown
        s = sims.get(h.actor, 0.0)
        if s > 0:
            h.evidence.append(
                (
                    "capability:profile-similarity",
                    f"{s:.2f} IDF-weighted similarity of its technique and software profile "
                    f"to the campaign's (rank {sim_rank[h.actor] + 1} of {len(listed)} by it)",
                    0.0,
                )
            )
    return ordered


def fast_stable_id(kind: str, *parts: str) -> str:
    """model.stable_id without the uuid module's overhead (the same uuid5, tested): attribution
    makes five per campaign, and at 100 k incidents the UUID objects alone cost seconds."""
    name = kind + chr(0x1E) + "\x1f".join(parts)
    digest = bytearray(hashlib.sha1(NAMESPACE.bytes + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{kind}--{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _logsumexp(values: list[float], extra: float = 0.0) -> float:
    top = max(values)
    total = sum(math.exp(v - top) for v in values) + extra * math.exp(-top)
    return top + math.log(total)


def _ranked_row(
    index: ActorIndex,
    a: int,
    conf: float,
    rank: int,
    attributed: bool,
    evidence: list[Row],
    against: list[Row],
) -> Ranked:
    """A candidate with its reasons made (once per distinct ranking), strongest first."""
    return (
        a,
        conf,
        rank,
        attributed,
        tuple(_reason(index, r) for r in sorted(evidence, key=lambda r: (-r[2], r[0], r[1]))),
        tuple(_reason(index, r) for r in sorted(against, key=lambda r: (r[2], r[0], r[1]))),
    )


def _reason(index: ActorIndex, row: Row) -> Reason:
    """One Reason object per distinct (code, detail, weight): reasons are frozen, and most recur
    across the campaigns (shared objects also keep 100 k incidents' attributions small)."""
    code, detail, weight = row
    return index.remember(("reason", row), lambda: Reason(code=code, detail=detail, weight=weight))


def _attribution(index: ActorIndex, row: Candidate) -> Attribution:
    campaign_id, a, conf, rank, attributed, evidence, against = row
    actor = index.actors[a]
    return Attribution(
        id=fast_stable_id("attribution", campaign_id, actor.name),
        campaign_id=campaign_id,
        actor=actor.name,
        attack_id=actor.attack_id,
        confidence=conf,
        rank=rank,
        attributed=attributed,
        evidence=evidence,
        against=against,
    )


def tech_cost(m: Mapping[str, float]) -> float:
    """Log-odds lost for a campaign technique outside the actor's profile."""
    return m["technique_weight"] * math.log(m["technique_noise"])


def soft_cost(m: Mapping[str, float]) -> float:
    return m["software_weight"] * math.log(m["software_noise"])


def known_techniques(prof: CampaignProfile, index: ActorIndex) -> frozenset[str]:
    """Techniques some actor (or some actor's sub-technique family) is known for: only these weigh."""
    if prof.known:
        return prof.known
    generic = load_config().generic_techniques  # declared uninformative: they name nobody
    return frozenset(
        t
        for t in prof.techniques
        if t not in generic
        and (t in index.tech_delta or parent(t) in index.parent_delta or t in index.tooling_delta)
    )


def capability_scores(prof: CampaignProfile, index: ActorIndex) -> tuple[float, dict[int, float]]:
    """The technique and software log-odds of every actor sharing something with the campaign,
    and the score of an actor sharing nothing (``base``)."""
    m = index.settings["model"]
    techs = known_techniques(prof, index)
    softs = [s for s in prof.software if s in index.soft_delta]
    base = len(techs) * tech_cost(m) + len(softs) * soft_cost(m)
    raw: dict[int, float] = defaultdict(float)
    for t in techs:
        for table in (index.tech_delta.get(t, {}), index.second_tier(t)):
            for a, gain in table.items():
                raw[a] += gain
    for s in softs:
        for a, gain in index.soft_delta[s].items():
            raw[a] += gain
    return base, {a: base + v for a, v in raw.items()}


def intel_hits(
    prof: CampaignProfile, index: ActorIndex, intel: IntelCache
) -> list[tuple[int, str, Mapping[str, Any]]]:
    """(actor, value, intel record) for each campaign indicator that intel attributes to a known actor."""
    found: list[tuple[int, str, Mapping[str, Any]]] = []
    for value in sorted(prof.indicators):
        for hit in intel(value):
            a = index.who(str(hit.get("actor", "")))
            if a is not None:
                found.append((a, value, hit))
    return found


def intel_scores(prof: CampaignProfile, index: ActorIndex) -> dict[int, float]:
    """Actors that intel or profiles tie to the campaign's indicators (they join the shortlist)."""
    b = index.settings["bonus"]
    out: dict[int, float] = defaultdict(float)
    for a, _, hit in prof.hits:
        out[a] = min(b["ioc_cap"], out[a] + b["ioc"] * _confidence(hit))
    for _, actors in prof.infra:
        for a in actors:
            out[a] += b["infrastructure"]
    if prof.lure_hits:
        for phrase, actors in index.lure_phrases.items():
            if phrase in prof.lure_hits:
                for a in actors:
                    out[a] += b["lure_theme"]
    return out


def _confidence(hit: Mapping[str, Any]) -> float:
    c = hit.get("confidence")
    if c is None:
        return 1.0
    c = float(c)
    return max(0.0, min(1.0, c / 100 if c > 1 else c))


def explain(a: int, prof: CampaignProfile, index: ActorIndex, base: float) -> Hypothesis:
    """The full score of one actor, each part as a reason: the ACH row of this hypothesis."""

    def capability_part() -> Hypothesis:
        part = Hypothesis(actor=a, score=base)
        _replay(part, _recorded(index, ("techniques", a, prof.known), _capability, a, prof))
        software = ("software", a, tuple(sorted_software(prof)))
        _replay(part, _recorded(index, software, _software, a, prof))
        return part

    # keyed on the software as the campaign names it: the reasons quote that name (Sogu, PlugX)
    part = index.remember(("explained", a, prof.known, *sorted_software(prof)), capability_part)
    h = Hypothesis(
        actor=a,
        score=part.score,
        support=part.support,
        evidence=list(part.evidence),
        against=list(part.against),
    )
    _intel(h, prof, index)
    _replay(h, _recorded(index, ("victims", a, prof.victim_key), _victims, a, prof))
    _replay(h, _recorded(index, ("time", a, prof.time_key), _time_and_motive, a, prof))
    return h


AddArgs = tuple[str, str, float, float | None]  # the arguments of one Hypothesis.add


def _recorded(
    index: ActorIndex,
    key: tuple[Any, ...],
    rows_of: Callable[[Hypothesis, CampaignProfile, ActorIndex], None],
    a: int,
    prof: CampaignProfile,
) -> Recorder:
    """The reasons ``rows_of`` gives actor ``a``, recorded once per key (``key`` must hold all
    of the profile that ``rows_of`` reads)."""

    def record() -> Recorder:
        found = Recorder(actor=a)
        rows_of(found, prof, index)
        return found

    return index.remember(key, record)


def _replay(h: Hypothesis, recorded: Recorder) -> None:
    """Add recorded reasons in the order they were made, so every score is the same sum of the
    same numbers; rows put straight into ``against`` (weight shown, not scored) follow (their
    order does not matter: reasons are sorted when the attribution is made)."""
    for args in recorded.calls:
        h.add(*args)
    h.against.extend(recorded.against)


@dataclasses.dataclass(slots=True)
class Recorder(Hypothesis):
    """A hypothesis that only records what is added to it."""

    calls: list[AddArgs] = dataclasses.field(default_factory=list)

    def add(self, code: str, detail: str, weight: float, support: float | None = None) -> None:
        self.calls.append((code, detail, weight, support))


def _capability(h: Hypothesis, prof: CampaignProfile, index: ActorIndex) -> None:
    """Techniques in the actor's profile, in its families or software, and never reported for it."""
    m, a = index.settings["model"], h.actor
    mine = index.techniques[a]
    noise = tech_cost(m)
    seen: dict[str, float] = {}
    near: dict[str, float] = {}
    beyond = {"seen": 0.0, "near": 0.0}  # support: summed in the order of the techniques
    unseen: list[str] = []
    specific: list[str] = []
    for t, spec, is_specific in technique_terms(prof, index):  # most specific first
        gain = index.tech_delta[t][a] if t in mine else None
        part = "seen" if gain is not None else "near"
        if gain is None:
            gain = index.second_tier(t).get(a)
        if gain is None:
            unseen.append(t)
            if is_specific:
                specific.append(t)
            continue
        (seen if part == "seen" else near)[t] = gain
        if spec is not None:
            beyond[part] += max(0.0, gain + noise) * spec
    total = len(prof.known)
    for code, found, label, support in (
        (
            "capability:techniques",
            seen,
            f"of {total} techniques in its profile, most specific",
            beyond["seen"],
        ),
        (
            "capability:technique-family",
            near,
            "techniques of families or software it uses",
            beyond["near"],
        ),
    ):
        if found:
            detail = f"{len(found)} {label}: {', '.join(list(found)[:8])}"
            h.add(code, detail, sum(found.values()), support=support)
    if specific:
        h.against.append(
            (
                "capability:techniques-unseen",
                f"{len(unseen)} techniques never reported for it, "
                f"most specific: {', '.join(specific[:8])}",
                round(len(unseen) * noise, 3),
            )
        )


@functools.cache
def _unnamed_techniques() -> frozenset[str]:
    cfg = load_config()
    return frozenset(cfg.generic_techniques | cfg.commodity_techniques | cfg.phishing_techniques)


def technique_terms(
    prof: CampaignProfile, index: ActorIndex
) -> list[tuple[str, float | None, bool]]:
    """The campaign's known techniques, most specific first, each with the specificity its match
    adds to the support (None for impact and generic techniques: they say what kind of actor,
    not which one, so they rank but cannot name an actor; docs/attribution.md) and whether it is
    specific enough to list when the actor never used it. Once per technique profile."""

    def terms() -> list[tuple[str, float | None, bool]]:
        unnamed = _unnamed_techniques()
        return [
            (t, None if t in unnamed else index.specificity(t), index.idf(t) >= 1.0)
            for t in ranked_techniques(prof, index)
        ]

    return index.remember(("terms", prof.known), terms)


def ranked_techniques(prof: CampaignProfile, index: ActorIndex) -> list[str]:
    if not prof.ranked:
        prof.ranked = sorted(prof.known, key=lambda t: (-index.idf(t), t))
    return prof.ranked


def _software(h: Hypothesis, prof: CampaignProfile, index: ActorIndex) -> None:
    m, p = index.settings["model"], index.settings["penalty"]
    mine = index.software[h.actor]
    for key, seen_as in sorted_software(prof):
        users = index.soft_users.get(key, [])
        if key in mine:
            gain = index.soft_delta[key][h.actor]
            commodity = is_commodity_software(key, seen_as)
            h.add(
                "capability:software",
                f"{seen_as} (used by {len(users)} known actor(s)"
                + (
                    "; a commodity or ransomware-as-a-service family: names no crew)"
                    if commodity
                    else ")"
                ),
                gain,
                support=0.0 if commodity else (gain + soft_cost(m)) * index.soft_specificity(key),
            )
        elif users:
            others = _first_users(index, key)
            cost = soft_cost(m)
            detail = f"{seen_as} is reported for {others}, never for {index.actors[h.actor].name}"
            h.against.append(("capability:software-elsewhere", detail, round(cost, 3)))
            if len(users) <= 2:
                h.add("capability:exclusive-software-elsewhere", detail, -p["exclusive_software"])


def sorted_software(prof: CampaignProfile) -> list[tuple[str, str]]:
    if len(prof.software_sorted) != len(prof.software):
        prof.software_sorted = sorted(prof.software.items())
    return prof.software_sorted


def _first_users(index: ActorIndex, key: str) -> str:
    """The first three actors (by name) reported to use a piece of software, once per key."""
    users = index.soft_users.get(key, [])
    return index.remember(
        ("users", key), lambda: ", ".join(sorted(index.actors[u].name for u in users)[:3])
    )


def is_commodity_software(key: str, seen_as: str) -> bool:
    """A family sold or shared among many crews (ransomware-as-a-service, commodity loaders and
    botnets, ``weights.toml [commodity]``): the knowledge base ties it to few actors, but in the
    field it names the brand, not who ran the intrusion."""
    families = load_config().commodity_software
    return key in families or seen_as.strip().lower() in families


def _intel(h: Hypothesis, prof: CampaignProfile, index: ActorIndex) -> None:
    b = index.settings["bonus"]
    actor = index.actors[h.actor]
    total = 0.0
    for who, value, hit in prof.hits:
        if who != h.actor:
            continue
        gain = min(b["ioc"] * _confidence(hit), b["ioc_cap"] - total)
        if gain > 0:
            total += gain
            vertex = "adversary" if value.count(".") == 0 and ":" not in value else "infrastructure"
            h.add(
                f"{vertex}:intel-ioc",
                f"{value} attributed to {hit.get('actor')} by {hit.get('source', 'intel')}",
                gain,
            )
    for value, actors in prof.infra:  # sorted
        if h.actor in actors:
            h.add(
                "infrastructure:known",
                f"{value} is listed in its infrastructure",
                b["infrastructure"],
            )
    cves = prof.cves & set(actor.cves) if prof.cves else set()
    gain = min(b["cve_cap"], b["cve"] * len(cves))
    if cves:
        h.add("capability:cve", f"exploits {', '.join(sorted(cves))}, as it is known to", gain)
    if not prof.lure_hits:
        return
    lures = sorted(
        {theme for theme in actor.lure_themes if any(p in prof.lure_hits for p in phrases(theme))}
    )
    if lures:
        h.add(
            "adversary:lure-theme",
            f"lure themes it uses: {'; '.join(lures)}",
            min(b["lure_cap"], b["lure_theme"] * len(lures)),
        )


def lure_in(phrase: str, texts: Iterable[str]) -> bool:
    return any(phrase in t for t in texts)


def _same(a: str, b: str) -> bool:
    """Loose equality of labels from different sources: 'think-tanks' ~ 'Think tank', 'japan' ~ 'JP'."""
    a, b = _label(a), _label(b)
    return a == b or (len(a) >= 4 and len(b) >= 4 and (a in b or b in a))


@functools.lru_cache(maxsize=1 << 14)
def _label(value: str) -> str:
    words = value.lower().replace("-", " ").replace("_", " ").split()
    text = " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)
    countries: Mapping[str, str] = load_settings().get("countries", {})
    return countries.get(text, countries.get(" ".join(words), text))


def _victims(h: Hypothesis, prof: CampaignProfile, index: ActorIndex) -> None:
    b, p = index.settings["bonus"], index.settings["penalty"]
    actor = index.actors[h.actor]
    for field, seen, known in (
        ("sector", prof.sectors, actor.sectors),
        ("country", prof.countries, actor.target_countries),
    ):
        if not seen or not known:
            continue
        hits = sorted(s for s in seen if any(_same(s, k) for k in known))
        if hits:
            h.add(f"victim:{field}", f"targets {', '.join(hits)}, as it is known to", b[field])
        else:
            h.add(
                f"victim:{field}-outside",
                f"victims in {', '.join(sorted(seen))}, outside its "
                f"known targeting ({', '.join(sorted(known)[:5])})",
                -p[field],
            )


def _time_and_motive(h: Hypothesis, prof: CampaignProfile, index: ActorIndex) -> None:
    b, p = index.settings["bonus"], index.settings["penalty"]
    actor = index.actors[h.actor]
    if prof.years and (actor.first_year or actor.last_year):
        lo, hi = (actor.first_year or 1900), (actor.last_year or 9999)
        if prof.years[1] < lo - 1 or prof.years[0] > hi + 2:
            h.add(
                "adversary:active-years-outside",
                f"activity {prof.years[0]}-{prof.years[1]} "
                f"outside its active years {lo}-{actor.last_year or 'now'}",
                -p["years"],
            )
        else:
            h.add(
                "adversary:active-years",
                f"activity {prof.years[0]}-{prof.years[1]} within its "
                f"active years {lo}-{actor.last_year or 'now'}",
                b["years"],
            )
    _motive(h, prof, index)


def _motive(h: Hypothesis, prof: CampaignProfile, index: ActorIndex) -> None:
    """Impact against the actor's kind (knowledge base: espionage, criminal or ransomware, from
    data): ransomware impact fits a criminal actor and not an espionage one that never used it;
    a campaign of many techniques and no impact at all fits a ransomware actor poorly."""
    b, p, kinds = index.settings["bonus"], index.settings["penalty"], index.settings["kinds"]
    actor = index.actors[h.actor]
    kind = actor.kind.lower()
    basis = actor.extra.get("kind_reason") if isinstance(actor.extra, Mapping) else None
    why = f" ({basis})" if basis else ""
    impact = prof.impact - index.techniques[h.actor]
    if impact and kind in kinds["espionage"]:
        h.add(
            "capability:impact-unlike-actor",
            f"ransomware/DDoS impact ({', '.join(sorted(impact))}) for an espionage actor{why}",
            -p["impact"],
        )
    elif prof.impact and kind in kinds["criminal"]:
        h.add(
            "adversary:impact-like-actor",
            f"ransomware/DDoS impact ({', '.join(sorted(prof.impact))}) fits a {kind} actor{why}",
            b["impact"],
            support=0.0,
        )
    elif (
        not prof.impact
        and kind in kinds["ransomware"]
        and len(prof.known) >= index.settings["model"]["no_impact_min_techniques"]
    ):
        h.add(
            "capability:no-impact-for-ransomware-actor",
            f"{len(prof.known)} techniques and no ransomware impact, for a ransomware actor{why}",
            -p["no_impact"],
        )


def ach_table(attributions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The competing-hypotheses table per campaign, from attribution records (or their dicts):
    each candidate in rank order with its confidence, the evidence for it by Diamond vertex, and
    the evidence against it."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in attributions:
        rows[str(a["campaign_id"])].append(
            {
                "rank": a["rank"],
                "actor": a["actor"],
                "attack_id": a.get("attack_id"),
                "confidence": a["confidence"],
                "attributed": a["attributed"],
                "for": _by_vertex(a.get("evidence", ())),
                "against": [f"{r['code']}: {r['detail']}" for r in a.get("against", ())],
            }
        )
    return [
        {"campaign_id": cid, "hypotheses": sorted(hyps, key=lambda h: h["rank"])}
        for cid, hyps in sorted(rows.items())
    ]


def _by_vertex(reasons: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in reasons:
        vertex, _, what = str(r["code"]).partition(":")
        out[vertex].append(f"{what}: {r['detail']}")
    return dict(out)
