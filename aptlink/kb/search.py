"""Free-text search over the knowledge base and the `kb status` summary (what is loaded, from where)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase


def search(kb: KnowledgeBase, text: str, limit: int = 50) -> list[dict[str, Any]]:
    """Actors, techniques, software, campaigns and mitigations whose id, name or alias contains the
    text (ranked: exact id/name first, then name/alias substring, then description)."""
    needle = text.strip().lower()
    if not needle:
        return []
    hits = [*_actor_hits(kb, needle), *_attack_hits(kb, needle), *_ioc_hits(kb, text)]
    hits.sort(key=lambda h: (h["rank"], h["type"], h["name"].lower()))
    return hits[:limit]


def _rank(needle: str, ident: str, names: Iterable[str], description: str) -> int | None:
    names = [n.lower() for n in names]
    if needle == ident.lower() or needle in names:
        return 0
    if any(needle in n for n in names):
        return 1
    if needle in description.lower():
        return 2
    return None


def _actor_hits(kb: KnowledgeBase, needle: str) -> Iterator[dict[str, Any]]:
    for a in kb.actors():
        rank = _rank(needle, a.attack_id or a.name, [a.name, *a.aliases], a.description)
        if rank is not None:
            yield {"type": "actor", "id": a.attack_id or a.id, "name": a.name, "rank": rank}


ATTACK_TABLES = {
    "techniques": "technique",
    "campaigns": "campaign",
    "software": "software",
    "mitigations": "mitigation",
}


def _attack_hits(kb: KnowledgeBase, needle: str) -> Iterator[dict[str, Any]]:
    for table, label in ATTACK_TABLES.items():  # groups are reported as actors
        for row in getattr(kb.attack, table).values():
            rank = _rank(
                needle, row["id"], [row["name"], *row.get("aliases", ())], row["description"]
            )
            if rank is not None:
                yield {
                    "type": label,
                    "id": row["id"],
                    "name": row["name"],
                    "rank": rank,
                }


def _ioc_hits(kb: KnowledgeBase, text: str) -> Iterator[dict[str, Any]]:
    for ind in kb.indicators.find(text):
        yield {
            "type": "indicator",
            "id": ind.value,
            "name": f"{ind.kind}: {ind.value} ({ind.actor or '?'})",
            "rank": 0,
        }


def status(kb: KnowledgeBase) -> dict[str, Any]:
    """Each source with its version, date and counts."""
    kev = kb._kev_catalogue()
    actors = kb.actors()
    return {
        "attack": kb.attack.summary(),
        "actors": {
            "count": len(actors),
            "curated": sum(1 for a in actors if "curated" in a.extra.get("origins", ())),
            "with_misp": sum(1 for a in actors if "misp-galaxy" in a.extra.get("origins", ())),
        },
        "misp_galaxy": _galaxy_status(kb),
        "kev": {
            "source": getattr(kev, "source", None),
            "version": getattr(kev, "version", None),
            "count": len(kev) if kev is not None else 0,
        },
        "indicators": {"count": len(kb.indicators), "sources": dict(kb.indicators.sources)},
        "warninglists": _warninglists(),
        "synced": _synced(kb),
        "alias_conflicts": kb.alias_conflicts(),
        "feed_errors": kb.feed_warnings,
    }


def _galaxy_status(kb: KnowledgeBase) -> dict[str, Any]:
    from aptlink.kb import galaxy

    data = galaxy.cluster("threat-actor", kb.galaxy_dirs) or {}
    return {
        "threat_actor_version": data.get("version"),
        "threat_actors": len(data.get("values", ())),
        "folders": [str(d) for d in kb.galaxy_dirs] or ["pymispgalaxies (packaged)"],
        "problems": list(galaxy.PROBLEMS),
    }


def _synced(kb: KnowledgeBase) -> dict[str, Any]:
    from aptlink.kb.sync import read_manifest

    manifest = read_manifest(kb.cache_dir / "sources")
    keep = ("fetched", "version", "date", "objects", "sha256", "url")
    return {name: {k: e.get(k) for k in keep} for name, e in sorted(manifest.items())}


def _warninglists() -> dict[str, Any]:
    from aptlink.kb.warninglists import summary

    return summary()
