"""Fixtures for the linking tests: a tiny knowledge base with a handful of actors, and a factory
for incidents with the observations a test needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from linkkb import FakeKB

from aptlink.model import Incident, Kind, Observation, Provenance

PROV = Provenance(file="case.obs", sha256="0" * 64, chain=("test",))


@pytest.fixture
def kb() -> FakeKB:
    return FakeKB()


Factory = Callable[..., Incident]


@pytest.fixture
def incident() -> Factory:
    """incident("name", when="2022-06-01", victim=..., techniques=[...], domain=[...], ...)"""

    def make(
        name: str,
        when: str = "2022-06-01",
        victim: str | None = None,
        techniques: tuple[str, ...] = (),
        **values: Any,
    ) -> Incident:
        observations = []
        for key, vals in values.items():
            kind = Kind[key.upper()]
            for v in [vals] if isinstance(vals, str) else vals:
                observations.append(Observation(kind=kind, value=v, provenance=PROV))
        t = datetime.fromisoformat(when).replace(tzinfo=UTC)
        return Incident(
            title=name,
            finding_ids=(f"finding--{name}",),
            first_seen=t,
            last_seen=t,
            victim=victim,
            techniques=techniques,
            observations=tuple(observations),
        )

    return make
