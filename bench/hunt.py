"""Speed of the hunt: the full SigmaHQ Windows rule set over >= 1,000,000 events, against Zircolite.

One run prints, each part with the command line that reproduces it:
- rule load: cold (pySigma parses and compiles every file, then the compiled set is cached) and
  cached (read back from the cache), in a temporary ``APTLINK_HUNT_CACHE``;
- parse only: the EVTX attack samples read in this process (evtx -> JSON -> flat rows -> Arrow);
- match only: the parsed Arrow rows replicated to >= 1 M events, ONE copy of the samples per batch
  (8,255 rows: no value repeats within a batch because of the replication) streamed through the
  engine on two worker processes. Each copy gets its own record ids (``@record`` + ``#copy``), so
  no two batches are byte-identical; nothing is cached between batches. ``--copies N`` adds runs
  with N copies per batch (values repeat inside a batch, as in the end-to-end run);
- end to end: ``aptlink hunt`` run as a user runs it (a new process, rule set from the cache) over
  the samples replicated to >= 1 M events as .evtx files (symbolic links in ``--replica-dir``),
  with ``/usr/bin/time -v``: wall, CPU seconds (user + sys of every process), peak RSS of the
  largest process; and the CLI start-up (the same command over one small file);
- wall, CPU seconds (parent + workers), peak RSS and the load average (the machine may be shared:
  CPU seconds are the steadier figure);
- Zircolite (the baseline, its default invocation) over the samples x ``--zircolite-replicas``,
  when ``--zircolite-dir`` holds zircolite.py and ``--zircolite-python`` its venv; its events/s
  from its own summary.

Run: ``.venv/bin/python bench/hunt.py`` (``--no-zircolite`` to skip the baseline; ``--only
end-to-end`` and friends to run one part)
"""

from __future__ import annotations

import argparse
import json
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from aptlink.evidence.base import ParseContext  # noqa: E402
from aptlink.evidence.evtx import read_evtx  # noqa: E402
from aptlink.hunt.events import META_RECORD, to_table  # noqa: E402
from aptlink.hunt.rules import RuleSet, load_rules  # noqa: E402
from aptlink.hunt.runner import HuntResult, Part, run_tasks  # noqa: E402

SHARED = (REPO / ".." / "shared" / "data").resolve()
SAMPLES = SHARED / "evtx" / "attack-samples"
RULES = SHARED / "sigma" / "rules" / "windows"
SAMPLE_EVENTS = 8255  # events in the attack samples: the replication unit


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
    rows: list[dict[str, str]] = []
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
    os.environ["APTLINK_HUNT_CACHE"] = tempfile.mkdtemp(prefix="aptlink-bench-cache-")
    started, cpu = time.perf_counter(), cpu_seconds()
    cold = load_rules([RULES])
    cold_wall, cold_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    started, cpu = time.perf_counter(), cpu_seconds()
    cached = load_rules([RULES])
    warm_wall, warm_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert cached == cold, "the cached rule set differs from the compiled one"
    shutil.rmtree(os.environ.pop("APTLINK_HUNT_CACHE"), ignore_errors=True)
    return cached, cold_wall, cold_cpu, warm_wall, warm_cpu


def zircolite_input(replicas: int) -> Path:
    if replicas <= 1:
        return SAMPLES
    return replicate_files(Path(f"/tmp/aptlink-bench-zircolite-x{replicas}"), replicas)


def replicate_files(root: Path, replicas: int) -> Path:
    """``replicas`` folders of symbolic links to every sample .evtx (made once, reused)."""
    files = sorted(SAMPLES.rglob("*.evtx"))
    for copy in range(replicas):
        folder = root / f"c{copy:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for number, path in enumerate(files):
            link = folder / f"f{number:03d}.evtx"
            if not link.exists():
                link.symlink_to(path)
    return root


def run_zircolite(zdir: Path, python: str, replicas: int) -> dict[str, object]:
    out = Path(f"/tmp/aptlink-bench-zircolite-x{replicas}.json")
    cmd = [python, "zircolite.py", "-e", str(zircolite_input(replicas)),
           "-r", str(RULES), "-o", str(out), "-q", "--no-parallel"]  # fmt: skip
    if replicas > 1:
        cmd.append("--unified-db")
    print(f"  $ (cd {zdir} && {' '.join(cmd)})")
    done, figures = timed(cmd, cwd=zdir)
    log = done.stdout + done.stderr
    figures["events"] = _figure(r"Events\s+([\d,]+)", log)
    figures["events_per_s"] = _figure(r"Throughput\s+([\d,.]+)\s+events/s", log)
    return figures


def timed(cmd: list[str], **kwargs: Any) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run under ``/usr/bin/time -v``: the process, and wall, CPU (user + sys), peak RSS, exit."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                          check=False, **kwargs)  # fmt: skip
    wall = time.perf_counter() - started
    log = done.stderr
    figures = {
        "wall": wall,
        "cpu": (_figure(r"User time \(seconds\): ([\d.]+)", log) or 0)
        + (_figure(r"System time \(seconds\): ([\d.]+)", log) or 0),
        "peak_rss_mb": (_figure(r"Maximum resident set size \(kbytes\): (\d+)", log) or 0) / 1024,
        "exit": done.returncode,
    }
    return done, figures


def run_cli(folder: Path, workers: int) -> dict[str, Any]:
    """``aptlink hunt FOLDER --rules RULES --json`` as a user runs it; figures and its summary."""
    cmd = [str(REPO / ".venv" / "bin" / "aptlink"), "hunt", str(folder), "--rules", str(RULES),
           "--json", "--workers", str(workers)]  # fmt: skip
    print(f"  $ APTLINK_HUNT_CACHE={os.environ['APTLINK_HUNT_CACHE']} {' '.join(cmd)} > out.jsonl")
    done, figures = timed(cmd)
    lines = done.stdout.strip().splitlines()
    summary = json.loads(lines[-1])["summary"] if lines else {}
    figures.update(events=summary.get("events", 0), detections=summary.get("detections", 0),
                   rules_hit=summary.get("rules_hit", 0))  # fmt: skip
    if done.returncode:
        print("  " + done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "  failed")
    return figures


def end_to_end(args: argparse.Namespace, ruleset: RuleSet) -> dict[str, Any]:
    """The CLI start-up (one small file) and the CLI over the replicated .evtx set."""
    replicas = -(-args.events // SAMPLE_EVENTS)
    folder = replicate_files(args.replica_dir / f"x{replicas}", replicas)
    os.environ["APTLINK_HUNT_CACHE"] = tempfile.mkdtemp(prefix="aptlink-bench-hunt-cache-")
    load_rules([RULES])  # the compiled set in the cache, as after a user's first run
    small = args.replica_dir / "one"
    small.mkdir(parents=True, exist_ok=True)
    if not (small / "one.evtx").exists():
        (small / "one.evtx").symlink_to(sorted(SAMPLES.rglob("*.evtx"))[0])
    print("end to end, CLI start-up (rule set from the cache, one small .evtx):")
    start = run_cli(small, args.workers)
    print(f"  {start['events']} events: {start['wall']:.2f} s wall / {start['cpu']:.2f} s CPU, "
          f"peak RSS {start['peak_rss_mb']:.0f} MB, exit {start['exit']}; load average {_load()}")  # fmt: skip
    print(f"end to end, `aptlink hunt` over {replicas} copies of the samples as .evtx files "
          f"({replicas * 277} files):")  # fmt: skip
    figures = run_cli(folder, args.workers)
    shutil.rmtree(os.environ.pop("APTLINK_HUNT_CACHE"), ignore_errors=True)
    rate = figures["events"] / figures["wall"] if figures["wall"] else 0.0
    figures["events_per_s"] = rate
    print(f"  {figures['events']:,} events, {figures['detections']:,} detections from "
          f"{figures['rules_hit']} rules: {figures['wall']:.1f} s wall / {figures['cpu']:.1f} s CPU "
          f"= {rate:,.0f} events/s wall, {figures['events'] / max(figures['cpu'], 1e-9):,.0f} "
          f"events per CPU-second; peak RSS {figures['peak_rss_mb']:.0f} MB (largest process); "
          f"exit {figures['exit']}; load average {_load()}")  # fmt: skip
    return figures


def _figure(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1).replace(",", "")) if found else None


PARTS = ("rules", "parse", "match", "end-to-end", "zircolite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--copies", type=int, nargs="*", default=[], help="extra match runs: copies per batch"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replica-dir", type=Path, default=Path("/tmp/aptlink-bench-evtx"))
    parser.add_argument("--zircolite-dir", type=Path, default=Path("/tmp/zircolite"))
    parser.add_argument("--zircolite-python", default="/tmp/zvenv/bin/python")
    parser.add_argument("--zircolite-replicas", type=int, default=1)
    parser.add_argument("--no-zircolite", action="store_true")
    parser.add_argument("--only", nargs="*", choices=PARTS, default=list(PARTS))
    args = parser.parse_args()
    if args.no_zircolite and "zircolite" in args.only:
        args.only.remove("zircolite")

    begun, begun_cpu = time.perf_counter(), cpu_seconds()
    print(f"$ {' '.join([sys.executable, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores; load average {_load()} at the start; "
          f"{args.workers} busy processes get {free_cores(args.workers):.1f} cores")  # fmt: skip
    ruleset, cold_wall, cold_cpu, warm_wall, warm_cpu = load_both()
    print(f"rules: {len(ruleset.rules)} loaded, {len(ruleset.problems)} not loaded; "
          f"cold (pySigma + compile + write cache) {cold_wall:.1f} s wall / {cold_cpu:.1f} s CPU, "
          f"cached {warm_wall:.2f} s wall / {warm_cpu:.2f} s CPU")  # fmt: skip

    base, wall, cpu, files = parse_samples()
    parse_rate = base.num_rows / cpu
    print(f"parse only, 1 process: {files} .evtx files, {base.num_rows} events, {base.num_columns} "
          f"fields, {wall:.2f} s wall / {cpu:.2f} s CPU = {base.num_rows / wall:,.0f} events/s "
          f"wall, {parse_rate:,.0f} events per CPU-second "
          f"(evtx -> JSON -> flat rows -> Arrow; {base.nbytes / 2**20:.1f} MB as Arrow)")  # fmt: skip

    match: dict[str, float] = {}
    if "match" in args.only:
        for copies in (1, *args.copies):
            figures = run_aptlink(base, ruleset, args.events, copies, args.workers)
            own, kids = peak_rss_mb()
            print(f"match only, {copies} sample cop{'ies' if copies > 1 else 'y'} per batch "
                  f"({base.num_rows * copies} rows), {args.workers} workers: {figures['events']:,} "
                  f"events, {figures['detections']:,} detections from {figures['rules_hit']} rules, "
                  f"{figures['wall']:.1f} s wall / {figures['cpu']:.1f} s CPU "
                  f"(parent {figures['parent_cpu']:.1f}, engine in workers {figures['match_seconds']:.1f} s) = "
                  f"{figures['events_per_s']:,.0f} events/s wall, "
                  f"{figures['events'] / figures['cpu']:,.0f} events per CPU-second; "
                  f"load average {_load()}; peak RSS parent {own:.0f} MB, worker {kids:.0f} MB")  # fmt: skip
            match = match or figures
        print(f"  parse + match, projected from the two: {args.events / parse_rate + match['cpu']:.0f} "
              f"CPU-s for {args.events:,} events, {(args.events / parse_rate + match['cpu']) / args.workers:.0f} s "
              f"on {args.workers} cores")  # fmt: skip

    e2e: dict[str, Any] = {}
    if "end-to-end" in args.only:
        e2e = end_to_end(args, ruleset)

    if "zircolite" in args.only and (args.zircolite_dir / "zircolite.py").is_file():
        print(f"zircolite x{args.zircolite_replicas} (its own default run, parse + match, "
              f"1 process):")  # fmt: skip
        z = run_zircolite(args.zircolite_dir, args.zircolite_python, args.zircolite_replicas)
        print(f"  {z['events']} events, {z['wall']:.1f} s wall / {z['cpu']:.1f} s CPU, "
              f"{z['events_per_s']} events/s (its own figure), peak RSS {z['peak_rss_mb']:.0f} MB, "
              f"exit {z['exit']}; load average {_load()}")  # fmt: skip
        if z["events_per_s"]:
            zrate = float(str(z["events_per_s"]))
            if match:
                print(
                    f"  aptlink / zircolite events/s: match only {match['events_per_s'] / zrate:.0f}x"
                )
            if e2e.get("events_per_s"):
                print(f"  aptlink / zircolite events/s: end to end (`aptlink hunt` on .evtx, "
                      f"{e2e['events_per_s']:,.0f} events/s) {e2e['events_per_s'] / zrate:.0f}x")  # fmt: skip
    elif "zircolite" in args.only:
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
