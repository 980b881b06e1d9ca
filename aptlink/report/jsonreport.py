"""report.json: every input with its status, findings, incidents, campaigns, attributions and the
ATT&CK mitigations and the concrete preventive measures (data/measures.yaml) for the techniques seen."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from aptlink import __version__
from aptlink.pipeline import CaseResult
from aptlink.report import exposures
from aptlink.report.measures import measures_for
from aptlink.report.view import cves_seen, techniques_seen


def summary(result: CaseResult) -> dict[str, Any]:
    """The counts at the top of every report: inputs by status, findings, incidents, campaigns."""
    status = Counter(str(e.status) for e in result.evidence)
    return {
        "inputs": len(result.evidence),
        "analysed": status.get("analysed", 0),
        "skipped": status.get("skipped", 0),
        "failed": status.get("failed", 0),
        "findings": len(result.findings),
        "incidents": len(result.incidents),
        "campaigns": len(result.campaigns),
        **exposures.counts(result),
    }


def as_dict(result: CaseResult) -> dict[str, Any]:
    return {
        "aptlink": __version__,
        "summary": summary(result),
        "inputs": [e.to_dict() for e in result.evidence],
        "warnings": [{"where": w.where, "message": w.message} for w in result.warnings],
        "findings": [f.to_dict() for f in result.findings],
        "incidents": [i.to_dict() for i in result.incidents],
        "campaigns": [c.to_dict() for c in result.campaigns],
        "exposures": exposures.rows(result),
        "attributions": [a.to_dict() for a in result.attributions],
        "mitigations": result.mitigations,
        "measures": measures_for(techniques_seen(result), cves_seen(result)),
    }


def write(result: CaseResult, path: Path) -> Path:
    data = as_dict(result)
    try:  # orjson: a few times faster on a case of thousands of findings
        path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    except TypeError:  # what orjson refuses (an integer over 64 bits in evidence), json writes
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
