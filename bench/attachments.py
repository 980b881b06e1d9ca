"""Attachment analysis speed and bounds: per-file time for the shared Office/Outlook fixtures, the
MirrorFace-style lure catalogue and the hostile set (ZIP bomb, 50-deep nesting, 100 MB blob), with
peak memory; the baseline in the same run is hashing the same bytes (sha256+md5+sha1), the least any
analysis must do.

    .venv/bin/python bench/attachments.py
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from aptlink.analysis import builders
from aptlink.detect.attachments import analyse_attachment
from aptlink.model import Provenance

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "attachments"
PROV = Provenance(file="bench.eml", sha256="0" * 64, chain=("email",))


def hashing(data: bytes) -> None:
    hashlib.sha256(data).hexdigest()
    hashlib.md5(data, usedforsecurity=False).hexdigest()
    hashlib.sha1(data, usedforsecurity=False).hexdigest()


def best_of(fn: object, repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        runs.append(time.perf_counter() - start)
    return min(runs)


def corpus() -> list[tuple[str, str, bytes, list[str]]]:
    files = [
        ("shared", p.name, p.read_bytes(), [])
        for folder in ("office", "msg")
        for p in sorted((SHARED / folder).glob("*"))
        if p.suffix != ".eml"
    ]
    for lure in builders.lure_attachments():
        files.append(("lure", lure.name, lure.data, [lure.password] if lure.password else []))
    files += [
        ("hostile", "bomb-100MB.zip", builders.make_zip_bomb(100 << 20), []),
        ("hostile", "nested-50.zip", builders.make_nested_zip(50), []),
        ("hostile", "blob-100MB.bin", bytes(100 << 20), []),
    ]
    return files


def main() -> None:
    rows = []
    for group, name, data, passwords in corpus():
        tracemalloc.start()
        report = analyse_attachment(name, data, PROV, passwords=passwords)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        took = best_of(
            lambda d=data, n=name, p=passwords: analyse_attachment(n, d, PROV, passwords=p)
        )
        base = best_of(lambda d=data: hashing(d))
        rows.append((group, name, len(data), took, base, peak, report.score))
    print(
        f"{'group':8} {'file':44} {'bytes':>10} {'analyse ms':>11} {'hash ms':>8} {'peak MiB':>9} score"
    )
    for group, name, size, took, base, peak, score in rows:
        print(
            f"{group:8} {name[:44]:44} {size:>10} {took * 1e3:>11.1f} {base * 1e3:>8.2f} {peak / 2**20:>9.1f} {score:>5.0f}"
        )
    for group in ("shared", "lure", "hostile"):
        part = [r for r in rows if r[0] == group]
        total = sum(r[3] for r in part)
        print(
            f"{group}: {len(part)} files, {len(part) / total:.0f} files/s analysed, "
            f"median {statistics.median(r[3] for r in part) * 1e3:.1f} ms, "
            f"hash-only baseline {sum(r[4] for r in part) * 1e3:.1f} ms total vs {total * 1e3:.1f} ms"
        )
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
