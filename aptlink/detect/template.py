"""The template detector: a shipped, tested example of how to write one.

It reports every indicator in an observation sheet that the knowledge base attributes to an actor,
one finding per sheet, with one reason per matching indicator.
"""

from __future__ import annotations

from collections.abc import Iterator

from aptlink.detect.base import Detector
from aptlink.evidence.base import Item
from aptlink.model import Finding, Reason, Severity


class KnownIndicatorDetector(Detector):
    """Indicators from an observation sheet that intel attributes to a known actor."""

    name = "known-indicator"
    description = "indicators in an observation sheet that intel attributes to an actor"
    accepts = frozenset({"observations"})

    def detect(self, item: Item) -> Iterator[Finding]:
        kb = self.ctx.kb
        reasons = []
        for obs in item.observations:
            for hit in kb.ioc(obs.value) if kb else []:
                reasons.append(
                    Reason(
                        code="intel:known-indicator",
                        detail=f"{obs.kind} {obs.value} is attributed to {hit['actor']} by {hit['source']}",
                        weight=40.0,
                    )
                )
        if reasons:
            yield Finding(
                detector=self.name,
                title="known attacker indicators",
                severity=Severity.HIGH,
                score=min(100.0, sum(r.weight for r in reasons)),
                provenance=item.provenance,
                reasons=tuple(reasons),
                observations=item.observations,
            )
