"""Exposure throughput: parse an N-asset inventory CSV and assess every asset against KEV and the ranges.

Prints assets per second for parse+assess, and the baseline of the same run: csv.reader over the same file.
Usage: .venv/bin/python bench/exposure.py [N]
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from pathlib import Path

from aptlink.evidence.base import ParseContext, Source
from aptlink.evidence.inventory import InventoryCsvParser
from aptlink.exposure.assess import Assessor

ROWS = [
    ("Fortinet", "FortiGate 100F", ["7.2.4", "7.2.5", "7.0.11", "7.4.3", "6.4.12"]),
    ("Array Networks", "ArrayOS AG", ["9.4.0.481", "9.4.0.484"]),
    ("NorthGrid", "Proself", ["5.61", "5.63"]),
    ("Palo Alto Networks", "PAN-OS", ["10.2.9", "11.1.2-h3", "11.2.4-h1"]),
    ("Citrix", "NetScaler Gateway", ["13.1-49.13", "14.1-47.46"]),
    ("Ivanti", "Connect Secure", ["22.7R2.4", "22.7R2.6"]),
    ("Cisco", "ASA 5516-X", ["9.16(4)27"]),
    ("Acme", "Printer", ["1.0"]),
]


def write_inventory(path: Path, n: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["asset", "vendor", "product", "version", "exposure", "role"])
        for i in range(n):
            vendor, product, versions = rng.choice(ROWS)
            exposure = rng.choice(["internet", "internal"])
            out.writerow([f"host-{i}", vendor, product, rng.choice(versions), exposure, "edge"])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.csv"
        write_inventory(path, n)
        t0 = time.perf_counter()
        with path.open(newline="") as fh:
            baseline_rows = sum(1 for _ in csv.reader(fh)) - 1
        t1 = time.perf_counter()
        assessor = Assessor()
        t2 = time.perf_counter()
        [item] = InventoryCsvParser().parse(Source(path), ParseContext())
        tp = time.perf_counter()
        reports = assessor.assess_all(item.data)
        t3 = time.perf_counter()
    statuses: dict[str, int] = {}
    for r in reports:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print(f"assets {len(reports)}  statuses {statuses}")
    print(f"load KEV + catalogue: {t2 - t1:.3f} s")
    print(f"aptlink parse+assess: {t3 - t2:.3f} s = {len(reports) / (t3 - t2):,.0f} assets/s")
    print(f"  parse (rows, observations): {tp - t2:.3f} s; assess: {t3 - tp:.3f} s")
    print(f"baseline csv.reader:  {t1 - t0:.3f} s = {baseline_rows / (t1 - t0):,.0f} rows/s")


if __name__ == "__main__":
    main()
