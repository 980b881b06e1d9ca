"""ATT&CK Navigator layer (format 4.5) of the techniques a case shows, scored by the number of
incidents showing each, with the incidents named in the comment."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from aptlink import __version__
from aptlink.kb import KnowledgeBase
from aptlink.model import Finding, Incident
from aptlink.pipeline import CaseResult
from aptlink.report.view import short

VERSIONS = {"attack": "19", "navigator": "5.1.0", "layer": "4.5"}
COLOURS = ["#fff3b0", "#ff9f43", "#d63031"]  # few -> many incidents


def layer(
    case: CaseResult, kb: KnowledgeBase | None = None, name: str = "aptlink case"
) -> dict[str, Any]:
    """The layer: one entry per technique seen, parents of sub-techniques expanded to show them."""
    seen = _seen(case)
    entries = [_entry(tid, refs) for tid, refs in sorted(seen.items())]
    parents = sorted({t.split(".")[0] for t in seen if "." in t} - seen.keys())
    entries += [{"techniqueID": p, "showSubtechniques": True} for p in parents]
    top = max((len(r) for r in seen.values()), default=1)
    return {
        "name": name,
        "versions": {**VERSIONS, "attack": attack_version(kb)},
        "domain": "enterprise-attack",
        "description": f"Techniques seen in {len(case.incidents)} incident(s), by aptlink {__version__}",
        "sorting": 3,  # by score, descending
        "hideDisabled": False,
        "techniques": entries,
        "gradient": {"colors": list(COLOURS), "minValue": 0, "maxValue": top},
        "legendItems": [],
        "metadata": [{"name": "generator", "value": f"aptlink {__version__}"}],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }


def attack_version(kb: KnowledgeBase | None) -> str:
    """The major ATT&CK version of the loaded bundle (Navigator warns on a mismatch), else 19."""
    version = str(getattr(getattr(kb, "attack", None), "version", "") or "")
    major = version.split(".")[0]
    return major if major.isdigit() else VERSIONS["attack"]


def _seen(case: CaseResult) -> dict[str, list[str]]:
    """Technique -> refs of the incidents showing it (findings when nothing was grouped yet)."""
    source: list[Incident] | list[Finding] = case.incidents or case.findings
    seen: dict[str, list[str]] = defaultdict(list)
    for x in source:
        for tid in x.techniques:
            seen[tid].append(short(x.id))
    return seen


def _entry(tid: str, refs: list[str]) -> dict[str, Any]:
    shown = ", ".join(refs[:20]) + (f" and {len(refs) - 20} more" if len(refs) > 20 else "")
    return {
        "techniqueID": tid,
        "score": len(refs),
        "comment": f"seen in {len(refs)}: {shown}",
        "enabled": True,
        "showSubtechniques": False,
    }


def write(case: CaseResult, path: Path, kb: KnowledgeBase | None = None) -> Path:
    path.write_text(json.dumps(layer(case, kb), indent=1), encoding="utf-8")
    return path
