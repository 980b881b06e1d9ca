"""Benchmark of `aptlink triage` on the shared mail corpora: quality and speed, with baselines.

Quality: phishing recall (verdict not clean) and false positives on ham (ham, ham-modern as it is
and with its mailing-list headers stripped, ham-ja); spam reported separately. Speed: messages per
second of triage in one process and on all cores, beside a plain stdlib parse-only loop
(``email.message_from_bytes``) over the same 1,500 phishing files in the same run. Peak memory.

    .venv/bin/python bench/triage.py [--data ../shared/data/email] [--misses N] [--half tune|held-out-design]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import hashlib
import os
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aptlink.triage import (  # noqa: E402
    TriageConfig,
    TriageResult,
    iter_triage,
    make_judge,
    triage_bytes,
)

HAM_SETS = ("ham", "ham-modern", "ham-ja")
# The outer mailing-list and archive-mirror headers of ham-modern, which phishing never has: the
# detector does not read them, and this variant proves it by judging the mails without them.
LIST_HEADER = re.compile(
    rb"^(list-[a-z-]+|precedence|x-mailman-[a-z-]+|mailing-list|x-beenthere|delivered-to|"
    rb"x-original-to|x-list-[a-z-]+|archived-at|x-loop|errors-to|sender):",
    re.I,
)


def mail_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".eml")


def strip_list_headers(data: bytes) -> bytes:
    """The message without list/mirror headers and without the list's [tag] in the Subject."""
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        head, sep, body = data.partition(b"\r\n\r\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = bool(LIST_HEADER.match(line))
        if not skipping:
            if line.lower().startswith(b"subject:"):
                line = re.sub(rb"\[[^\]\r\n]{1,40}\][ \t]?", b"", line, count=2)
            kept.append(line)
    return b"".join(kept) + sep + body


def half(path: Path) -> str:
    """A fixed 50/50 split by the sha256 of the file name: signals were tuned looking at the
    "tune" half only; the "held-out" half is the honest figure."""
    return "tune" if hashlib.sha256(path.name.encode()).digest()[0] % 2 == 0 else "held-out"


def quarter(path: Path) -> str:
    """The held-out half split again by another byte of the same digest (session 7): the misses
    of "held-out-design" may be read to design on; "held-out-measure" is only ever counted, and
    its recall is the honest figure from then on. The tune half is returned as it is."""
    digest = hashlib.sha256(path.name.encode()).digest()
    if digest[0] % 2 == 0:
        return "tune"
    return "held-out-design" if digest[1] % 2 == 0 else "held-out-measure"


HALVES: dict[str, Counter[str]] = {}  # "<set>/<half>" -> verdicts, filled by judge_set


def judge_set(name: str, paths: list[Path], strip: bool = False) -> Counter[str]:
    judge = make_judge(TriageConfig())
    verdicts: Counter[str] = Counter()
    for path in paths:
        data = path.read_bytes()
        for result in triage_bytes(strip_list_headers(data) if strip else data, str(path), judge):
            verdicts[result.verdict] += 1
            if not strip:
                HALVES.setdefault(f"{name}/{half(path)}", Counter())[result.verdict] += 1
                if quarter(path) != "tune":
                    HALVES.setdefault(f"{name}/{quarter(path)}", Counter())[result.verdict] += 1
    return verdicts


def split_report() -> None:
    """Recall and all-ham false positives on each half of the split."""
    print(
        "== by half (designed on 'tune' and, from session 7, on 'held-out-design'; "
        "'held-out-measure' is the honest figure)"
    )
    for part in ("tune", "held-out", "held-out-design", "held-out-measure"):
        phish = HALVES.get(f"phishing/{part}", Counter())
        hams = [HALVES.get(f"{s}/{part}", Counter()) for s in HAM_SETS]
        n_p = sum(phish.values()) or 1
        n_h = sum(sum(v.values()) for v in hams) or 1
        fp = sum(v["malicious"] + v["suspicious"] for v in hams)
        recall = (phish["malicious"] + phish["suspicious"]) / n_p
        print(
            f"{part:<16} phishing n={n_p:4d} recall {recall:.3f}   "
            f"all ham n={n_h:4d} false positives {fp:3d} = {fp / n_h:.2%}"
        )


def quality(data: Path) -> None:
    print("== quality (verdict not clean = flagged)")
    phish = judge_set("phishing", mail_paths(data / "phishing"))
    flagged = phish["malicious"] + phish["suspicious"]
    total = sum(phish.values())
    print(
        f"phishing      n={total:5d}  recall {flagged / total:.3f}  {dict(phish)}  (target >= 0.95)"
    )
    sets = [(s, False) for s in HAM_SETS] + [("ham-modern", True)]
    fp_all = n_all = 0
    for name, strip in sets:
        v = judge_set(name, mail_paths(data / name), strip)
        n = sum(v.values())
        fp = v["malicious"] + v["suspicious"]
        label = f"{name}{' (list headers stripped)' if strip else ''}"
        print(f"{label:<40} n={n:5d}  false positives {fp:3d} = {fp / n:.2%}  {dict(v)}")
        if not strip:
            fp_all, n_all = fp_all + fp, n_all + n
    print(
        f"{'all ham':<40} n={n_all:5d}  false positives {fp_all:3d} = {fp_all / n_all:.2%}  (target <= 0.5 %)"
    )
    split_report()
    spam = judge_set("spam", mail_paths(data / "spam"))
    n = sum(spam.values())
    print(
        f"spam (reported, not scored)   n={n:5d}  flagged {(spam['malicious'] + spam['suspicious']) / n:.3f}  {dict(spam)}"
    )


def _cpu(who: int) -> float:
    """User plus system CPU seconds of this process or of its finished children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _timed(loop: Callable[[], int]) -> tuple[float, float, float, int]:
    """One run: wall seconds, this process's CPU seconds, its workers' CPU seconds, items."""
    w0, c0, k0 = time.perf_counter(), _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    n = loop()
    return (
        time.perf_counter() - w0,
        _cpu(resource.RUSAGE_SELF) - c0,
        _cpu(resource.RUSAGE_CHILDREN) - k0,
        n,
    )


def speed(data: Path, runs: int) -> None:
    paths = mail_paths(data / "phishing")
    load0 = os.getloadavg()[0]
    print(
        f"== speed on {len(paths)} phishing mails, best of {runs} runs; CPU seconds (user+sys) "
        "beside wall clock, as other work on the machine slows the wall clock, not the CPU count"
    )
    make_judge(TriageConfig())  # one-off start-up (imports, rules) outside the timed loops

    def parse_only() -> int:
        for p in paths:
            email.message_from_bytes(p.read_bytes(), policy=email.policy.compat32)
        return len(paths)

    def one() -> int:
        return sum(1 for _ in iter_triage(paths, TriageConfig(), jobs=1))

    def two() -> int:
        return sum(1 for _ in iter_triage(paths, TriageConfig(), jobs=2, chunk=50))

    one()  # warm-up: first-use caches (domain suffixes, host lookups) fill once a process
    # the baseline, one process and two processes take turns in each round, so that all three
    # meet the same load on a shared machine; the best of the rounds is reported, and the
    # median of the per-round CPU ratios beside it
    base_runs, one_runs, two_runs = [], [], []
    for _ in range(runs):
        base_runs.append(_timed(parse_only))
        one_runs.append(_timed(one))
        two_runs.append(_timed(two))
    n = len(paths)
    base_wall, base_cpu = min(r[0] for r in base_runs), min(r[1] for r in base_runs)
    one_wall, one_cpu = min(r[0] for r in one_runs), min(r[1] for r in one_runs)
    ratios = sorted(o[1] / b[1] for b, o in zip(base_runs, one_runs, strict=True))
    n1 = one_runs[0][3]
    print(
        f"stdlib parse-only      {n / base_wall:7.0f} msgs/s  {base_wall:5.2f} s wall  "
        f"{base_cpu:5.2f} s CPU"
    )
    print(
        f"triage, 1 process      {n1 / one_wall:7.0f} msgs/s  {one_wall:5.2f} s wall  "
        f"{one_cpu:5.2f} s CPU  = {one_wall / base_wall:.2f}x parse-only wall time, "
        f"{one_cpu / base_cpu:.2f}x its CPU (target <= 2x; median of the rounds' CPU ratios "
        f"{ratios[len(ratios) // 2]:.2f}x)"
    )
    wall, own_cpu, kids_cpu, n2 = min(two_runs)
    cpu2 = min(r[1] + r[2] for r in two_runs)
    print(
        f"triage, 2 processes    {n2 / wall:7.0f} msgs/s  {wall:5.2f} s wall  "
        f"{own_cpu + kids_cpu:5.2f} s CPU (workers {kids_cpu:.2f}, parent {own_cpu:.2f}) "
        f"(target >= 500 msgs/s)"
    )
    print(
        f"  with both cores free: {n2 / (cpu2 / 2):.0f} msgs/s = {n2} mails / (least CPU seconds "
        f"of the parent and its workers in a 2-process run, {cpu2:.2f} s, / 2 cores); "
        f"{n1 / (one_cpu / 2):.0f} msgs/s from the 1-process CPU ({n1} / ({one_cpu:.2f} s / 2))"
    )
    paired_ratio(paths, runs)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:.0f} MiB, largest worker {kids:.0f} MiB")
    print(
        f"load average (1 min) {load0:.1f} before and {os.getloadavg()[0]:.1f} after measuring, "
        f"on {os.cpu_count()} cores"
    )


def paired_ratio(paths: list[Path], runs: int) -> None:
    """Triage and the stdlib parse timed on each mail back to back (CPU seconds, the file read
    once, outside both): the two sides meet the same load, mail by mail, which the loop timings
    above cannot promise on a busy machine."""
    rounds = []
    for _ in range(runs):
        judge = make_judge(TriageConfig())  # fresh per-run caches, as iter_triage has
        base = tri = 0.0
        for path in paths:
            data = path.read_bytes()
            c0 = time.process_time()
            email.message_from_bytes(data, policy=email.policy.compat32)
            c1 = time.process_time()
            triage_bytes(data, str(path), judge)
            c2 = time.process_time()
            base, tri = base + c1 - c0, tri + c2 - c1
        rounds.append((tri / base, base, tri))
    ratio, base, tri = sorted(rounds)[len(rounds) // 2]
    print(
        f"paired, mail by mail   triage {tri:5.2f} s CPU / parse-only {base:5.2f} s CPU = "
        f"{ratio:.2f}x (median of {runs} rounds: "
        f"{', '.join(f'{r[0]:.2f}x' for r in rounds)}; target <= 2x)"
    )


def in_half(path: Path, which: str) -> bool:
    return which == "all" or half(path) == which or quarter(path) == which


def misses(data: Path, limit: int, which: str) -> None:
    """The first missed phishing mails and every ham false positive, of one half of the split:
    signals are designed looking at the tune half only, so the held-out figure stays honest."""
    judge = make_judge(TriageConfig())
    print(f"== first {limit} phishing misses ({which} half)")
    shown = 0
    for path in mail_paths(data / "phishing"):
        if shown >= limit:
            break
        if in_half(path, which):
            for r in triage_bytes(path.read_bytes(), str(path), judge):
                if r.verdict == "clean" and shown < limit:
                    shown += 1
                    print(
                        f"{path.name}  {r.score:.0f}  {r.sender}  {r.subject[:50]!r}  {_codes(r)}"
                    )
    print(f"== ham false positives ({which} half)")
    for name in HAM_SETS:
        for path in mail_paths(data / name):
            if in_half(path, which):
                for r in triage_bytes(path.read_bytes(), str(path), judge):
                    if r.verdict != "clean":
                        print(
                            f"{name}/{path.name}  {r.score:.0f}  {r.sender}  {r.subject[:50]!r}  {_codes(r)}"
                        )


def _codes(r: TriageResult) -> str:
    return ", ".join(f"{x.code}={x.weight:.0f}" for x in r.reasons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "../shared/data/email")
    parser.add_argument(
        "--misses", type=int, default=0, help="list the first N missed phishing mails"
    )
    parser.add_argument(
        "--half",
        choices=("tune", "held-out-design"),
        default="tune",
        help="which part of the split --misses lists: tune (default) or held-out-design, the two "
        "that signals are designed on; held-out-measure is never listed",
    )
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="speed runs; the best is reported")
    args = parser.parse_args()
    if not args.skip_quality:
        quality(args.data)
    if not args.skip_speed:
        speed(args.data, args.runs)
    if args.misses:
        misses(args.data, args.misses, args.half)


if __name__ == "__main__":
    main()
