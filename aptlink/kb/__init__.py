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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aptlink.model import Actor


class KnowledgeBase:
    """What aptlink knows about techniques, actors, vulnerabilities and indicators."""

    def __init__(self) -> None:
        self._actors: list[Actor] = []

    @classmethod
    def load(cls, attack_path: Path | None = None) -> KnowledgeBase:
        return cls()

    def actors(self) -> list[Actor]:
        return list(self._actors)

    def actor(self, name: str) -> Actor | None:
        key = name.strip().lower()
        for a in self._actors:
            if key == a.name.lower() or key in (x.lower() for x in a.aliases):
                return a
        return None

    def technique(self, tid: str) -> dict[str, Any] | None:
        return None

    def mitigations_for(self, tids: list[str]) -> list[dict[str, Any]]:
        return []

    def software(self, name: str) -> dict[str, Any] | None:
        return None

    def ioc(self, value: str) -> list[dict[str, Any]]:
        return []

    def warninglisted(self, value: str) -> list[str]:
        return []

    def kev(self, cve: str) -> dict[str, Any] | None:
        return None
