"""Attribution: score actors for each campaign by overlap of techniques, software and IOCs."""

from __future__ import annotations

from collections.abc import Sequence

from aptlink.kb import KnowledgeBase
from aptlink.model import Attribution, Campaign, Incident, Kind, Reason

UNATTRIBUTED = 0.35


def attribute(
    campaigns: Sequence[Campaign], incidents: Sequence[Incident], kb: KnowledgeBase | None
) -> list[Attribution]:
    if kb is None:
        return []
    by_id = {i.id: i for i in incidents}
    out: list[Attribution] = []
    for c in campaigns:
        members = [by_id[i] for i in c.incident_ids if i in by_id]
        tech = set(c.techniques)
        soft = {
            o.value.lower()
            for i in members
            for o in i.observations
            if o.kind in (Kind.MALWARE, Kind.TOOL)
        }
        scored = []
        for actor in kb.actors():
            shared_t = tech & set(actor.techniques)
            shared_s = soft & {s.lower() for s in actor.software}
            score = len(shared_t) / (len(tech) or 1) * 0.5 + (0.5 if shared_s else 0.0)
            if score > 0:
                ev = [Reason(code="capability:technique", detail=t) for t in sorted(shared_t)]
                ev += [Reason(code="capability:software", detail=s) for s in sorted(shared_s)]
                scored.append((score, actor, ev))
        scored.sort(key=lambda s: -s[0])
        for rank, (score, actor, ev) in enumerate(scored[:5], 1):
            out.append(
                Attribution(
                    campaign_id=c.id,
                    actor=actor.name,
                    attack_id=actor.attack_id,
                    confidence=round(min(score, 1.0), 3),
                    rank=rank,
                    attributed=score >= UNATTRIBUTED,
                    evidence=tuple(ev),
                )
            )
    return out
