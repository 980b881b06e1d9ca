"""The knowledge base: ATT&CK, actor profiles, exploited vulnerabilities, indicators, warninglists.

This module holds the facade every other stage uses. The contract (kept stable for the detectors and
the linking stage):

- ``KnowledgeBase.load(attack_path=None)``: offline by default (packaged and curated data), ATT&CK
  from ``attack_path`` or ``$APTLINK_ATTACK`` or the sync cache when given.
- ``actors() -> list[Actor]``, ``actor(name) -> Actor | None`` (any alias, case-insensitive)
- ``technique(tid) -> dict | None`` (``id``, ``name``, ``tactics``, ``description``)
- ``mitigations_for(tids) -> list[dict]`` (``id``, ``name``, ``techniques``, ``description``)
- ``software(name) -> dict | None`` (``id``, ``name``, ``type``, ``aliases``)
- ``ioc(value) -> list[dict]`` (``value``, ``kind``, ``actor``, ``source``, ``confidence``)
- ``warninglisted(value) -> list[str]`` (names of the MISP warninglists holding the value)
- ``kev(cve) -> dict | None``

Beyond the contract: ``group``, ``campaign``, ``cve_actors``, ``alias_conflicts``, ``search`` and
``status`` serve ``aptlink kb``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aptlink.errors import KnowledgeError
from aptlink.kb import galaxy
from aptlink.kb.actors import ActorIndex, find_cve_actors, load_actors, misp_actor
from aptlink.kb.attack import AttackData, default_cache_dir, load_attack
from aptlink.kb.indicators import URL_RE, IndicatorStore, refang
from aptlink.model import Actor

ATTACK_ENV = "APTLINK_ATTACK"
GALAXY_ENV = "APTLINK_MISP_GALAXY"
FEEDS_ENV = "APTLINK_FEEDS"


def synced_path(cache_dir: Path, name: str) -> Path | None:
    """A source `aptlink kb sync` stored in the cache, when there is one."""
    path = cache_dir / "sources" / name
    return path if path.exists() else None


class KnowledgeBase:
    """What aptlink knows about techniques, actors, vulnerabilities and indicators."""

    def __init__(
        self,
        attack: AttackData | None = None,
        actor_index: ActorIndex | None = None,
        indicators: IndicatorStore | None = None,
        galaxy_dirs: Sequence[Path] = (),
        kev_path: Path | None = None,
    ) -> None:
        self.attack = attack or AttackData()
        self._index = actor_index or load_actors(None)
        self.indicators = indicators or IndicatorStore()
        self.galaxy_dirs = list(galaxy_dirs)
        self.kev_path = kev_path
        self.cache_dir = default_cache_dir()
        self._kev: Any = None
        self._misp_actors: dict[str, dict[str, Any]] | None = None
        self._software_names: dict[str, str] | None = None
        self.feed_warnings: list[str] = []

    @classmethod
    def load(
        cls,
        attack_path: Path | None = None,
        *,
        galaxy_path: Path | None = None,
        feeds: Iterable[Path] = (),
        kev_path: Path | None = None,
        cache_dir: Path | None = None,
        packaged_iocs: bool = True,
    ) -> KnowledgeBase:
        cache = cache_dir or default_cache_dir()
        attack = _load_attack_source(attack_path, cache)
        dirs = [
            d for d in (galaxy_path, _env_path(GALAXY_ENV), synced_path(cache, "misp-galaxy")) if d
        ]
        if attack is None:
            attack = galaxy.attack_lite(dirs)
        misp = galaxy.values(galaxy.cluster("threat-actor", dirs))
        kb = cls(
            attack=attack,
            actor_index=load_actors(attack, misp),
            galaxy_dirs=dirs,
            kev_path=kev_path or synced_path(cache, "known_exploited_vulnerabilities.json"),
        )
        kb.cache_dir = cache
        kb._load_indicators(feeds, packaged_iocs)
        return kb

    @classmethod
    def indicators_only(cls, feeds: Iterable[Path] = ()) -> KnowledgeBase:
        """A knowledge base for indicator look-ups alone (no ATT&CK): fast for `kb ioc`."""
        kb = cls()
        kb._load_indicators(feeds, packaged=True)
        return kb

    def _load_indicators(self, feeds: Iterable[Path], packaged: bool) -> None:
        from aptlink.kb import feeds as feed_importers

        if packaged:
            self.indicators.add(feed_importers.packaged_indicators())
        paths = [*feeds, *_env_paths(FEEDS_ENV)]
        if paths:
            result = feed_importers.import_paths(paths)
            self.indicators.add(result.indicators)
            self.feed_warnings.extend(result.messages())

    # ------------------------------------------------------------ actors

    def actors(self) -> list[Actor]:
        return list(self._index.actors)

    def actor(self, name: str) -> Actor | None:
        """The actor with this name or alias (case-insensitive); MISP-only actors as a fallback."""
        found = self._index.find(name)
        if found is not None:
            return found
        entry = self._misp_index().get(name.strip().lower())
        return misp_actor(entry) if entry else None

    def _misp_index(self) -> dict[str, dict[str, Any]]:
        if self._misp_actors is None:
            self._misp_actors = {}
            for entry in galaxy.values(galaxy.cluster("threat-actor", self.galaxy_dirs)):
                for name in [entry["value"], *(entry.get("meta") or {}).get("synonyms", ())]:
                    self._misp_actors.setdefault(str(name).lower(), entry)
        return self._misp_actors

    def alias_conflicts(self) -> list[dict[str, Any]]:
        """Aliases claimed by more than one actor, with how each was settled (or not)."""
        return list(self._index.conflicts)

    def cve_actors(self, cve: str) -> list[Actor]:
        return find_cve_actors(self._index.actors, cve)

    # ------------------------------------------------------------ ATT&CK

    def technique(self, tid: str) -> dict[str, Any] | None:
        return self._attack_row(tid, "T")

    def group(self, gid: str) -> dict[str, Any] | None:
        return self._attack_row(gid, "G")

    def campaign(self, cid: str) -> dict[str, Any] | None:
        return self._attack_row(cid, "C")

    def mitigation(self, mid: str) -> dict[str, Any] | None:
        return self._attack_row(mid, "M")

    def _attack_row(self, eid: str, prefix: str) -> dict[str, Any] | None:
        key = eid.strip().upper()
        if not key.startswith(prefix):
            return None
        row = self.attack.get(key)
        if row is None:
            return None
        out = dict(row)
        if row["id"] != key:
            out["revoked_id"] = key
        return out

    def mitigations_for(self, tids: list[str]) -> list[dict[str, Any]]:
        """Mitigations of these techniques, the one covering most of them first."""
        covered: dict[str, list[str]] = {}
        for tid in dict.fromkeys(t.strip().upper() for t in tids):
            for mid in self._mitigation_ids(tid):
                covered.setdefault(mid, []).append(tid)
        rows = [self._mitigation_row(mid, found) for mid, found in covered.items()]
        return sorted(rows, key=lambda r: (-len(r["techniques"]), r["id"]))

    def _mitigation_ids(self, tid: str) -> list[str]:
        row = self.attack.get(tid) if tid.startswith("T") else None
        if row is None:
            return []
        if not row["mitigations"] and "." in row["id"]:  # a sub-technique without its own: parent's
            parent = self.attack.get(row["id"].split(".")[0])
            return list(parent["mitigations"]) if parent else []
        return list(row["mitigations"])

    def _mitigation_row(self, mid: str, techniques: list[str]) -> dict[str, Any]:
        m = self.attack.mitigations[mid]
        return {
            "id": mid,
            "name": m["name"],
            "description": m["description"],
            "techniques": sorted(techniques),
            "url": m.get("url"),
        }

    def software(self, name: str) -> dict[str, Any] | None:
        """ATT&CK software by id (``S0275``), name or alias, case-insensitive."""
        key = name.strip().lower()
        if key.upper().startswith("S") and key[1:].isdigit():
            row = self.attack.get(key.upper())
            return dict(row) if row else None
        sid = self._software_index().get(key)
        return dict(self.attack.software[sid]) if sid else None

    def _software_index(self) -> dict[str, str]:
        """name or alias (lower case) -> software id; a name wins over another's alias."""
        if self._software_names is None:
            index: dict[str, str] = {}
            for row in self.attack.software.values():
                for alias in row["aliases"]:
                    index.setdefault(alias.lower(), row["id"])
            index.update({row["name"].lower(): row["id"] for row in self.attack.software.values()})
            self._software_names = index
        return self._software_names

    # ------------------------------------------------------------ indicators, warninglists, KEV

    def ioc(self, value: str) -> list[dict[str, Any]]:
        """Indicators with this value; for a URL also those of its host (``matched_on: host``)."""
        if not self.indicators.may_hold(value):
            return []
        hits = [i.to_dict() for i in self.indicators.find(value)]
        host = url_host(value)
        if host:
            hits += [{**i.to_dict(), "matched_on": "host"} for i in self.indicators.find(host)]
        return hits

    def warninglisted(self, value: str) -> list[str]:
        from aptlink.kb.warninglists import warninglisted

        return list(warninglisted(value))

    def kev(self, cve: str) -> dict[str, Any] | None:
        entry = self._kev_catalogue().get(cve) if self._kev_catalogue() is not None else None
        return entry.to_dict() if entry is not None else None

    def _kev_catalogue(self) -> Any:
        if self._kev is None:
            try:
                from aptlink.kb.kev import load_kev

                self._kev = load_kev(self.kev_path)
            except (ImportError, KnowledgeError):
                self._kev = False
        return self._kev or None

    # ------------------------------------------------------------ for `aptlink kb`

    def search(self, text: str, limit: int = 50) -> list[dict[str, Any]]:
        from aptlink.kb.search import search

        return search(self, text, limit)

    def status(self) -> dict[str, Any]:
        from aptlink.kb.search import status

        return status(self)


# A URL whose host part (up to the first / ? or #) is plain ASCII without user, IP-literal
# brackets or percent signs: there urlsplit(value).hostname is that part before any port, lower
# case, and taking it so is five times cheaper than urlsplit. Anything else goes through urlsplit.
PLAIN_NETLOC = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9._~!$&'()*+,;=:-]*)(?:[/?#]|$)")


def url_host(value: str) -> str | None:
    """The host of a (possibly defanged) URL, or None when the value is not a URL."""
    # imported at the top, not here: triage asks for the host of every link it meets
    value = refang(value)
    if not URL_RE.match(value):
        return None
    plain = PLAIN_NETLOC.match(value)
    if plain is not None:
        return plain.group(1).partition(":")[0].lower() or None
    try:
        return urlsplit(value).hostname
    except ValueError:
        return None


def _load_attack_source(attack_path: Path | None, cache: Path) -> AttackData | None:
    path = attack_path or _env_path(ATTACK_ENV) or synced_path(cache, "enterprise-attack.json")
    return load_attack(path, cache) if path else None


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _env_paths(name: str) -> list[Path]:
    return [Path(p) for p in os.environ.get(name, "").split(os.pathsep) if p]
