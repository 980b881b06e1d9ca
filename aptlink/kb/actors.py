"""Threat-actor profiles: one actor per real group, merged from the curated pack
(``data/actors.yaml``), ATT&CK groups (with their attributed campaigns) and the MISP galaxy
threat-actor cluster (vendor names, country, references).

An alias claimed by two different actors is reported as a conflict and resolves to neither,
unless one source ranks above the other (the curated pack over ATT&CK over the MISP galaxy).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from aptlink.errors import KnowledgeError
from aptlink.kb.attack import AttackData, Row
from aptlink.model import TECHNIQUE_RE, Actor, ActorRelation

CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b")
# How much each source's word on an alias counts; equal ranks that disagree make a conflict.
ALIAS_RANK = {"name": 0, "curated": 1, "attack": 2, "misp-galaxy": 3}
LIST_FIELDS = (
    "aliases",
    "techniques",
    "software",
    "cves",
    "sectors",
    "target_countries",
    "lure_themes",
    "infrastructure",
)

# What kind of actor a profile is, when the curated pack does not say (docs/attribution.md):
# an actor described as espionage / state work stays "apt" (even when it also used ransomware);
# otherwise one that used ransomware (ATT&CK software implementing T1486 whose description says
# ransomware) or is described by it is "ransomware", and one described as financially motivated
# "criminal". MISP galaxy meta (cfr-type-of-incident, motive, description) applies the same words.
KIND_RULES: dict[str, Any] = {
    "espionage_words": (
        "espionage",
        "state-sponsored",
        "state sponsored",
        "nation-state",
        "intelligence",
    ),
    "ransomware_words": ("ransomware", "extortion"),
    "criminal_words": (
        "financially motivated",
        "financially-motivated",
        "cybercrim",
        "financial theft",
        "business email compromise",
        "fraud",
    ),
    "ransomware_technique": "T1486",
}


@dataclasses.dataclass(slots=True)
class Profile:
    """An actor while it is being merged (mutable); ``freeze()`` gives the model.Actor."""

    name: str
    attack_id: str | None = None
    kind: str = "apt"
    country: str | None = None
    description: str = ""
    lists: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    alias_origin: dict[str, str] = dataclasses.field(default_factory=dict)
    relations: list[ActorRelation] = dataclasses.field(default_factory=list)
    sources: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    first_year: int | None = None
    last_year: int | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add(self, field: str, values: Iterable[str]) -> None:
        have = {v.lower() for v in self.lists[field]}
        for value in values:
            value = str(value).strip()
            if value and value.lower() not in have:
                self.lists[field].append(value)
                have.add(value.lower())

    def add_alias(self, alias: str, origin: str) -> None:
        self.add("aliases", [alias])
        key = alias.strip().lower()
        if ALIAS_RANK[origin] < ALIAS_RANK.get(self.alias_origin.get(key, "misp-galaxy"), 9):
            self.alias_origin[key] = origin
        self.alias_origin.setdefault(key, origin)

    def cite(self, field: str, urls: Iterable[str | None]) -> None:
        have = {u.rstrip("/") for u in self.sources[field]}
        for url in urls:
            if url and url.rstrip("/") not in have:
                self.sources[field].append(url)
                have.add(url.rstrip("/"))

    def freeze(self) -> Actor:
        return Actor(
            name=self.name,
            attack_id=self.attack_id,
            aliases=tuple(self.lists["aliases"]),
            country=self.country,
            description=self.description,
            kind=self.kind,
            techniques=tuple(t for t in self.lists["techniques"] if TECHNIQUE_RE.match(t)),
            software=tuple(self.lists["software"]),
            cves=tuple(self.lists["cves"]),
            sectors=tuple(self.lists["sectors"]),
            target_countries=tuple(self.lists["target_countries"]),
            lure_themes=tuple(self.lists["lure_themes"]),
            infrastructure=tuple(self.lists["infrastructure"]),
            first_year=self.first_year,
            last_year=self.last_year,
            relations=tuple(self.relations),
            sources={k: tuple(v) for k, v in self.sources.items() if v},
            extra=dict(self.extra),
        )


# ---------------------------------------------------------------- the curated pack


def pack_path() -> Path:
    return Path(str(resources.files("aptlink.kb") / "data" / "actors.yaml"))


def read_pack(path: Path | None = None) -> list[dict[str, Any]]:
    """The curated actor entries; a malformed pack raises KnowledgeError naming the place."""
    path = path or pack_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise KnowledgeError(f"cannot read actor pack: {exc}", str(path)) from exc
    return copy.deepcopy(_read_pack(path, stamp))


@lru_cache(maxsize=8)
def _read_pack(path: Path, stamp: int) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise KnowledgeError(f"actor pack is not valid YAML: {exc}", where) from exc
    except OSError as exc:
        raise KnowledgeError(f"cannot read actor pack: {exc}", str(path)) from exc
    entries = doc.get("actors") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise KnowledgeError("actor pack has no 'actors' list", str(path))
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise KnowledgeError("actor entry without a name", f"{path}#actors[{n}]")
    return entries


def profile_from_pack(entry: Mapping[str, Any]) -> Profile:
    p = Profile(
        name=str(entry["name"]),
        attack_id=entry.get("attack_id") or None,
        kind=str(entry.get("kind") or "apt"),
        country=entry.get("country") or None,
        description=str(entry.get("description") or "").strip(),
        first_year=entry.get("first_year"),
        last_year=entry.get("last_year"),
    )
    p.add_alias(p.name, "name")
    for alias in entry.get("aliases") or ():
        p.add_alias(str(alias), "curated")
    for field in LIST_FIELDS[1:]:
        p.add(field, [str(v) for v in entry.get(field) or ()])
    for rel in entry.get("relations") or ():
        p.relations.append(ActorRelation(**{k: str(v) for k, v in rel.items()}))
    for field, urls in (entry.get("sources") or {}).items():
        p.cite(str(field), [str(u) for u in urls or ()])
    p.extra["notes"] = list(entry.get("notes") or ())
    p.extra["attack_software"] = list(entry.get("attack_software") or ())
    p.extra["origins"] = ["curated"]
    if entry.get("kind"):
        p.extra["kind_basis"] = "curated pack"
        p.extra["kind_reason"] = "curated pack"
    return p


# ---------------------------------------------------------------- ATT&CK


def merge_attack(profiles: dict[str, Profile], attack: AttackData) -> None:
    """Add every ATT&CK group: into its curated profile when one names its id, else as a new one."""
    by_gid = {p.attack_id: p for p in profiles.values() if p.attack_id}
    for gid, group in attack.groups.items():
        p = by_gid.get(gid) or by_gid.get(_revoked_to(attack, gid))
        if p is None:
            p = Profile(name=group["name"], attack_id=gid)
            p.add_alias(p.name, "name")
            p.extra["origins"] = []
            profiles[p.name.lower()] = p
        _apply_group(p, group, attack)
    for p in profiles.values():
        _apply_software_techniques(p, attack)


def _revoked_to(attack: AttackData, gid: str) -> str:
    return attack.resolve(gid)


def _apply_group(p: Profile, group: Row, attack: AttackData) -> None:
    url = group.get("url")
    origin = (
        "misp-galaxy mitre-intrusion-set" if attack.source.startswith("misp-galaxy") else "attack"
    )
    p.extra["origins"] = [*p.extra.get("origins", []), origin]
    for alias in group.get("aliases") or ():
        p.add_alias(alias, "attack")
    p.description = p.description or _strip_citations(group.get("description", ""))
    users = [
        group,
        *(attack.campaigns[c] for c in group.get("campaigns", []) if c in attack.campaigns),
    ]
    for user in users:
        p.add("techniques", user["techniques"])
        p.add(
            "software",
            [attack.software[s]["name"] for s in user["software"] if s in attack.software],
        )
        p.cite("techniques", [user.get("url")])
        p.cite("software", [user.get("url")])
    cves = sorted(_cves_in(users))
    p.add("cves", cves)
    if cves:
        p.cite("cves", [url])
    p.cite("aliases", [url])
    p.extra["campaigns"] = [_campaign_summary(c) for c in users[1:]]
    ransomware = sorted(
        attack.software[s]["name"]
        for s in {s for u in users for s in u["software"]}
        if s in attack.software and _is_ransomware(attack.software[s])
    )
    _classify(p, _strip_citations(group.get("description", "")), ransomware, "ATT&CK")
    p.extra["procedures"] = {t: txt for u in users for t, txt in u["techniques"].items() if txt}


def _is_ransomware(software: Row) -> bool:
    """ATT&CK software that encrypts for impact and is described as ransomware (not a loader or
    a tool merely seen in ransomware intrusions, such as Rclone or QakBot)."""
    return KIND_RULES["ransomware_technique"] in software.get("techniques", ()) and (
        "ransomware" in str(software.get("description", "")).lower()
    )


def _classify(p: Profile, text: str, ransomware: list[str], source: str) -> None:
    """Set the actor's kind from what a source says, unless the curated pack or an espionage
    description has settled it (the rule is KIND_RULES, documented in docs/attribution.md)."""
    if p.extra.get("kind_basis") in ("curated pack", "espionage"):
        return
    text = text.lower()
    if any(w in text for w in KIND_RULES["espionage_words"]):
        p.kind, p.extra["kind_basis"] = "apt", "espionage"
        p.extra["kind_reason"] = f"{source} describes espionage or state work"
    elif ransomware or any(w in text for w in KIND_RULES["ransomware_words"]):
        p.kind, p.extra["kind_basis"] = "ransomware", "ransomware"
        used = f"uses ransomware {', '.join(ransomware[:4])}" if ransomware else "described as such"
        p.extra["kind_reason"] = f"{source}: {used}"
    elif any(w in text for w in KIND_RULES["criminal_words"]) and p.kind == "apt":
        p.kind, p.extra["kind_basis"] = "criminal", "criminal"
        p.extra["kind_reason"] = f"{source} describes financially motivated crime"


def _cves_in(users: Iterable[Row]) -> set[str]:
    found: set[str] = set()
    for user in users:
        texts = [
            user.get("description", ""),
            *user["techniques"].values(),
            *user["software"].values(),
        ]
        for text in texts:
            if text and "CVE-" in text:  # a substring test first: most texts name no CVE
                found.update(CVE_RE.findall(text))
    return found


def _campaign_summary(c: Row) -> dict[str, Any]:
    return {k: c.get(k) for k in ("id", "name", "first_seen", "last_seen", "url")}


def _apply_software_techniques(p: Profile, attack: AttackData) -> None:
    """A ransomware brand's techniques are those of its ATT&CK software entries."""
    for sid in p.extra.get("attack_software") or ():
        sw = attack.software.get(attack.resolve(sid))
        if sw:
            p.add("techniques", sw["techniques"])
            p.cite("techniques", [sw.get("url")])


def _strip_citations(text: str) -> str:
    text = re.sub(r"\(Citation:[^)]*\)", "", text)
    return re.sub(r"\[([^\]]+)\]\(https?://[^)]*\)", r"\1", text).strip()


# ---------------------------------------------------------------- MISP galaxy threat actors


def merge_misp(
    profiles: dict[str, Profile], entries: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Add MISP vendor names, country and references to the one actor an entry matches.

    An entry whose names match two different actors is not merged; it is returned as a conflict.
    """
    index = _alias_index(profiles.values())
    entries = list(entries)
    by_uuid = {str(e.get("uuid")): str(e["value"]) for e in entries}
    conflicts: list[dict[str, Any]] = []
    for entry in entries:
        names = _misp_names(entry)
        hits = {index[n.lower()] for n in names if n.lower() in index}
        if len(hits) > 1:
            conflicts.append(_misp_conflict(entry, names, hits, profiles))
        elif hits:
            p = profiles[hits.pop()]
            _apply_misp(p, entry, names)
            _misp_relations(p, entry, by_uuid, index, profiles)
    return conflicts


MISP_RELATIONS = {"similar", "overlaps", "linked-to", "part-of", "related-to", "associated-with"}
MISP_CLUSTER_URL = "https://github.com/MISP/misp-galaxy/blob/main/clusters/threat-actor.json"


def _misp_relations(
    p: Profile,
    entry: Mapping[str, Any],
    by_uuid: Mapping[str, str],
    index: Mapping[str, str],
    profiles: Mapping[str, Profile],
) -> None:
    """MISP's actor-to-actor links (``similar``, ``overlaps`` ...), with their likelihood tag."""
    for rel in entry.get("related") or ():
        target = by_uuid.get(str(rel.get("dest-uuid")))
        if rel.get("type") not in MISP_RELATIONS or not target:
            continue
        name = profiles[index[target.lower()]].name if target.lower() in index else target
        if name == p.name or any(r.target == name and r.kind == rel["type"] for r in p.relations):
            continue
        note = "; ".join(str(t) for t in rel.get("tags") or ())
        p.relations.append(
            ActorRelation(kind=str(rel["type"]), target=name, source=MISP_CLUSTER_URL, note=note)
        )


def _misp_names(entry: Mapping[str, Any]) -> list[str]:
    meta = entry.get("meta") or {}
    return [str(entry["value"]), *(str(s) for s in meta.get("synonyms") or ())]


def _alias_index(profiles: Iterable[Profile]) -> dict[str, str]:
    """alias -> profile key, only for names claimed by the curated pack or ATT&CK."""
    index: dict[str, str] = {}
    for p in profiles:
        for alias in p.lists["aliases"]:
            index.setdefault(alias.lower(), p.name.lower())
    return index


def _misp_conflict(
    entry: Mapping[str, Any], names: list[str], hits: set[str], profiles: Mapping[str, Profile]
) -> dict[str, Any]:
    return {
        "alias": entry["value"],
        "actors": sorted(profiles[h].name for h in hits),
        "source": "misp-galaxy threat-actor",
        "detail": f"MISP cluster {entry['value']!r} (synonyms {', '.join(names[1:])}) matches several actors; not merged",
    }


def _apply_misp(p: Profile, entry: Mapping[str, Any], names: list[str]) -> None:
    meta = entry.get("meta") or {}
    for name in names:
        p.add_alias(name, "misp-galaxy")
    p.country = p.country or meta.get("country") or None
    p.description = p.description or str(entry.get("description") or "")
    refs = [str(r) for r in meta.get("refs") or ()]
    p.cite("aliases", refs[:5])
    cves = sorted(set(CVE_RE.findall(str(entry.get("description") or ""))))
    if cves:
        p.add("cves", cves)
        p.cite("cves", refs[:3] or [MISP_CLUSTER_URL])
    p.extra["misp_refs"] = refs
    _classify(p, _misp_kind_text(entry), [], "MISP galaxy")
    vendors = {k.split(":", 1)[1]: str(v) for k, v in meta.items() if k.startswith("origin:")}
    if vendors:
        p.extra["alias_vendors"] = {**p.extra.get("alias_vendors", {}), **vendors}
    p.extra["origins"] = [*p.extra.get("origins", []), "misp-galaxy"]


def _misp_kind_text(entry: Mapping[str, Any]) -> str:
    """The words of a MISP threat-actor entry that say what kind of actor it is."""
    meta = entry.get("meta") or {}
    parts = [str(entry.get("description") or "")]
    for key in ("cfr-type-of-incident", "motive", "threat-actor-classification"):
        value = meta.get(key)
        parts.extend(str(v) for v in (value if isinstance(value, list) else [value]) if v)
    return " ".join(parts)


def misp_actor(entry: Mapping[str, Any]) -> Actor:
    """An actor known only to the MISP galaxy (no techniques, no curated facts)."""
    meta = entry.get("meta") or {}
    p = Profile(name=str(entry["value"]), country=meta.get("country") or None)
    p.add_alias(p.name, "name")
    _apply_misp(p, entry, _misp_names(entry))
    return p.freeze()


# ---------------------------------------------------------------- the alias index with conflicts


@dataclasses.dataclass(slots=True)
class ActorIndex:
    """Actors by any alias (case-insensitive), and the aliases more than one actor claims."""

    actors: list[Actor]
    by_alias: dict[str, Actor]
    conflicts: list[dict[str, Any]]

    def find(self, name: str) -> Actor | None:
        return self.by_alias.get(name.strip().lower())


def build_index(profiles: Iterable[Profile], misp_conflicts: list[dict[str, Any]]) -> ActorIndex:
    claims: dict[str, list[tuple[int, Profile]]] = defaultdict(list)
    profiles = list(profiles)
    for p in profiles:
        for alias in p.lists["aliases"]:
            rank = ALIAS_RANK[p.alias_origin.get(alias.lower(), "misp-galaxy")]
            claims[alias.lower()].append((rank, p))
    frozen = {id(p): p.freeze() for p in profiles}
    by_alias: dict[str, Actor] = {}
    conflicts = list(misp_conflicts)
    for alias, claimants in sorted(claims.items()):
        winner, conflict = _resolve_alias(alias, claimants)
        if winner is not None:
            by_alias[alias] = frozen[id(winner)]
        if conflict:
            conflicts.append(conflict)
    actors = sorted({a.id: a for a in frozen.values()}.values(), key=lambda a: a.name.lower())
    return ActorIndex(actors=actors, by_alias=by_alias, conflicts=conflicts)


def _resolve_alias(
    alias: str, claimants: list[tuple[int, Profile]]
) -> tuple[Profile | None, dict[str, Any] | None]:
    distinct = {p.name: (rank, p) for rank, p in sorted(claimants, key=lambda c: -c[0])}
    if len(distinct) == 1:
        return next(iter(distinct.values()))[1], None
    ranked = sorted(distinct.values(), key=lambda c: c[0])
    best = ranked[0][0]
    top = [p for rank, p in ranked if rank == best]
    conflict = {
        "alias": alias,
        "actors": sorted(p.name for _, p in ranked),
        "source": ", ".join(sorted({_origin_name(r) for r, _ in ranked})),
        "detail": "resolved to " + top[0].name if len(top) == 1 else "ambiguous: not resolved",
    }
    return (top[0] if len(top) == 1 else None), conflict


def _origin_name(rank: int) -> str:
    return next(k for k, v in ALIAS_RANK.items() if v == rank)


def load_actors(
    attack: AttackData | None,
    misp_entries: Iterable[Mapping[str, Any]] = (),
    pack: Path | None = None,
) -> ActorIndex:
    """The merged actor profiles and their alias index."""
    profiles = {p.name.lower(): p for p in map(profile_from_pack, read_pack(pack))}
    if attack is not None:
        merge_attack(profiles, attack)
    conflicts = merge_misp(profiles, misp_entries)
    return build_index(profiles.values(), conflicts)


def find_cve_actors(actors: Iterable[Actor], cve: str) -> list[Actor]:
    cve = cve.strip().upper()
    return [a for a in actors if cve in a.cves]


def check_pack(path: Path | None = None) -> list[str]:
    """Problems in the curated pack: facts without a source URL."""
    problems: list[str] = []
    for entry in read_pack(path):
        cited = set((entry.get("sources") or {}).keys())
        for field in LIST_FIELDS[1:]:
            if entry.get(field) and field not in cited:
                problems.append(f"{entry['name']}: {field} has no source")
    if not problems:
        return []
    raise KnowledgeError("; ".join(problems), str(path or pack_path()))
