"""Records to table rows: the queryable columns beside each record's full ``to_dict()`` form."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from aptlink.evidence.base import Warning_
from aptlink.model import Evidence, Finding, Kind, Observation, normalise, now, stable_id
from aptlink.pipeline import CaseResult
from aptlink.store.schema import ANALYSIS_TABLES

Rows = dict[str, list[dict[str, Any]]]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_HasId)


def value_digest(kind: str, value: str) -> str:
    """The indexed form of an observation value: sha256 of its canonical text."""
    return hashlib.sha256(normalise(Kind(kind), value).encode("utf-8")).hexdigest()


def input_rows(
    evidence: Sequence[Evidence], findings: Sequence[Finding], warnings: Sequence[Warning_]
) -> Rows:
    """Rows for save_inputs, each id once. Each finding is turned to a dict once, and its
    observations' dicts are reused for their own rows (to_dict dominates the cost of a save)."""
    out: Rows = {
        "evidence": [evidence_row(e) for e in _first(evidence)],
        "observations": [],
        "findings": [],
        "finding_observations": [],
        "reasons": [],
        "warnings": _first_rows(warning_row(w) for w in warnings),
    }
    observed: set[str] = set()
    for f in _first(findings):
        record = f.to_dict()
        attached = record["observations"]
        record["observations"] = []  # kept in observations + finding_observations
        out["findings"].append(finding_row(f, record))
        out["reasons"] += [
            {"finding_id": f.id, "position": n, **r} for n, r in enumerate(record["reasons"])
        ]
        for n, (o, data) in enumerate(zip(f.observations, attached, strict=True)):
            if o.id not in observed:
                observed.add(o.id)
                out["observations"].append(observation_row(o, data))
            detail = {"time": data["time"], "context": data["context"]}
            out["finding_observations"].append(
                {"finding_id": f.id, "position": n, "observation_id": o.id, "detail": detail}
            )
    return out


def _first(records: Iterable[R]) -> list[R]:
    """Each record once, by id, first one wins."""
    by_id: dict[str, R] = {}
    for r in records:
        by_id.setdefault(r.id, r)
    return list(by_id.values())


def _first_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_id.setdefault(row["id"], row)
    return list(by_id.values())


def evidence_row(e: Evidence) -> dict[str, Any]:
    return {
        "id": e.id,
        "path": e.path,
        "sha256": e.sha256,
        "size": e.size,
        "format": e.format,
        "status": str(e.status),
        "reason": e.reason,
        "added": now(),
        "record": e.to_dict(),
    }


def observation_row(o: Observation, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": o.id,
        "kind": str(o.kind),
        "value": o.value,
        "value_sha256": hashlib.sha256(o.value.encode("utf-8")).hexdigest(),
        "sha256": o.provenance.sha256,
        "time": o.time,
        "record": record,
    }


def finding_row(f: Finding, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f.id,
        "detector": f.detector,
        "title": f.title,
        "severity": str(f.severity),
        "score": f.score,
        "verdict": None if f.verdict is None else str(f.verdict),
        "time": f.time,
        "group_key": f.group_key,
        "victim": f.victim,
        "sha256": f.provenance.sha256,
        "record": record,
    }


def warning_row(w: Warning_) -> dict[str, Any]:
    return {"id": stable_id("warning", w.where, w.message), "where": w.where, "message": w.message}


def analysis_rows(case: CaseResult) -> Rows:
    """Rows for save_analysis, in foreign-key order."""
    out: Rows = {name: [] for name in ANALYSIS_TABLES}
    for i in _first(case.incidents):
        out["incidents"].append(
            {
                "id": i.id,
                "title": i.title,
                "victim": i.victim,
                "severity": str(i.severity),
                "first_seen": i.first_seen,
                "last_seen": i.last_seen,
                "record": i.to_dict(),
            }
        )
        out["incident_findings"] += [{"incident_id": i.id, "finding_id": f} for f in i.finding_ids]
    for c in _first(case.campaigns):
        out["campaigns"].append(
            {
                "id": c.id,
                "name": c.name,
                "first_seen": c.first_seen,
                "last_seen": c.last_seen,
                "record": c.to_dict(),
            }
        )
        out["campaign_incidents"] += [
            {"campaign_id": c.id, "incident_id": i, "membership": c.membership.get(i)}
            for i in c.incident_ids
        ]
        out["links"] += [
            {
                "campaign_id": c.id,
                "source": link.source,
                "target": link.target,
                "weight": link.weight,
                "reasons": [r.to_dict() for r in link.reasons],
            }
            for link in c.links
        ]
    for a in _first(case.attributions):
        out["attributions"].append(
            {
                "id": a.id,
                "campaign_id": a.campaign_id,
                "actor": a.actor,
                "attack_id": a.attack_id,
                "confidence": a.confidence,
                "rank": a.rank,
                "attributed": a.attributed,
                "record": a.to_dict(),
            }
        )
    out["mitigations"] = [
        {"position": n, "mitigation_id": m.get("id"), "name": m.get("name"), "record": dict(m)}
        for n, m in enumerate(case.mitigations)
    ]
    return out
