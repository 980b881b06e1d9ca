"""The actors of the knowledge base as an inverted index for attribution: which actors use each
technique and each piece of software, how specific that is (IDF over all actors), and the log-odds
a match is worth under the profile-versus-background model of docs/attribution.md.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from aptlink.link.features import load_config
from aptlink.model import Actor, current_technique

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase

T = TypeVar("T")

PHRASE_SPLIT = re.compile(r"[()（）/;、,]")
Deltas = dict[str, dict[int, float]]  # feature -> actor position -> log-odds of a match


@functools.cache
def load_settings() -> dict[str, Any]:
    text = resources.files("aptlink.link").joinpath("attribution.toml").read_text("utf-8")
    return tomllib.loads(text)


def parent(tid: str) -> str:
    return tid.split(".", 1)[0]


def software_canon(kb: KnowledgeBase | None) -> Callable[[str], str]:
    """A function giving one key per piece of software, whatever alias or case names it."""

    @functools.cache
    def canon(name: str) -> str:
        key = name.strip().lower()
        info = kb.software(name) if kb is not None else None
        if info and info.get("name"):
            return str(info["name"]).strip().lower()
        return key

    return canon


@dataclasses.dataclass(slots=True)
class ActorIndex:
    """Actors with their technique and software sets and per-match log-odds, indexed by feature."""

    actors: list[Actor]
    techniques: list[frozenset[str]]
    parents: list[frozenset[str]]
    tooling: list[frozenset[str]]
    software: list[frozenset[str]]
    tech_delta: Deltas
    parent_delta: Deltas
    tooling_delta: Deltas
    soft_delta: Deltas
    tech_idf: dict[str, float]
    soft_users: dict[str, list[int]]
    names: dict[str, int]
    infrastructure: dict[str, list[int]]
    lure_phrases: dict[str, list[int]]
    canon: Callable[[str], str]
    settings: Mapping[str, Any]
    similarity: SimilarityIndex
    _second: dict[str, dict[int, float]] = dataclasses.field(default_factory=dict)
    # What attribution computes once per index and shares between campaigns: rankings of equal
    # profiles, capability scores and reasons, specificities, equal Reason objects. Keys are
    # tuples tagged with what they hold ("ranking", "capability", "specificity" ...).
    cache: dict[Any, Any] = dataclasses.field(default_factory=dict)

    def remember(self, key: Any, make: Callable[[], T]) -> T:
        """The value cached under ``key``, made (once) by ``make`` when it is not there yet."""
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = make()
        return cast(T, found)

    @property
    def size(self) -> int:
        return len(self.actors)

    def idf(self, tid: str) -> float:
        """Specificity of a technique: log((N+1)/(users+1)); unknown techniques count as rare."""
        return self.tech_idf.get(tid, math.log(self.size + 1))

    def specificity(self, tid: str) -> float:
        """How much a technique tells actors apart, 0..1: its IDF over the largest possible (a
        technique of one actor: 1; one every actor uses: 0). Scales the *support* of a match, so
        a common technique in a small profile ranks but cannot name an actor alone."""
        return self.remember(
            ("specificity", tid), lambda: min(1.0, self.idf(tid) / self._idf_of_one())
        )

    def soft_specificity(self, key: str) -> float:
        """The same for a piece of software, from the number of actors using it."""

        def make() -> float:
            users = len(self.soft_users.get(key, ()))
            return min(1.0, math.log((self.size + 1) / (users + 1)) / self._idf_of_one())

        return self.remember(("soft-specificity", key), make)

    def _idf_of_one(self) -> float:
        return math.log((self.size + 1) / 2) or 1.0

    def second_tier(self, tid: str) -> dict[int, float]:
        """Log-odds for actors without the technique itself but with its family or software that
        implements it (the better of the two), computed once per technique."""
        if tid not in self._second:
            exact = self.tech_delta.get(tid, {})
            best: dict[int, float] = {}
            for table in (self.parent_delta.get(parent(tid), {}), self.tooling_delta.get(tid, {})):
                for a, gain in table.items():
                    if a not in exact and gain > best.get(a, 0.0):
                        best[a] = gain
            self._second[tid] = best
        return self._second[tid]

    def who(self, name: str) -> int | None:
        return self.names.get(name.strip().lower())


def build_index(kb: KnowledgeBase | None, settings: Mapping[str, Any] | None = None) -> ActorIndex:
    cfg = settings or load_settings()
    actors = sorted(kb.actors() if kb is not None else [], key=lambda a: a.name.lower())
    canon = software_canon(kb)
    techs = [frozenset(a.techniques) for a in actors]
    parents = [frozenset(parent(t) for t in ts) for ts in techs]
    softs = [frozenset(canon(s) for s in a.software) for a in actors]
    tooling = [
        software_techniques(kb, a.software) - ts for a, ts in zip(actors, techs, strict=True)
    ]
    m = cfg["model"]
    return ActorIndex(
        actors=actors,
        techniques=techs,
        parents=parents,
        tooling=tooling,
        software=softs,
        tech_delta=_deltas(techs, m["technique_noise"], m["min_profile"], m["technique_weight"]),
        parent_delta=_deltas(
            parents,
            m["technique_noise"],
            m["min_profile"],
            m["technique_weight"],
            credit=m["parent_credit"],
        ),
        tooling_delta=_deltas(
            tooling,
            m["technique_noise"],
            m["min_profile"],
            m["technique_weight"],
            credit=m["tooling_credit"],
        ),
        soft_delta=_deltas(softs, m["software_noise"], m["min_software"], m["software_weight"]),
        tech_idf=_idf(techs),
        soft_users=_users(softs),
        names=_names(actors),
        infrastructure=_users([frozenset(v.lower() for v in a.infrastructure) for a in actors]),
        lure_phrases=_users(
            [frozenset(p for t in a.lure_themes for p in phrases(t)) for a in actors]
        ),
        canon=canon,
        settings=cfg,
        similarity=similarity_index(techs, tooling, softs, cfg["similarity"]),
    )


@dataclasses.dataclass(slots=True)
class SimilarityIndex:
    """IDF-weighted vectors of the actors' technique and software profiles: the ranking below
    rank 1 (docs/attribution.md). A technique's family (``p:T1566``) and the techniques an
    actor's software implements are partial features, so T1566.001 partly matches an actor known
    for T1566.002; software is keyed by its canonical name (aliases match)."""

    rows: dict[str, int]  # feature -> row of ``matrix``
    idf: dict[str, float]
    # numpy array, features x actors: each column the actor's vector over its norm ** alpha
    matrix: Any
    settings: Mapping[str, float]

    def query(self, techniques: Iterable[str], software: Iterable[str]) -> dict[str, float]:
        """The campaign's weighted features (those some actor has)."""
        return {
            k: w * self.idf[k]
            for k, w in _features(techniques, (), software, self.settings).items()
            if k in self.idf
        }

    def scores(self, query: Mapping[str, float]) -> dict[int, float]:
        """Similarity of each actor sharing a feature with the query: the dot product over the
        query's norm and the actor's norm to the power ``alpha`` (1: the cosine)."""
        if not query:
            return {}
        qn = math.sqrt(sum(v * v for v in query.values())) or 1.0
        keys = list(query)
        weights = np.fromiter((query[k] / qn for k in keys), dtype=np.float64, count=len(keys))
        dots = weights @ self.matrix[[self.rows[k] for k in keys]]
        return {int(a): float(dots[a]) for a in np.flatnonzero(dots > 0)}


def _features(
    techniques: Iterable[str],
    tooling: Iterable[str],
    software: Iterable[str],
    cfg: Mapping[str, float],
) -> dict[str, float]:
    generic = _generic()
    out: dict[str, float] = {}
    for t in techniques:
        if t in generic:
            continue
        out[f"t:{t}"] = 1.0
        fam = f"p:{parent(t)}"
        out[fam] = max(out.get(fam, 0.0), cfg["family"])
    for t in tooling:
        if t not in generic:
            out.setdefault(f"t:{t}", cfg["tooling"])
    for s in software:
        out[f"s:{s}"] = cfg["software"]
    return out


def _generic() -> frozenset[str]:
    return frozenset(load_config().generic_techniques)


def similarity_index(
    techs: Sequence[frozenset[str]],
    tooling: Sequence[frozenset[str]],
    softs: Sequence[frozenset[str]],
    cfg: Mapping[str, float],
) -> SimilarityIndex:
    docs = [_features(t, o, s, cfg) for t, o, s in zip(techs, tooling, softs, strict=True)]
    df: Counter[str] = Counter(k for d in docs for k in d)
    n = len(docs)
    idf = {k: math.log((n + 1) / (c + 1)) + 1.0 for k, c in df.items()}
    rows = {k: i for i, k in enumerate(sorted(idf))}
    matrix = np.zeros((len(rows), n), dtype=np.float64)
    for a, d in enumerate(docs):
        weighted = {k: w * idf[k] for k, w in d.items()}
        norm = math.sqrt(sum(v * v for v in weighted.values())) or 1.0
        for k, v in weighted.items():
            matrix[rows[k], a] = v / norm ** cfg["alpha"]
    return SimilarityIndex(rows=rows, idf=idf, matrix=matrix, settings=cfg)


def phrases(theme: str) -> list[str]:
    """The phrases of a lure theme worth looking for: 'Japan-U.S. alliance (日米同盟)' gives
    'japan-u.s. alliance' and '日米同盟'; short Latin words are too common to count."""
    out = []
    for part in PHRASE_SPLIT.split(theme.lower()):
        part = part.strip()
        latin = part.isascii()
        if (latin and len(part) >= 8) or (not latin and len(part) >= 3):
            out.append(part)
    return out


def software_techniques(kb: KnowledgeBase | None, names: Sequence[str]) -> frozenset[str]:
    """Techniques the actor's malware and tools implement (ATT&CK software entries)."""
    found: set[str] = set()
    for name in names:
        info = kb.software(name) if kb is not None else None
        for tid in (info or {}).get("techniques", ()) or ():
            found.add(current_technique(str(tid).upper()))  # an older release's id, renamed
    return frozenset(found)


def _users(sets: Sequence[frozenset[str]]) -> dict[str, list[int]]:
    users: dict[str, list[int]] = defaultdict(list)
    for i, values in enumerate(sets):
        for v in values:
            users[v].append(i)
    return dict(users)


def _idf(sets: Sequence[frozenset[str]]) -> dict[str, float]:
    counts: Counter[str] = Counter(v for s in sets for v in s)
    n = len(sets)
    return {v: math.log((n + 1) / (c + 1)) for v, c in counts.items()}


def _deltas(
    sets: Sequence[frozenset[str]],
    noise: float,
    min_profile: float,
    scale: float,
    credit: float = 1.0,
) -> Deltas:
    """Log-odds gained when a campaign feature is in an actor's profile, against its absence.

    P(f | actor) = (1 - noise) * [f in profile] / |profile| + noise * bg(f) and P(f | background)
    = bg(f), the share of all actor-feature uses that are f. A match is worth
    credit * (log(noise + (1 - noise) / (|profile| * bg(f))) - log(noise)): large for a rare feature
    in a small profile, near zero for a generic one. ``scale`` tempers the naive-Bayes sum
    (techniques of one intrusion are not independent draws).
    """
    counts: Counter[str] = Counter(v for s in sets for v in s)
    total = sum(counts.values()) or 1
    out: Deltas = defaultdict(dict)
    for i, values in enumerate(sets):
        size = max(len(values), min_profile)
        for v in sorted(values):
            bg = counts[v] / total
            gain = credit * (math.log(noise + (1 - noise) / (size * bg)) - math.log(noise))
            out[v][i] = scale * max(gain, 0.0)
    return dict(out)


def _names(actors: Sequence[Actor]) -> dict[str, int]:
    names: dict[str, int] = {}
    for i, a in enumerate(actors):
        for n in (a.name, *a.aliases, a.attack_id or ""):
            if n:
                names.setdefault(n.strip().lower(), i)
    return names
