"""What an analyst reads about a case, as plain data: the Markdown and HTML reports render this.

Sections: inputs (every file with its status and reason), incidents, campaigns and why incidents are
linked, attribution per campaign (ranked actors, evidence per Diamond vertex, the ACH table,
"unattributed" when weak) and preventive measures (ATT&CK mitigations and concrete measures).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from aptlink import __version__
from aptlink.kb import KnowledgeBase
from aptlink.link.incidents import is_condition
from aptlink.model import Attribution, Campaign, Finding, Incident, Kind, Reason, Status
from aptlink.pipeline import CaseResult
from aptlink.report import exposures as exposure_section
from aptlink.report.measures import measures_for

VERTICES = ("adversary", "capability", "infrastructure", "victim")
TOP_REASONS = 5
MAX_WARNINGS = 50
MAX_WHAT = 8
ACH_COLUMNS = 4  # competing hypotheses side by side; the ranked table lists them all


def build(case: CaseResult, kb: KnowledgeBase | None) -> dict[str, Any]:
    """The whole report as nested dicts and lists of plain values."""
    names = _technique_names(case, kb)
    by_id = {f.id: f for f in case.findings}
    incidents = {i.id: i for i in case.incidents}
    reported = reported_actors(case)
    campaigns = sorted(
        (
            campaign(c, incidents, _of(case.attributions, c.id), names, reported.get(c.id, ()))
            for c in case.campaigns
        ),
        key=_importance,
    )
    return {
        "version": __version__,
        "summary": summary(case),
        "inputs": [_input(e.to_dict()) for e in case.evidence],
        "warnings": [
            {"where": w.where, "message": w.message} for w in case.warnings[:MAX_WARNINGS]
        ],
        "warnings_total": len(case.warnings),
        "incidents": [incident(i, by_id, names) for i in case.incidents],
        "campaigns": campaigns,
        "exposures": exposure_section.rows(case),
        "actors": actors(campaigns),
        "techniques": technique_counts(case, names),
        "mitigations": [_mitigation(m) for m in case.mitigations],
        "measures": measures_for(techniques_seen(case), cves_seen(case)),
    }


def summary(case: CaseResult) -> dict[str, int]:
    status = Counter(str(e.status) for e in case.evidence)
    return {
        "inputs": len(case.evidence),
        **{s.value: status.get(s.value, 0) for s in Status},
        "warnings": len(case.warnings),
        "findings": len(case.findings),
        "incidents": len(case.incidents),
        "campaigns": len(case.campaigns),
        **exposure_section.counts(case),
    }


def _input(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e.get(k) for k in ("path", "status", "format", "reason", "size", "sha256")}


def incident(i: Incident, findings: dict[str, Finding], names: dict[str, str]) -> dict[str, Any]:
    mine = [findings[f] for f in i.finding_ids if f in findings]
    return {
        "id": i.id,
        "ref": short(i.id),
        "title": i.title,
        "when": span(i.first_seen, i.last_seen),
        "victim": i.victim or "unknown",
        "severity": str(i.severity),
        "what": _what(mine),
        "sources": sorted({f.provenance.where() for f in mine})[:MAX_WHAT],
        "techniques": [_technique(t, names) for t in i.techniques],
        "reasons": [_reason(r) for r in top_reasons(r for f in mine for r in f.reasons)],
    }


def _what(findings: list[Finding]) -> list[str]:
    """The incident's findings, strongest first, at most MAX_WHAT of them."""
    ranked = sorted(findings, key=lambda f: -f.score)
    lines = [f"{f.title} ({f.detector}, score {f.score:g})" for f in ranked[:MAX_WHAT]]
    if len(ranked) > MAX_WHAT:
        lines.append(f"and {len(ranked) - MAX_WHAT} more finding(s)")
    return lines


def campaign(
    c: Campaign,
    incidents: dict[str, Incident],
    attributions: Sequence[Attribution],
    names: dict[str, str],
    reported: Sequence[str] = (),
) -> dict[str, Any]:
    members = [incidents[i] for i in c.incident_ids if i in incidents]
    return {
        "id": c.id,
        "ref": short(c.id),
        "name": c.name,
        "when": span(c.first_seen, c.last_seen),
        "victims": list(c.victims) or sorted({i.victim for i in members if i.victim}),
        "incidents": [
            {"ref": short(i.id), "title": i.title, "when": span(i.first_seen, i.last_seen)}
            for i in members
        ],
        "techniques": [_technique(t, names) for t in c.techniques],
        "why": link_reasons(c),
        "joints": joints(c, incidents),
        "attribution": attribution(attributions),
        "reported_as": list(reported),
    }


def reported_actors(case: CaseResult) -> dict[str, list[str]]:
    """Per campaign, the actors its reported incidents (STIX, MISP) are attributed to by their
    source. A claim, shown beside the verdict and never scored for the incident it came with:
    its indicators count as attributed intel for the other incidents of the case."""
    by_finding = {
        f.id: f.extra.get("claimed_actors") or ()
        for f in case.findings
        if f.extra.get("claimed_actors")
    }
    if not by_finding:
        return {}
    incident_claims = {
        i.id: {a for fid in i.finding_ids for a in by_finding.get(fid, ())} for i in case.incidents
    }
    return {
        c.id: sorted({a for i in c.incident_ids for a in incident_claims.get(i, ())})
        for c in case.campaigns
        if any(incident_claims.get(i) for i in c.incident_ids)
    }


def _importance(c: dict[str, Any]) -> tuple[bool, int, str]:
    """Attributed campaigns first, then the larger ones, then by time."""
    return (not c["attribution"]["attributed"], -len(c["incidents"]), c["when"])


def actors(campaigns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The headline: each attributed actor with its campaigns, incidents and best confidence;
    the unattributed rest as one line."""
    rows: dict[str, dict[str, Any]] = {}
    for c in campaigns:
        a = c["attribution"]
        top = a["candidates"][0] if a["attributed"] else None
        key = f"{top['actor']} {top['attack_id']}".strip() if top else "unattributed"
        row = rows.setdefault(
            key, {"actor": key, "campaigns": 0, "incidents": 0, "confidence": 0.0}
        )
        row["campaigns"] += 1
        row["incidents"] += len(c["incidents"])
        row["confidence"] = max(row["confidence"], top["confidence"] if top else 0.0)
    return sorted(rows.values(), key=lambda r: (r["actor"] == "unattributed", -r["incidents"]))


def link_reasons(c: Campaign) -> list[dict[str, Any]]:
    """Why incidents are linked: each link reason code with how many links share it and an example."""
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for link in c.links:
        for r in link.reasons:
            counts[r.code] += 1
            example.setdefault(r.code, r.detail)
    return [{"code": k, "links": n, "detail": example[k]} for k, n in counts.most_common()]


def joints(c: Campaign, incidents: dict[str, Incident]) -> dict[str, Any]:
    """The incidents a large campaign hangs on (link/campaigns.py ``_joints``), for the reader to
    judge whether it is one operation or several chained through them."""
    found = c.extra.get("joints") or []
    if not found:
        return {}
    listed = []
    for j in found:
        inc = incidents.get(j["incident"])
        listed.append(
            {
                "ref": short(j["incident"]),
                "title": inc.title if inc else "",
                "parts": " + ".join(str(n) for n in j["parts"]),
            }
        )
    return {"count": c.extra.get("joint_count", len(found)), "listed": listed}


# Below this a best candidate's confidence shows as 0.00: nothing specific points to it, and it is
# called the closest profile, not a candidate (the run summary words it alike).
NOTHING_SPECIFIC = 0.005


def attribution(ranked: Sequence[Attribution]) -> dict[str, Any]:
    """Ranked candidates, the Diamond evidence of the best one, and the ACH table."""
    ranked = sorted(ranked, key=lambda a: (a.rank, -a.confidence))
    best = ranked[0] if ranked else None
    if best is None:
        verdict = "unattributed (no candidate actor)"
    elif best.attributed:
        verdict = f"{best.actor} {best.attack_id or ''} (confidence {best.confidence:.2f})".strip()
    else:
        verdict = (
            f"unattributed (best candidate {best.actor} at {best.confidence:.2f} is too weak)"
            if best.confidence >= NOTHING_SPECIFIC
            else f"unattributed (nothing specific points to an actor; closest profile {best.actor})"
        )
    return {
        "verdict": verdict,
        "attributed": bool(best and best.attributed),
        "candidates": [
            {
                "rank": a.rank,
                "actor": a.actor,
                "attack_id": a.attack_id or "",
                "confidence": round(a.confidence, 2),
                "attributed": a.attributed,
                "for": len(a.evidence),
                "against": len(a.against),
            }
            for a in ranked
        ],
        "vertices": vertices(best.evidence) if best else {},
        "ach": ach(ranked[:ACH_COLUMNS]),
    }


def vertices(evidence: Iterable[Reason]) -> dict[str, list[dict[str, Any]]]:
    """Evidence grouped by the Diamond vertex its code starts with (``capability:...``)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in evidence:
        vertex = r.code.split(":", 1)[0] if ":" in r.code else "other"
        out[vertex if vertex in VERTICES else "other"].append(_reason(r))
    return {v: out[v] for v in (*VERTICES, "other") if out.get(v)}


def ach(ranked: Sequence[Attribution]) -> dict[str, Any]:
    """Analysis of competing hypotheses: each kind of evidence (reason code) against each candidate.

    ``cells`` holds the marks; ``notes`` the candidate's own wording where it differs from the row's
    (``capability:techniques`` is "5 of 7 techniques" for one actor and "2 of 90" for another).
    """
    rows: dict[str, dict[str, Any]] = {}
    blank = [""] * len(ranked)
    for col, a in enumerate(ranked):
        for mark, reasons in (("consistent", a.evidence), ("inconsistent", a.against)):
            for r in reasons:
                row = rows.setdefault(
                    r.code,
                    {
                        "code": r.code,
                        "detail": r.detail,
                        "cells": list(blank),
                        "notes": list(blank),
                    },
                )
                row["cells"][col] = mark
                row["notes"][col] = "" if r.detail == row["detail"] else r.detail
    return {"candidates": [a.actor for a in ranked], "rows": list(rows.values())}


def top_reasons(reasons: Iterable[Reason], n: int = TOP_REASONS) -> list[Reason]:
    seen: dict[tuple[str, str], Reason] = {}
    for r in reasons:
        seen.setdefault((r.code, r.detail), r)
    return sorted(seen.values(), key=lambda r: -r.weight)[:n]


def techniques_seen(case: CaseResult) -> list[str]:
    """Techniques of the incidents, or of the findings when nothing was grouped yet."""
    source: Iterable[Incident | Finding] = case.incidents or case.findings
    conditions = (f for f in case.findings if is_condition(f))  # open exposures too
    return sorted({t for x in (*source, *conditions) for t in x.techniques})


def technique_counts(case: CaseResult, names: dict[str, str]) -> list[dict[str, Any]]:
    """Each technique with the number of incidents (or findings) showing it, most frequent first."""
    source: Iterable[Incident | Finding] = case.incidents or case.findings
    counts = Counter(t for x in source for t in x.techniques)
    return [{**_technique(t, names), "count": n} for t, n in sorted(counts.items(), key=_by_count)]


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def cves_seen(case: CaseResult) -> list[str]:
    found = {o.value for f in case.findings for o in f.observations if o.kind is Kind.CVE}
    found |= {o.value for i in case.incidents for o in i.observations if o.kind is Kind.CVE}
    return sorted(found)


def _technique_names(case: CaseResult, kb: KnowledgeBase | None) -> dict[str, str]:
    if kb is None:
        return {}
    names = {}
    for tid in techniques_seen(case) + [t for c in case.campaigns for t in c.techniques]:
        info = kb.technique(tid)
        if info and info.get("name"):
            names[tid] = str(info["name"])
    return names


def _technique(tid: str, names: dict[str, str]) -> dict[str, str]:
    return {"id": tid, "name": names.get(tid, "")}


def _reason(r: Reason) -> dict[str, Any]:
    return {"code": r.code, "detail": r.detail, "technique": r.technique or "", "weight": r.weight}


def _mitigation(m: dict[str, Any]) -> dict[str, Any]:
    description = str(m.get("description") or "")
    first = description.split(". ")[0].strip()
    return {
        "id": m.get("id", ""),
        "name": m.get("name", ""),
        "techniques": list(m.get("techniques") or []),
        "description": first + ("." if first and not first.endswith(".") else ""),
    }


def _of(attributions: Sequence[Attribution], campaign_id: str) -> list[Attribution]:
    return [a for a in attributions if a.campaign_id == campaign_id]


def short(record_id: str) -> str:
    """A short reference for a record id: ``incident--1a2b3c4d``."""
    kind, _, rest = record_id.partition("--")
    return f"{kind}--{rest[:8]}" if rest else record_id


def stamp(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "unknown"


def span(first: datetime | None, last: datetime | None) -> str:
    if first is None and last is None:
        return "unknown"
    if first is None or last is None or first == last:
        return stamp(first or last)
    return f"{stamp(first)} – {stamp(last)}"
