"""Concrete preventive measures (data/measures.yaml) matched to the techniques and CVEs of a case."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml

from aptlink.errors import ConfigError
from aptlink.model import TECHNIQUE_RE

WHERE = "aptlink/report/data/measures.yaml"
REQUIRED = frozenset({"id", "title", "action", "sources"})


@cache
def catalogue() -> tuple[dict[str, Any], ...]:
    """The packaged measures, each with id, title, action, techniques, cves and sources."""
    text = resources.files("aptlink.report").joinpath("data/measures.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("measures"), list):
        raise ConfigError("measures.yaml must hold a list under 'measures'", WHERE)
    for m in data["measures"]:
        check(m)
    return tuple(data["measures"])


def check(measure: Any) -> None:
    """A measure has the required fields, and its lists hold plain strings."""
    name = measure.get("id", "?") if isinstance(measure, dict) else "?"
    if not isinstance(measure, dict) or not measure.keys() >= REQUIRED:
        raise ConfigError(f"measure {name} lacks one of {sorted(REQUIRED)}", WHERE)
    for key in ("techniques", "cves", "sources"):
        values = measure.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"measure {name}: {key} must be a list of strings", WHERE)
    bad = [t for t in measure.get("techniques", []) if not TECHNIQUE_RE.match(t)]
    if bad:
        raise ConfigError(f"measure {name}: not ATT&CK technique ids: {bad}", WHERE)


def covers(listed: str, seen: str) -> bool:
    """Parent and sub-technique match both ways: a measure listing T1566 applies to T1566.001 seen,
    and one listing T1566.001 applies when a detector could only say T1566 (phishing of some kind)."""
    return seen == listed or seen.startswith(listed + ".") or listed.startswith(seen + ".")


def measures_for(techniques: Iterable[str], cves: Iterable[str]) -> list[dict[str, Any]]:
    """Measures that apply to what the case shows, with the techniques and CVEs that call for each.

    A measure naming CVEs applies only when one of them was seen, so a patch instruction is never
    given for a device the case does not show.
    """
    seen_t, seen_c = sorted(set(techniques)), {c.upper() for c in cves}
    out = []
    for m in catalogue():
        cves_hit = sorted(seen_c & {c.upper() for c in m.get("cves", [])})
        tech_hit = [t for t in seen_t if any(covers(x, t) for x in m.get("techniques", []))]
        if (m.get("cves") and cves_hit) or (not m.get("cves") and tech_hit):
            out.append({**m, "because": cves_hit + tech_hit})
    return out
