"""Report speed: every format for a synthetic case of N incidents (one phishing finding each, 12
observations, grouped 5 to a campaign, one attributed), and STIX with the stix2 round trip forced
on. The baseline in the same run is ``json.dumps`` of the records' ``to_dict()`` (what any export
must at least do).

    .venv/bin/python bench/report.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from aptlink.model import Attribution, Campaign, Incident
from aptlink.pipeline import CaseResult
from aptlink.report import FORMATS, stix, write

sys.path.insert(0, str(Path(__file__).parent))
from store import findings  # the store benchmark's synthetic findings


def case(n: int) -> CaseResult:
    found = findings(n)
    incidents = [
        Incident(
            title=f.title,
            finding_ids=(f.id,),
            techniques=f.techniques,
            observations=f.observations,
            victim=f"victim {k % 40}",
        )
        for k, f in enumerate(found)
    ]
    campaigns = [
        Campaign(name=f"campaign {k}", incident_ids=tuple(i.id for i in incidents[k : k + 5]))
        for k in range(0, n, 5)
    ]
    attributions = [
        Attribution(campaign_id=c.id, actor="MirrorFace", attack_id="G1054", confidence=0.8)
        for c in campaigns[:1]
    ]
    return CaseResult(
        findings=found, incidents=incidents, campaigns=campaigns, attributions=attributions
    )


def timed(label: str, fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    took = time.perf_counter() - start
    print(f"{label:<32} {took:8.2f} s")
    return took


def main(n: int) -> None:
    data = case(n)
    print(f"{n} incidents, {len(data.campaigns)} campaigns")
    everything = (*data.findings, *data.incidents, *data.campaigns)
    timed("baseline: json.dumps(to_dict())", lambda: json.dumps([x.to_dict() for x in everything]))
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, (_, name) in FORMATS.items():
            timed(f"{fmt}", lambda f=fmt, p=Path(tmp) / name: write(f, data, p, None))
        timed("stix, stix2-validated", lambda: stix.as_dict(data, None, validate=True))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
