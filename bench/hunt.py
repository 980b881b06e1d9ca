"""Speed of the hunt: the full SigmaHQ Windows rule set over >= 1,000,000 events, against Zircolite.

One run prints:
- rule load: cold (pySigma parses and compiles every file, then the compiled set is cached) and
  cached (read back from the cache), in a temporary ``APTLINK_CACHE``;
- parse: the EVTX attack samples read in this process (evtx -> JSON -> flat rows -> Arrow), and the
  samples hunted by ``hunt()`` with parse and match in the two workers;
- match: the parsed Arrow rows replicated to >= 1 M events, ONE copy of the samples per batch
  (8,255 rows: no value repeats within a batch because of the replication) streamed through the
  engine on two worker processes. Each copy gets its own record ids (``@record`` + ``#copy``), so
  no two batches are byte-identical; nothing is cached between batches, so that changes nothing
  but honesty. ``--copies N`` adds runs with N copies per batch (values repeat inside a batch);
- wall, CPU seconds (parent + workers), peak RSS (parent, largest worker) and the load average
  (the machine may be shared: CPU seconds are the steadier figure);
- Zircolite (the baseline, same invocation) over the samples, when ``--zircolite-dir`` holds
  zircolite.py and ``--zircolite-python`` its venv; its events/s from its own summary.

Run: ``.venv/bin/python bench/hunt.py`` (``--no-zircolite`` to skip the baseline, ~5 min under load)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from aptlink.evidence.base import ParseContext  # noqa: E402
from aptlink.evidence.evtx import read_evtx  # noqa: E402
from aptlink.hunt.events import META_RECORD, to_table  # noqa: E402
from aptlink.hunt.rules import RuleSet, load_rules  # noqa: E402
from aptlink.hunt.runner import HuntResult, Part, hunt, run_tasks  # noqa: E402

SHARED = (REPO / ".." / "shared" / "data").resolve()
SAMPLES = SHARED / "evtx" / "attack-samples"
RULES = SHARED / "sigma" / "rules" / "windows"


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def parent_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


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


def replicate(task: tuple[int, int], part: Part, ctx: ParseContext) -> Iterator[pa.Table]:
    """Runs in the worker: one batch of ``copies`` copies of the parsed samples (the parsed Arrow
    rows, shared with the parent by fork, so no table crosses a process boundary), each copy's
    record ids suffixed with its copy number."""
    assert _BASE is not None
    number, copies = task
    tables = []
    for copy in range(number * copies, (number + 1) * copies):
        records = pc.binary_join_element_wise(_BASE.column(META_RECORD), pa.scalar(str(copy)), "#")
        position = _BASE.column_names.index(META_RECORD)
        tables.append(_BASE.set_column(position, META_RECORD, records))
    yield pa.concat_tables(tables).combine_chunks() if copies > 1 else tables[0]


def run_aptlink(
    base: pa.Table, ruleset: RuleSet, target: int, copies: int, workers: int
) -> dict[str, float]:
    global _BASE
    _BASE = base
    tasks = [(number, copies) for number in range(-(-target // (base.num_rows * copies)))]
    started, cpu, own = time.perf_counter(), cpu_seconds(), parent_cpu()
    result = run_tasks(tasks, replicate, ruleset, workers=workers, result=HuntResult())
    wall = time.perf_counter() - started
    return {
        "events": result.events,
        "detections": len(result.detections),
        "rules_hit": len({d.rule_id for d in result.detections}),
        "wall": wall,
        "cpu": cpu_seconds() - cpu,
        "events_per_s": result.events / wall,
        "match_seconds": result.match_seconds,
        "parent_cpu": parent_cpu() - own,
    }


def load_both() -> tuple[RuleSet, float, float, float, float]:
    """The rule set compiled cold (and cached), then read from the cache: seconds wall and CPU."""
    os.environ["APTLINK_CACHE"] = tempfile.mkdtemp(prefix="aptlink-bench-cache-")
    started, cpu = time.perf_counter(), cpu_seconds()
    cold = load_rules([RULES])
    cold_wall, cold_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    started, cpu = time.perf_counter(), cpu_seconds()
    cached = load_rules([RULES])
    warm_wall, warm_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert cached == cold, "the cached rule set differs from the compiled one"
    shutil.rmtree(os.environ["APTLINK_CACHE"], ignore_errors=True)
    return cached, cold_wall, cold_cpu, warm_wall, warm_cpu


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
    parser.add_argument(
        "--copies", type=int, nargs="*", default=[], help="extra runs: copies per batch"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--zircolite-dir", type=Path, default=Path("/tmp/zircolite"))
    parser.add_argument("--zircolite-python", default="/tmp/zvenv/bin/python")
    parser.add_argument("--zircolite-replicas", type=int, default=1)
    parser.add_argument("--no-zircolite", action="store_true")
    args = parser.parse_args()

    begun, begun_cpu = time.perf_counter(), cpu_seconds()
    print(f"machine: {os.cpu_count()} cores; load average {_load()} at the start; "
          f"{args.workers} busy processes get {free_cores(args.workers):.1f} cores")  # fmt: skip
    ruleset, cold_wall, cold_cpu, warm_wall, warm_cpu = load_both()
    print(f"rules: {len(ruleset.rules)} loaded, {len(ruleset.problems)} not loaded; "
          f"cold (pySigma + compile + write cache) {cold_wall:.1f} s wall / {cold_cpu:.1f} s CPU, "
          f"cached {warm_wall:.2f} s wall / {warm_cpu:.2f} s CPU")  # fmt: skip

    base, wall, cpu, files = parse_samples()
    print(f"parse, 1 process: {files} .evtx files, {base.num_rows} events, {base.num_columns} "
          f"fields, {wall:.2f} s wall / {cpu:.2f} s CPU = {base.num_rows / wall:,.0f} events/s "
          f"wall, {base.num_rows / cpu:,.0f} events per CPU-second "
          f"(evtx -> JSON -> flat rows -> Arrow; {base.nbytes / 2**20:.1f} MB as Arrow)")  # fmt: skip
    started, cpu0 = time.perf_counter(), cpu_seconds()
    both = hunt([SAMPLES], ruleset, workers=args.workers)
    print(f"hunt() over the sample files (parse + match in {args.workers} workers): "
          f"{both.events} events, {len(both.detections)} detections from "
          f"{len({d.rule_id for d in both.detections})} rules, "
          f"{time.perf_counter() - started:.1f} s wall / {cpu_seconds() - cpu0:.1f} s CPU "
          f"(summed over workers: parse {both.parse_seconds:.1f} s, match {both.match_seconds:.1f} s)")  # fmt: skip

    headline: dict[str, float] = {}
    projected = 0.0
    for copies in (1, *args.copies):
        figures = run_aptlink(base, ruleset, args.events, copies, args.workers)
        own, kids = peak_rss_mb()
        print(f"aptlink match, {copies} sample cop{'ies' if copies > 1 else 'y'} per batch "
              f"({base.num_rows * copies} rows), {args.workers} workers: {figures['events']:,} "
              f"events, {figures['detections']:,} detections from {figures['rules_hit']} rules, "
              f"{figures['wall']:.1f} s wall / {figures['cpu']:.1f} s CPU "
              f"(parent {figures['parent_cpu']:.1f}, engine in workers {figures['match_seconds']:.1f} s) = "
              f"{figures['events_per_s']:,.0f} events/s wall, "
              f"{figures['events'] / figures['cpu']:,.0f} events per CPU-second; "
              f"load average {_load()}; peak RSS parent {own:.0f} MB, worker {kids:.0f} MB")  # fmt: skip
        if copies != 1:
            continue  # the projection and the comparison below use the 1-copy run
        headline = figures
        per_cpu = base.num_rows / cpu  # parse rate of one core
        projected = figures["events"] / per_cpu / args.workers + figures["wall"]
        print(f"  parse + match of the same events from .evtx: ~{projected:.0f} s projected "
              f"(parse at {per_cpu:,.0f} events per CPU-second on {args.workers} workers)")  # fmt: skip

    if not args.no_zircolite and (args.zircolite_dir / "zircolite.py").is_file():
        z = run_zircolite(args.zircolite_dir, args.zircolite_python, args.zircolite_replicas)
        print(f"zircolite x{args.zircolite_replicas}: {z['events']} events, {z['wall']:.1f} s wall / "
              f"{z['cpu']:.1f} s CPU, {z['events_per_s']} events/s (its own figure, parse + match), "
              f"peak RSS {z['peak_rss_mb']:.0f} MB, exit {z['exit']}")  # fmt: skip
        if z["events_per_s"]:
            rate = headline["events"] / projected
            print(f"  aptlink / zircolite events/s: match {headline['events_per_s'] / z['events_per_s']:.0f}x, "
                  f"parse + match (projected, {rate:,.0f} events/s) {rate / z['events_per_s']:.0f}x "
                  f"(1-copy run; zircolite's own figure, parse + match)")  # fmt: skip
    else:
        print("zircolite: not run (no --zircolite-dir with zircolite.py)")
    print(f"total: {time.perf_counter() - begun:.1f} s wall / {cpu_seconds() - begun_cpu:.1f} s CPU; "
          f"load average {_load()} at the end; {args.workers} busy processes get "
          f"{free_cores(args.workers):.1f} cores")  # fmt: skip


def _burn(seconds: float) -> float:
    """Busy for ``seconds`` of CPU; returns the CPU seconds used."""
    started = time.process_time()
    while time.process_time() - started < seconds:
        sum(range(10_000))
    return time.process_time() - started


def free_cores(workers: int) -> float:
    """How many cores ``workers`` busy processes get right now (CPU seconds / wall seconds): on a
    shared machine this says how much of the wall time is other people's work."""
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(workers) as pool:
        used = sum(pool.map(_burn, [0.5] * workers))
    return used / (time.perf_counter() - started)


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
