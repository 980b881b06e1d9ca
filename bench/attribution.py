"""Attribution on ATT&CK, leave-one-campaign-out.

For each ATT&CK campaign with an attributed-to group: write a STIX 2.1 bundle of the campaign's
techniques and software, write the ATT&CK bundle without that campaign and its relationships, load a
knowledge base from it, run the bundle through aptlink (parse, detect, group, link, attribute) and
check the named actor. Prints top-1/top-5 for aptlink beside a TF-IDF cosine baseline over
techniques and software computed in the same run, calibration figures, and the verdict on a bundle
of generic techniques only (which must stay unattributed).

    .venv/bin/python bench/attribution.py [--attack PATH] [--limit N] [--fallback]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aptlink.model import Actor, Attribution  # noqa: E402

DEFAULT_ATTACK = REPO / ".." / "shared" / "data" / "attack" / "enterprise-attack.json"
GENERIC = ("T1059", "T1105", "T1082")
# A ransomware intrusion as CERTs report one: impact, recovery inhibition, service stop, exfiltration
# to cloud storage. It must not be named for an espionage actor.
RANSOMWARE = ("T1486", "T1490", "T1489", "T1567.002", "T1021.001")
Obj = dict[str, Any]


def ext_id(obj: Mapping[str, Any]) -> str | None:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") == "mitre-attack":
            return str(ref.get("external_id"))
    return None


def active(obj: Mapping[str, Any]) -> bool:
    return not obj.get("revoked") and not obj.get("x_mitre_deprecated")


def attributed_campaigns(objects: Sequence[Obj]) -> list[tuple[Obj, list[Obj]]]:
    """Each active campaign with the active groups it is attributed to."""
    by_id = {o["id"]: o for o in objects}
    groups: dict[str, list[Obj]] = defaultdict(list)
    for r in objects:
        if r["type"] == "relationship" and r.get("relationship_type") == "attributed-to":
            src, tgt = by_id.get(r["source_ref"]), by_id.get(r["target_ref"])
            if src and tgt and src["type"] == "campaign" and active(src) and active(tgt):
                groups[src["id"]].append(tgt)
    return sorted(((by_id[c], g) for c, g in groups.items()), key=lambda cg: ext_id(cg[0]) or "")


def campaign_uses(objects: Sequence[Obj], campaign: Obj) -> tuple[list[str], list[str]]:
    """(technique ids, software names) the campaign uses."""
    by_id = {o["id"]: o for o in objects}
    techs, soft = set(), set()
    for r in objects:
        if r["type"] != "relationship" or r.get("relationship_type") != "uses":
            continue
        if r["source_ref"] != campaign["id"]:
            continue
        tgt = by_id.get(r["target_ref"])
        if not tgt or not active(tgt):
            continue
        if tgt["type"] == "attack-pattern" and ext_id(tgt):
            techs.add(str(ext_id(tgt)))
        elif tgt["type"] in ("malware", "tool"):
            soft.add(tgt["name"])
    return sorted(techs), sorted(soft)


def without(objects: Sequence[Obj], campaign: Obj) -> list[Obj]:
    """The bundle without the campaign, its relationships, and the campaign's names among the
    groups' aliases (ATT&CK lists "HomeLand Justice" as an alias of VOID MANTICORE)."""
    cid = campaign["id"]
    names = {n.lower() for n in (campaign["name"], *campaign.get("aliases", ()))}
    return [
        _without_aliases(o, names)
        for o in objects
        if o["id"] != cid
        and not (o["type"] == "relationship" and cid in (o["source_ref"], o["target_ref"]))
    ]


def _without_aliases(obj: Obj, names: set[str]) -> Obj:
    aliases = obj.get("aliases")
    if obj["type"] != "intrusion-set" or not aliases:
        return obj
    return {**obj, "aliases": [a for a in aliases if a.lower() not in names]}


def incident_bundle(name: str, techs: Iterable[str], soft: Iterable[str]) -> Obj:
    """A STIX 2.1 bundle describing one incident: a grouping of attack patterns and software."""
    from aptlink.model import stable_id

    objs: list[Obj] = []
    for t in techs:
        objs.append(
            {
                "type": "attack-pattern",
                "spec_version": "2.1",
                "id": stable_id("attack-pattern", t).replace(
                    "attack-pattern--", "attack-pattern--"
                ),
                "name": t,
                "external_references": [{"source_name": "mitre-attack", "external_id": t}],
            }
        )
    for s in soft:
        objs.append(
            {
                "type": "malware",
                "spec_version": "2.1",
                "id": stable_id("malware", s),
                "name": s,
                "is_family": True,
            }
        )
    group = {
        "type": "grouping",
        "spec_version": "2.1",
        "id": stable_id("grouping", name),
        "name": name,
        "context": "suspicious-activity",
        "object_refs": [o["id"] for o in objs],
    }
    return {"type": "bundle", "id": stable_id("bundle", name), "objects": [group, *objs]}


# --- the knowledge base: the kb package's loader, or a reading of the bundle of our own ---------


class BundleKB:
    """A minimal stand-in for aptlink.kb.KnowledgeBase built from the bundle (groups with their
    attributed campaigns), used only when the kb loader is unavailable (--fallback)."""

    def __init__(self, objects: Sequence[Obj]) -> None:
        self._actors = actors_from_bundle(objects)

    def actors(self) -> list[Actor]:
        return list(self._actors)

    def software(self, name: str) -> dict[str, Any] | None:
        return None

    def ioc(self, value: str) -> list[dict[str, Any]]:
        return []

    def warninglisted(self, value: str) -> list[str]:
        return []


def actors_from_bundle(objects: Sequence[Obj]) -> list[Actor]:
    by_id = {o["id"]: o for o in objects}
    camp_group: dict[str, list[str]] = defaultdict(list)
    for r in objects:
        if r["type"] == "relationship" and r.get("relationship_type") == "attributed-to":
            camp_group[r["source_ref"]].append(r["target_ref"])
    techs: dict[str, set[str]] = defaultdict(set)
    soft: dict[str, set[str]] = defaultdict(set)
    for r in objects:
        if r["type"] != "relationship" or r.get("relationship_type") != "uses" or not active(r):
            continue
        owners = (
            [r["source_ref"]]
            if r["source_ref"].startswith("intrusion-set")
            else camp_group.get(r["source_ref"], [])
        )
        tgt = by_id.get(r["target_ref"])
        if not tgt or not active(tgt):
            continue
        for g in owners:
            if tgt["type"] == "attack-pattern" and ext_id(tgt):
                techs[g].add(str(ext_id(tgt)))
            elif tgt["type"] in ("malware", "tool"):
                soft[g].add(tgt["name"])
    out = []
    for o in objects:
        if o["type"] == "intrusion-set" and active(o):
            out.append(
                Actor(
                    name=o["name"],
                    attack_id=ext_id(o),
                    aliases=tuple(o.get("aliases", ())),
                    techniques=tuple(techs[o["id"]]),
                    software=tuple(sorted(soft[o["id"]])),
                )
            )
    return out


def load_kb(
    objects: Sequence[Obj],
    workdir: Path,
    fallback: bool,
    tag: str = "full",
    held_out: Held | None = None,
) -> Any:
    """A knowledge base from this ATT&CK bundle; with ``held_out``, nothing else it reads may know
    the held-out campaign: its own file and pickle cache (the cache is keyed on the path), the
    MISP galaxy threat-actor entries without any that names the campaign or is the attributed
    group, the curated pack without the group's entry, and no packaged IOC pack."""
    if fallback:
        return BundleKB(objects)
    from aptlink.kb import KnowledgeBase
    from aptlink.kb.actors import load_actors
    from aptlink.kb.attack import load_attack

    path = workdir / f"attack-{tag}.json"
    path.write_text(
        json.dumps({"type": "bundle", "id": f"bundle--{tag}", "objects": list(objects)})
    )
    cache = workdir / "cache" / tag
    attack = load_attack(path, cache)
    misp, pack = galaxy_actors(held_out), curated_pack(held_out, workdir, tag)
    kb = KnowledgeBase(attack=attack, actor_index=load_actors(attack, misp, pack=pack))
    kb.cache_dir = cache
    return kb


@dataclasses.dataclass(frozen=True)
class Held:
    """The campaign left out of a run: its ids and names, and those of its groups."""

    campaign_id: str
    stix_id: str
    names: frozenset[str]  # the campaign's name and aliases, lower case
    groups: frozenset[str]  # the attributed groups' names and aliases, lower case

    def named_in(self, text: str) -> bool:
        text = text.lower()
        return self.campaign_id.lower() in text or any(_word_in(n, text) for n in self.names)

    def is_group(self, names: Iterable[str]) -> bool:
        return any(n.strip().lower() in self.groups for n in names)


def _word_in(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def held(campaign: Obj, groups: Sequence[Obj]) -> Held:
    return Held(
        campaign_id=ext_id(campaign) or campaign["id"],
        stix_id=campaign["id"],
        names=frozenset(n.lower() for n in (campaign["name"], *campaign.get("aliases", ()))),
        groups=frozenset(names_of(groups)),
    )


def galaxy_actors(h: Held | None) -> list[Obj]:
    """The MISP galaxy threat actors, without those that name the campaign or are its group."""
    from aptlink.kb import galaxy

    entries = galaxy.values(galaxy.cluster("threat-actor"))
    if h is None:
        return entries
    return [e for e in entries if not _misp_knows(e, h)]


def _misp_knows(entry: Mapping[str, Any], h: Held) -> bool:
    meta = entry.get("meta") or {}
    names = [str(entry["value"]), *(str(s) for s in meta.get("synonyms") or ())]
    return h.is_group(names) or h.named_in(json.dumps(entry, ensure_ascii=False))


def curated_pack(h: Held | None, workdir: Path, tag: str) -> Path | None:
    """The curated pack without the entries of the campaign's group or naming the campaign."""
    if h is None:
        return None
    import yaml

    from aptlink.kb.actors import read_pack

    kept = [
        e
        for e in read_pack()
        if not h.is_group([e["name"], *(e.get("aliases") or ()), e.get("attack_id") or ""])
        and not h.named_in(json.dumps(e, ensure_ascii=False, default=str))
    ]
    path = workdir / f"pack-{tag}.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "actors": kept}, allow_unicode=True))
    return path


def leak_check(kb: Any, objects: Sequence[Obj], h: Held) -> list[str]:
    """What of the held-out campaign the knowledge base still holds (empty: nothing)."""
    found = []
    if any(
        o["id"] == h.stix_id or h.stix_id in (o.get("source_ref"), o.get("target_ref"))
        for o in objects
    ):
        found.append("campaign object or relationship in the reduced bundle")
    if kb.campaign(h.campaign_id) is not None:
        found.append("campaign in the loaded ATT&CK data (stale cache?)")
    for a in kb.actors():
        camps = [c.get("id") for c in a.extra.get("campaigns", ())]
        if h.campaign_id in camps:
            found.append(f"{a.name} lists the campaign")
        if any(n.lower() in h.names for n in a.aliases):
            found.append(f"{a.name} has the campaign's name as an alias")
        if h.is_group([a.name]) and "curated" in a.extra.get("origins", ()):
            found.append(f"{a.name} keeps its curated-pack entry")
        if h.is_group([a.name]) and "misp-galaxy" in a.extra.get("origins", ()):
            found.append(f"{a.name} keeps its MISP galaxy entry")
    if kb.indicators.find(h.campaign_id):
        found.append("IOC pack names the campaign")
    return found


# --- aptlink and the baseline -----------------------------------------------------------------


def aptlink_rank(bundle_path: Path, kb: Any) -> list[Attribution]:
    """Run the bundle through the whole pipeline and return the rank-ordered candidates."""
    from aptlink import pipeline

    result = pipeline.investigate([bundle_path], kb)
    atts = sorted(result.attributions, key=lambda a: (a.campaign_id, a.rank))
    return atts


def tfidf_rank(techs: Sequence[str], soft: Sequence[str], actors: Sequence[Actor]) -> list[str]:
    """TF-IDF cosine between the campaign and each actor over techniques and software names."""
    docs = [{*a.techniques, *(s.lower() for s in a.software)} for a in actors]
    df: Counter[str] = Counter(t for d in docs for t in d)
    n = len(docs)

    def idf(t: str) -> float:
        return math.log((1 + n) / (1 + df.get(t, 0))) + 1

    query = {*techs, *(s.lower() for s in soft)}
    qn = math.sqrt(sum(idf(t) ** 2 for t in query)) or 1.0
    scored = []
    for actor, doc in zip(actors, docs, strict=True):
        dn = math.sqrt(sum(idf(t) ** 2 for t in doc)) or 1.0
        dot = sum(idf(t) ** 2 for t in query & doc)
        scored.append((dot / (qn * dn), actor.name))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [name for _, name in scored]


def names_of(groups: Sequence[Obj]) -> set[str]:
    return {a.lower() for g in groups for a in (g["name"], *g.get("aliases", ()))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attack", type=Path, default=DEFAULT_ATTACK)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--fallback", action="store_true", help="read actors from the bundle directly")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    if not args.attack.is_file():
        print(f"skipped: no ATT&CK bundle at {args.attack}")
        return 0
    t0 = time.perf_counter()
    objects = json.loads(args.attack.read_text(encoding="utf-8"))["objects"]
    cases = attributed_campaigns(objects)
    if args.limit:
        cases = cases[: args.limit]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["APTLINK_CACHE"] = str(Path(tmp) / "cache")
        work = Path(tmp)
        full = _full_kb(objects, work, args.fallback)
        fallback = full is None
        for campaign, groups in cases:
            rows.append(run_case(objects, campaign, groups, work, fallback, args.verbose))
        generic = run_generic(work, full or BundleKB(objects))
        ransom = run_ransomware(work, full or BundleKB(objects))
    report(rows, generic, fallback, time.perf_counter() - t0)
    print(
        f"  ransomware-only bundle ({', '.join(RANSOMWARE)}): "
        + ", ".join(f"{n} ({k})" for n, k in ransom[:5])
    )
    return 0


def _full_kb(objects: Sequence[Obj], work: Path, fallback: bool) -> Any:
    """The knowledge base of the whole bundle (generic and ransomware bundles), or None when
    the bundle is to be read directly."""
    if fallback:
        return None
    try:
        kb = load_kb(objects, work, fallback=False)
        return kb if len(kb.actors()) > 100 else None
    except Exception as exc:  # the kb workstream's loader may not be ready: say so and fall back
        print(
            f"note: kb loader unavailable ({type(exc).__name__}: {exc}); reading the bundle directly"
        )
        return None


def run_case(
    objects: Sequence[Obj],
    campaign: Obj,
    groups: Sequence[Obj],
    work: Path,
    fallback: bool,
    verbose: bool,
) -> dict[str, Any]:
    techs, soft = campaign_uses(objects, campaign)
    cid = ext_id(campaign) or campaign["id"]
    path = work / f"{cid}.json"
    path.write_text(json.dumps(incident_bundle(f"{cid} {campaign['name']}", techs, soft)))
    out = held(campaign, groups)
    reduced = without(objects, campaign)
    kb = load_kb(reduced, work, fallback, tag=cid, held_out=out)
    leaks = [] if fallback else leak_check(kb, reduced, out)
    if leaks:
        raise SystemExit(f"{cid}: the knowledge base still knows the campaign: {'; '.join(leaks)}")
    truth = names_of(groups)
    atts = aptlink_rank(path, kb)
    ours = [a.actor for a in atts]
    base = tfidf_rank(techs, soft, kb.actors())
    top = atts[0] if atts else None
    row = {
        "campaign": cid,
        "name": campaign["name"],
        "truth": sorted(g["name"] for g in groups),
        "techniques": len(techs),
        "software": len(soft),
        "ours": ours[:5],
        "top1": bool(ours[:1]) and ours[0].lower() in truth,
        "top5": any(o.lower() in truth for o in ours[:5]),
        "attributed": bool(top and top.attributed),
        "confidence": top.confidence if top else 0.0,
        "base_top1": base[0].lower() in truth,
        "base_top5": any(b.lower() in truth for b in base[:5]),
        "rank": _rank_of(ours, truth),
        "base_rank": _rank_of(base, truth),
        "full_rank": None if fallback else full_rank(techs, soft, kb, truth),
    }
    mark = "ok " if row["top1"] else ("top5" if row["top5"] else "MISS")
    print(
        f"{mark} {cid} {campaign['name'][:34]:34} truth={'/'.join(row['truth'])[:22]:22} "
        f"ours={(ours[0] if ours else '-')[:18]:18} conf={row['confidence']:.2f} "
        f"attributed={row['attributed']!s:5} tfidf={base[0][:18]} "
        f"rank={row['rank'] or '-'} tfidf-rank={row['base_rank'] or '-'} "
        f"log-odds-rank={row['full_rank'] or '-'}"
    )
    if verbose and top:
        for r in (*top.evidence, *top.against):
            print(f"      {r.code:38} {r.weight:+.2f} {r.detail[:90]}")
    return row


def _rank_of(names: Sequence[str], truth: set[str]) -> int | None:
    return next((i for i, n in enumerate(names, 1) if n.lower() in truth), None)


def full_rank(techs: Sequence[str], soft: Sequence[str], kb: Any, truth: set[str]) -> int | None:
    """The right group's rank among all actors by the capability log-odds (a diagnostic: the
    pipeline lists five)."""
    from aptlink.link import attribute as att
    from aptlink.link.actorindex import build_index

    index = build_index(kb)
    prof = att.profile_of_features(set(techs), {index.canon(s): s for s in soft})
    prof.known = att.known_techniques(prof, index)
    _, raw = att.capability_scores(prof, index)
    order = sorted(raw, key=lambda a: (-raw[a], index.actors[a].name))
    names = [index.actors[a].name for a in order]
    return _rank_of(names, truth)


def run_ransomware(work: Path, kb: Any) -> list[tuple[str, str]]:
    """(actor, kind) of the candidates for a ransomware-only bundle, in rank order."""
    path = work / "ransomware.json"
    path.write_text(json.dumps(incident_bundle("ransomware intrusion", RANSOMWARE, ())))
    kinds = {a.name: a.kind for a in kb.actors()}
    return [(a.actor, kinds.get(a.actor, "?")) for a in aptlink_rank(path, kb)]


def run_generic(work: Path, kb: Any) -> Attribution | None:
    path = work / "generic.json"
    path.write_text(json.dumps(incident_bundle("generic techniques only", GENERIC, ())))
    atts = aptlink_rank(path, kb)
    return atts[0] if atts else None


def report(
    rows: list[dict[str, Any]], generic: Attribution | None, fallback: bool, secs: float
) -> None:
    n = len(rows) or 1

    def share(key: str) -> float:
        return sum(1 for r in rows if r[key]) / n

    attributed = [r for r in rows if r["attributed"]]
    precision = sum(1 for r in attributed if r["top1"]) / (len(attributed) or 1)
    brier = sum((r["confidence"] - (1.0 if r["top1"] else 0.0)) ** 2 for r in rows) / n
    mean_conf = sum(r["confidence"] for r in rows) / n
    print()
    print(
        f"attribution on ATT&CK, leave-one-campaign-out: {len(rows)} campaigns "
        f"(kb: {'bundle fallback' if fallback else 'aptlink.kb'}) in {secs:.0f} s"
    )
    print(f"  aptlink          top-1 {share('top1'):.2f}   top-5 {share('top5'):.2f}")
    print(
        f"  TF-IDF baseline  top-1 {share('base_top1'):.2f}   top-5 {share('base_top5'):.2f}"
        "   (reference 0.36 / 0.60)"
    )
    print(
        f"  named (attributed=True) {len(attributed)}/{len(rows)}, of which right {precision:.2f}; "
        f"mean confidence {mean_conf:.2f} vs top-1 accuracy {share('top1'):.2f}; Brier {brier:.3f}"
    )
    for lo, hi in ((0.0, 0.5), (0.5, 0.8), (0.8, 1.01)):
        band = [r for r in rows if lo <= r["confidence"] < hi]
        right = sum(1 for r in band if r["top1"])
        print(
            f"  rank-1 confidence {lo:.1f}-{min(hi, 1.0):.1f}: {len(band):2} campaigns, "
            f"rank 1 right {right}/{len(band)}"
        )
    misses = [r for r in rows if not r["top5"]]
    if misses:
        print("  outside the top 5 (right group's rank among all actors by capability log-odds):")
        for r in misses:
            print(
                f"    {r['campaign']} {r['name'][:34]:34} {'/'.join(r['truth'])[:24]:24} "
                f"log-odds rank {r['full_rank'] or '-'}, TF-IDF rank {r['base_rank'] or '-'}"
            )
    if generic is None:
        print("  generic-only bundle (T1059, T1105, T1082): no candidate at all -> unattributed")
    else:
        verdict = "attributed (WRONG)" if generic.attributed else "unattributed"
        print(
            f"  generic-only bundle (T1059, T1105, T1082): {verdict}, best {generic.actor} "
            f"confidence {generic.confidence:.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
