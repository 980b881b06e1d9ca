"""What the STIX and MISP parsers share: collecting one shared incident's observations, times,
victim and claimed actors, and turning them into an ``external-incident`` item."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aptlink.evidence.base import Item, ParseContext
from aptlink.model import Kind, Observation, Provenance

MAX_VALUE_CHARS = 2048


class IncidentReader:
    """Collects what one shared incident says; subclasses read one exchange format."""

    step = ""

    def __init__(self, prov: Provenance, ctx: ParseContext) -> None:
        self.prov = prov
        self.ctx = ctx
        self.found: list[Observation] = []
        self.times: list[datetime] = []
        self.victim: str | None = None
        self.actors: set[str] = set()

    def unique(self) -> list[Observation]:
        seen: dict[tuple[str, str], Observation] = {}
        for o in self.found:
            seen.setdefault((o.kind, o.value), o)
        return sorted(seen.values(), key=lambda o: (o.kind, o.value))

    def observe(self, kind: Kind, value: Any, record: str, time: datetime | None) -> None:
        """Keep one value; a value the model rejects is a warning naming its record."""
        if not isinstance(value, str) or not value.strip():
            return
        try:
            self.found.append(
                Observation(
                    kind=kind,
                    value=value.strip()[:MAX_VALUE_CHARS],
                    provenance=self.prov.child(self.step, record=record),
                    time=time,
                )
            )
        except ValueError as exc:
            self.ctx.warn(self.prov.where(), f"{record}: {exc}")

    def item(self, **data: Any) -> Item:
        """The external-incident item: ``data`` plus the victim, time span and claimed actors."""
        times = sorted(self.times)
        data |= {
            "victim": self.victim,
            "first_seen": times[0].isoformat() if times else None,
            "last_seen": times[-1].isoformat() if times else None,
            "claimed_actors": sorted(self.actors),
        }
        return Item(
            kind="external-incident",
            provenance=self.prov,
            data=data,
            observations=tuple(self.unique()),
            time=times[0] if times else None,
        )
