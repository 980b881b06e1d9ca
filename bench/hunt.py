"""Speed of the hunt: the full SigmaHQ Windows rule set over >= 1,000,000 events, against Zircolite.

aptlink: the EVTX attack samples are parsed once (parse rate reported on its own), then the parsed
Arrow rows are replicated in memory to >= 1 M events and streamed in batches through the engine on
two worker processes (match rate, wall time, peak RSS of parent and workers). Two batch shapes:
``--copies`` samples per batch (the default run) and one copy per batch, where no value repeats
because of the replication itself.

Zircolite (the baseline, run in the same invocation): ``--zircolite-dir``/``--zircolite-python`` point
at a fetched Zircolite and its venv; it runs over the samples (``--zircolite-replicas 1``) or over N
symlinked copies of them with ``--unified-db`` (N = 122 gives 1,007,110 events; that takes Zircolite
tens of minutes). Its events/s and peak RSS come from its own summary and ``/usr/bin/time -v``.

Run: ``.venv/bin/python bench/hunt.py``
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pyarrow as pa  # noqa: E402

from aptlink.evidence.base import ParseContext  # noqa: E402
from aptlink.evidence.evtx import read_evtx  # noqa: E402
from aptlink.hunt.events import to_table  # noqa: E402
from aptlink.hunt.rules import load_rules  # noqa: E402
from aptlink.hunt.runner import HuntResult, Part, run_tasks  # noqa: E402

SHARED = (REPO / ".." / "shared" / "data").resolve()
SAMPLES = SHARED / "evtx" / "attack-samples"
RULES = SHARED / "sigma" / "rules" / "windows"


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident set of this process and of its largest reaped child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def parse_samples() -> tuple[pa.Table, float, float, int]:
    started, cpu = time.perf_counter(), cpu_seconds()
    rows = []
    files = sorted(SAMPLES.rglob("*.evtx"))
    for path in files:
        rows.extend(read_evtx(path, ParseContext()))
    table = to_table(rows)
    return table, time.perf_counter() - started, cpu_seconds() - cpu, len(files)


_BASE: pa.Table | None = None


def replicate(copies: int, part: Part, ctx: ParseContext) -> Iterator[pa.Table]:
    """Runs in the worker: one batch of ``copies`` copies of the parsed samples (the parsed Arrow
    rows, shared with the parent by fork), so no table crosses a process boundary."""
    assert _BASE is not None
    yield pa.concat_tables([_BASE] * copies).combine_chunks()


def run_aptlink(
    base: pa.Table, ruleset, target: int, copies: int, workers: int
) -> dict[str, float]:
    global _BASE
    _BASE = base
    tasks = [copies] * -(-target // (base.num_rows * copies))
    started, cpu = time.perf_counter(), cpu_seconds()
    result = run_tasks(tasks, replicate, ruleset, workers=workers, result=HuntResult())
    wall = time.perf_counter() - started
    return {
        "events": result.events,
        "detections": len(result.detections),
        "rules_hit": len({d.rule_id for d in result.detections}),
        "wall": wall,
        "cpu": cpu_seconds() - cpu,
        "events_per_s": result.events / wall,
    }


def zircolite_input(replicas: int) -> Path:
    if replicas <= 1:
        return SAMPLES
    root = Path(f"/tmp/aptlink-bench-zircolite-x{replicas}")
    files = sorted(SAMPLES.rglob("*.evtx"))
    for copy in range(replicas):
        folder = root / f"c{copy}"
        folder.mkdir(parents=True, exist_ok=True)
        for number, path in enumerate(files):
            link = folder / f"f{number}.evtx"
            if not link.exists():
                link.symlink_to(path)
    return root


def run_zircolite(zdir: Path, python: str, replicas: int) -> dict[str, object]:
    out = Path(f"/tmp/aptlink-bench-zircolite-x{replicas}.json")
    cmd = ["/usr/bin/time", "-v", python, "zircolite.py", "-e", str(zircolite_input(replicas)),
           "-r", str(RULES), "-o", str(out), "-q", "--no-parallel"]  # fmt: skip
    if replicas > 1:
        cmd.append("--unified-db")
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=zdir, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    log = done.stdout + done.stderr
    return {
        "wall": wall,
        "events": _figure(r"Events\s+([\d,]+)", log),
        "events_per_s": _figure(r"Throughput\s+([\d,.]+)\s+events/s", log),
        "peak_rss_mb": (_figure(r"Maximum resident set size \(kbytes\): (\d+)", log) or 0) / 1024,
        "cpu": (_figure(r"User time \(seconds\): ([\d.]+)", log) or 0)
        + (_figure(r"System time \(seconds\): ([\d.]+)", log) or 0),
        "exit": done.returncode,
    }


def _figure(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1).replace(",", "")) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=8, help="sample copies per batch")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--zircolite-dir", type=Path, default=Path("/tmp/zircolite"))
    parser.add_argument("--zircolite-python", default="/tmp/zvenv/bin/python")
    parser.add_argument("--zircolite-replicas", type=int, default=1)
    parser.add_argument("--no-zircolite", action="store_true")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    ruleset = load_rules([RULES])
    print(f"rules: {len(ruleset.rules)} loaded, {len(ruleset.problems)} not loaded, "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    base, wall, cpu, files = parse_samples()
    from aptlink.hunt.runner import hunt

    started, cpu0 = time.perf_counter(), cpu_seconds()
    both = hunt([SAMPLES], ruleset, workers=args.workers)
    print(f"hunt over the sample files (parse + match in {args.workers} workers): "
          f"{both.events} events, {len(both.detections)} detections, "
          f"{time.perf_counter() - started:.1f} s wall / {cpu_seconds() - cpu0:.1f} s CPU "
          f"(parse {both.parse_seconds:.1f} s, match {both.match_seconds:.1f} s, summed over workers)")  # fmt: skip
    print(f"parse: {files} .evtx files, {base.num_rows} events, {base.num_columns} fields, "
          f"{wall:.2f} s wall / {cpu:.2f} s CPU = {base.num_rows / wall:,.0f} events/s "
          f"(evtx -> JSON -> flat rows -> Arrow)")  # fmt: skip
    print(f"parsed table: {base.nbytes / 2**20:.1f} MB for {base.num_rows} events")

    for copies in (args.copies, 1):
        figures = run_aptlink(base, ruleset, args.events, copies, args.workers)
        own, kids = peak_rss_mb()
        print(f"aptlink match, {copies} sample cop{'ies' if copies > 1 else 'y'} per batch "
              f"({base.num_rows * copies} rows), {args.workers} workers: {figures['events']:,} events, "
              f"{figures['detections']:,} detections from {figures['rules_hit']} rules, "
              f"{figures['wall']:.1f} s wall / {figures['cpu']:.1f} s CPU = "
              f"{figures['events_per_s']:,.0f} events/s; peak RSS parent {own:.0f} MB, "
              f"worker {kids:.0f} MB")  # fmt: skip
        projected = figures["events"] / base.num_rows
        print(f"  parse + match for the same events: {wall * projected + figures['wall']:.0f} s "
              f"projected (parse is per file, single process)")  # fmt: skip

    if not args.no_zircolite and (args.zircolite_dir / "zircolite.py").is_file():
        z = run_zircolite(args.zircolite_dir, args.zircolite_python, args.zircolite_replicas)
        print(f"zircolite x{args.zircolite_replicas}: {z['events']} events, {z['wall']:.1f} s wall / "
              f"{z['cpu']:.1f} s CPU, {z['events_per_s']} events/s (its own figure, parse + match), "
              f"peak RSS {z['peak_rss_mb']:.0f} MB, exit {z['exit']}")  # fmt: skip
    else:
        print("zircolite: not run (no --zircolite-dir with zircolite.py)")


if __name__ == "__main__":
    main()
