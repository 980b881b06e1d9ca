"""Case work: run the pipeline against a case folder (store + reports) and summarise it.

A case accumulates: each investigate run adds its inputs and findings to the case store, then
grouping, linking and attribution run over everything the case holds, so evidence added later links
with evidence added before.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aptlink import pipeline
from aptlink.kb import KnowledgeBase
from aptlink.pipeline import CaseResult, Progress
from aptlink.report import exposures, html, jsonreport, markdown, view
from aptlink.report.measures import measures_for
from aptlink.report.view import (
    NOTHING_SPECIFIC,
    cves_seen,
    reported_actors,
    techniques_seen,
)
from aptlink.store import CaseStore


def run_investigation(
    evidence: Sequence[Path],
    case_dir: Path,
    kb: KnowledgeBase | None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    case_dir.mkdir(parents=True, exist_ok=True)
    options = {"case_dir": str(case_dir)}
    # The run is not linked on its own: the whole case (this run and what the store held) is.
    run = pipeline.investigate(evidence, kb, options=options, progress=progress, link=False)
    with CaseStore.open(case_dir) as store:
        added = store.save_inputs(run.evidence, run.findings, run.warnings)
        case = store.load()
        started = time.perf_counter()
        pipeline.analyse(case, kb)
        run.timings["link"] = time.perf_counter() - started
        store.save_analysis(case)
    summary = finish(case, case_dir, kb)
    summary["run"] = {
        "inputs": [e.to_dict() for e in run.evidence],
        "rows_added": added,
        "timings": run.timings,
    }
    return summary


def rerun(case_dir: Path, kb: KnowledgeBase | None, stage: str) -> dict[str, Any]:
    with CaseStore.open(case_dir, create=False) as store:
        case = store.load()
        if stage == "link":
            pipeline.analyse(case, kb)
        else:
            pipeline.reattribute(case, kb)
        store.save_analysis(case)
    return finish(case, case_dir, kb)


def finish(case: CaseResult, case_dir: Path, kb: KnowledgeBase | None) -> dict[str, Any]:
    json_path = jsonreport.write(case, case_dir / "report.json")
    built = view.build(case, kb)  # once for both: it resolves every actor and technique
    md_path = markdown.write(case, case_dir / "report.md", kb, built)
    html_path = html.write(case, case_dir / "report.html", kb, built)
    return summarise(case, reports=[str(md_path), str(html_path), str(json_path)])


def summarise(case: CaseResult, reports: list[str]) -> dict[str, Any]:
    ranked = sorted((a for a in case.attributions if a.rank == 1), key=lambda a: -a.confidence)
    top = [a.to_dict() for a in ranked]  # the names first, the weakest candidates last
    return {
        "summary": jsonreport.summary(case),
        "attributions": top,
        "campaigns": campaign_digest(case),
        "exposures": [e for e in exposures.rows(case) if e["status"] == exposures.OPEN],
        "measures": top_measures(case),
        "mitigations": case.mitigations[:5],
        "reports": reports,
    }


def top_measures(case: CaseResult, shown: int = 6) -> list[dict[str, Any]]:
    """The concrete measures for what the case shows, in the catalogue's order of priority."""
    techniques = set(techniques_seen(case))  # open exposures included
    cves = set(cves_seen(case))
    found = measures_for(techniques, cves)
    return [{"id": m["id"], "title": m["title"], "because": m["because"]} for m in found[:shown]]


def campaign_digest(case: CaseResult, actors_shown: int = 3) -> list[dict[str, Any]]:
    """Each campaign with its size, period, victims and best-ranked actors, largest first."""
    reported = reported_actors(case)
    ranked: dict[str, list[dict[str, Any]]] = {}
    for a in sorted(case.attributions, key=lambda a: a.rank):
        if a.rank <= actors_shown:
            ranked.setdefault(a.campaign_id, []).append(a.to_dict())
    digest = [
        {
            "id": c.id,
            "name": c.name,
            "incidents": len(c.incident_ids),
            "first_seen": c.first_seen.date().isoformat() if c.first_seen else None,
            "last_seen": c.last_seen.date().isoformat() if c.last_seen else None,
            "victims": list(c.victims),
            "actors": ranked.get(c.id, []),
            "reported_as": reported.get(c.id, []),
            "hangs_on": int(c.extra.get("joint_count") or 0),
        }
        for c in case.campaigns
    ]
    return sorted(digest, key=_digest_order)


def _digest_order(c: dict[str, Any]) -> tuple[bool, int, str, str]:
    """Attributed campaigns first (in a mailbox of spam, the one actor named is the news), then
    the larger ones, then by time, as in the reports."""
    named = any(a["attributed"] for a in c["actors"])
    return (not named, -c["incidents"], c["first_seen"] or "", c["id"])


def render_summary(summary: dict[str, Any]) -> str:
    s = summary["summary"]
    lines = [
        f"inputs {s['inputs']} (analysed {s['analysed']}, skipped {s['skipped']}, "
        f"failed {s['failed']})  findings {s['findings']}  incidents {s['incidents']}  "
        f"campaigns {s['campaigns']}  open exposures {s.get('open_exposures', 0)}",
    ]
    campaigns = summary.get("campaigns", [])
    for c in campaigns[:CAMPAIGNS_SHOWN]:
        lines += _campaign_lines(c)
    if len(campaigns) > CAMPAIGNS_SHOWN:
        lines.append(f"  ... {len(campaigns) - CAMPAIGNS_SHOWN} more campaigns in the report")
    lines += _exposure_lines(summary.get("exposures", []))
    if summary.get("measures") or summary["mitigations"]:
        lines.append("preventive measures:")
    for m in summary.get("measures", []):
        lines.append(f"  - {m['title']} (for {', '.join(m['because'][:4])})")
    for m in summary["mitigations"][:3]:
        lines.append(f"  - ATT&CK {m.get('id', '')} {m.get('name', '')}")
    lines += [f"report: {r}" for r in summary["reports"]]
    return "\n".join(lines)


CAMPAIGNS_SHOWN = 6
EXPOSURES_SHOWN = 6


def _exposure_lines(open_exposures: list[dict[str, Any]]) -> list[str]:
    """Vulnerable devices at organisations with no attack in the case: to patch, not campaigns."""
    if not open_exposures:
        return []
    lines = [
        "open exposures (no attack on these organisations in the case; patch, not attributed):"
    ]
    for e in open_exposures[:EXPOSURES_SHOWN]:
        cves = ", ".join(
            c["cve"] + (f" ({', '.join(c['actors'][:3])})" if c["actors"] else "")
            for c in e["cves"][:4]
        )
        lines.append(f"  - {e['asset']} at {e['organisation'] or '-'}: {e['product']}: {cves}")
    if len(open_exposures) > EXPOSURES_SHOWN:
        lines.append(f"  ... {len(open_exposures) - EXPOSURES_SHOWN} more in the report")
    return lines


RUNNER_UP_MIN = 0.05


def _campaign_lines(c: dict[str, Any]) -> list[str]:
    period = f"{c['first_seen']} to {c['last_seen']}" if c["first_seen"] else "undated"
    victims = ", ".join(c["victims"][:4]) + (" ..." if len(c["victims"]) > 4 else "")
    lines = [c["name"], f"  {c['incidents']} incidents, {period}, victims: {victims or '-'}"]
    if c.get("hangs_on"):
        lines.append(
            f"  hangs on {c['hangs_on']} incident(s): without one of them it falls apart "
            "(maybe several operations chained; the report lists them)"
        )
    if not c["actors"]:
        lines.append("  no candidate actor")
    if c.get("reported_as"):
        lines.append(
            f"  reported by its source as: {', '.join(c['reported_as'])} (a claim, not scored)"
        )
    for a in c["actors"]:
        if a["rank"] > 1 and a["confidence"] < RUNNER_UP_MIN:
            continue  # a runner-up at ~0 says nothing; the report has the full table
        actor = f"{a['actor']} {a['attack_id'] or ''}".strip()
        verdict = "" if a["attributed"] else "  (below the attribution threshold)"
        if a["rank"] == 1 and not a["attributed"]:
            best = "closest profile" if a["confidence"] < NOTHING_SPECIFIC else "best"
            actor, verdict = f"unattributed ({best}: {actor})", ""
        lines.append(f"  {a['rank']}. {actor} confidence {a['confidence']:.2f}{verdict}")
    return lines
