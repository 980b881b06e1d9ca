"""Scale of linking and attribution: wall time and peak memory of link + attribute for 10 k and
100 k generated incidents (about 10 observations each), each size in its own process so that the
peak resident memory is its own. Target: 100 k incidents in <= 60 s and <= 4 GB, and 10x the
incidents for <= 12x the time. The baseline printed beside it is the first skeleton's linking
(any shared indicator joins two incidents, no weights), timed in the same process.

    .venv/bin/python bench/link_scale.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(n: int) -> dict[str, float]:
    import linkgen
    from link_scenario import naive_groups

    from aptlink.kb import KnowledgeBase
    from aptlink.link.attribute import attribute
    from aptlink.link.campaigns import link_incidents

    attack = REPO / ".." / "shared" / "data" / "attack" / "enterprise-attack.json"
    kb = KnowledgeBase.load(attack_path=attack if attack.is_file() else None)
    kb.warninglisted("example.org")  # load the warninglists before the clock starts
    actors = [a for a in kb.actors() if len(a.techniques) >= 12 and a.software][:40]
    per_actor = max(1, round(n * 0.8 / 20 / len(actors)))
    t = time.perf_counter()
    s = linkgen.generate(actors, campaigns_per_actor=per_actor, commodity=n // 5, seed=n)
    generated = time.perf_counter() - t
    observations = sum(len(i.observations) + len(i.techniques) for i in s.incidents)
    before = rss_mb()
    t, c = time.perf_counter(), time.process_time()
    campaigns = link_incidents(s.incidents, kb)
    linked, linked_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    atts = attribute(campaigns, s.incidents, kb)
    attributed, attributed_cpu = time.perf_counter() - t, time.process_time() - c
    peak = rss_mb()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    t = time.perf_counter()
    naive_groups(s.incidents, kb)
    naive = time.perf_counter() - t
    return {
        "incidents": len(s.incidents),
        "observations": observations,
        "generate_s": generated,
        "link_s": linked,
        "attribute_s": attributed,
        "link_cpu_s": linked_cpu,
        "attribute_cpu_s": attributed_cpu,
        "campaigns": len(campaigns),
        "attributions": len(atts),
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "worker_peak_rss_mb": workers,
        "naive_link_s": naive,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    rows = []
    print(f"load average at the start {load()}")
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        total = r["link_s"] + r["attribute_s"]
        print(
            f"{r['incidents']:7} incidents {r['observations']:8} observations: link {r['link_s']:.1f} s "
            f"+ attribute {r['attribute_s']:.1f} s = {total:.1f} s; peak RSS {r['peak_rss_mb']:.0f} MB "
            f"(after generating the input {r['rss_before_mb']:.0f} MB; largest attribution worker "
            f"{r['worker_peak_rss_mb']:.0f} MB, pages shared with the parent); {r['campaigns']} campaigns; "
            f"baseline naive linking {r['naive_link_s']:.1f} s"
        )
        print(
            f"        CPU: link {r['link_cpu_s']:.1f} s + attribute {r['attribute_cpu_s']:.1f} s "
            f"= {r['link_cpu_s'] + r['attribute_cpu_s']:.1f} s (wall above; load average now {load()})"
        )
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        ratio_n = b["incidents"] / a["incidents"]
        ratio_t = (b["link_s"] + b["attribute_s"]) / max(1e-9, a["link_s"] + a["attribute_s"])
        print(f"{ratio_n:.0f}x the incidents cost {ratio_t:.1f}x the time (target <= 12x)")
        cpu_t = (b["link_cpu_s"] + b["attribute_cpu_s"]) / max(
            1e-9, a["link_cpu_s"] + a["attribute_cpu_s"]
        )
        print(f"... and {cpu_t:.1f}x the CPU time (a shared machine moves wall time more than CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
