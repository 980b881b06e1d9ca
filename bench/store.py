"""Case store speed on SQLite: save_inputs of N synthetic findings (12 observations and 3 reasons
each, one file each), the same save again (must add 0 rows), load() and save_analysis. The baseline in the same run is the least a store can do: plain sqlite3
executemany of the same finding records as JSON text into one table, one transaction.

    .venv/bin/python bench/store.py [N]
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from aptlink.model import Finding, Incident, Kind, Observation, Provenance, Reason
from aptlink.pipeline import CaseResult
from aptlink.store import CaseStore


def findings(n: int) -> list[Finding]:
    out = []
    for i in range(n):
        prov = Provenance(file=f"mail/{i}.eml", sha256=f"{i:064x}", record="1", chain=("eml",))
        shared = [
            f"sender{i % 50}@gmail.com",
            f"evil{i % 20}.example",
            f"https://x{i % 30}.example/a",
        ]
        own = [f"{i}-{k}.docx.lnk" for k in range(3)] + [f"{i * 7 + k:064x}" for k in range(6)]
        kinds = [Kind.EMAIL, Kind.DOMAIN, Kind.URL] + [Kind.FILE_NAME] * 3 + [Kind.SHA256] * 6
        obs = tuple(
            Observation(kind=k, value=v, provenance=prov, context={"n": j})
            for j, (k, v) in enumerate(zip(kinds, shared + own, strict=True))
        )
        reasons = tuple(
            Reason(code=f"capability:r{k}", detail=f"reason {k} of {i}", weight=k) for k in range(3)
        )
        out.append(
            Finding(
                detector="phishing",
                title=f"mail {i}",
                severity="high",
                score=80,
                provenance=prov,
                reasons=reasons,
                observations=obs,
                techniques=("T1566.001",),
            )
        )
    return out


def baseline(path: Path, found: list[Finding]) -> float:
    start = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("create table f (id text primary key, record text)")
    with db:
        db.executemany(
            "insert or ignore into f values (?, ?)",
            [(f.id, json.dumps(f.to_dict())) for f in found],
        )
    db.close()
    return time.perf_counter() - start


def timed(label: str, n: int, fn: object) -> object:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    took = time.perf_counter() - start
    print(f"{label:<34} {took:8.3f} s  {n / took:10.0f} findings/s")
    return result


def main(n: int) -> None:
    found = findings(n)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = baseline(root / "baseline.db", found)
        print(
            f"{'baseline: sqlite3 executemany JSON':<34} {base:8.3f} s  {n / base:10.0f} findings/s"
        )
        with CaseStore.open(root / "case") as store:
            added = timed("save_inputs (new)", n, lambda: store.save_inputs([], found, []))
            again = timed("save_inputs (same again)", n, lambda: store.save_inputs([], found, []))
            case = timed("load()", n, store.load)
            incidents = [
                Incident(title=f.title, finding_ids=(f.id,), techniques=f.techniques) for f in found
            ]
            analysis = CaseResult(incidents=incidents)
            timed("save_analysis (1 incident each)", n, lambda: store.save_analysis(analysis))
            size = (root / "case" / "case.db").stat().st_size
        print(f"rows added first: {added}")
        print(f"rows added again: {again}")
        assert isinstance(case, CaseResult) and case.findings == found, "load() must round-trip"
        print(
            f"case.db {size / 1e6:.1f} MB for {n} findings; baseline.db "
            f"{(root / 'baseline.db').stat().st_size / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
