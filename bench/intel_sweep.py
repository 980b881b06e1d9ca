"""Intel-match sweep throughput: N generated Sysmon events (DNS queries, connections, process
creations with command lines, in 50 000-row batches as the parsers make them) against K shared
indicators, a few hundred of which occur in the events.

Prints events per second for the detector (distinct-value set look-ups over Arrow columns), and the
baseline of the same run: a plain Python loop over every row and field doing one dict look-up each
(no parent domains, no command-line tokens, so it does less work than the detector). The MISP
warninglists are loaded before the clock starts (about 2 s once per process).
Usage: .venv/bin/python bench/intel_sweep.py [N] [K] [D]   (D: distinct host names in the events)
"""

from __future__ import annotations

import random
import sys
import time

import pyarrow as pa

from aptlink.detect.base import DetectContext
from aptlink.detect.intel import IntelMatchDetector
from aptlink.evidence.base import Item
from aptlink.hunt.events import META_FILE, META_RECORD, META_TIME
from aptlink.kb.warninglists import warninglisted
from aptlink.model import Kind, Observation, Provenance

BATCH = 50_000
FIELDS = ("QueryName", "DestinationHostname", "DestinationIp", "CommandLine", "Image")


def domains(rng: random.Random, n: int) -> list[str]:
    words = ["cdn", "api", "update", "sync", "cloud", "mail", "files", "static", "auth", "img"]
    return [f"{rng.choice(words)}{i}.{rng.choice(words)}-{i % 977}.net" for i in range(n)]


def batch(rng: random.Random, start: int, size: int, names: list[str]) -> pa.Table:
    hosts = [f"PC{n:04d}.corp.local" for n in range(200)]
    cols: dict[str, list[str | None]] = {k: [] for k in (*FIELDS, "Computer", "EventID")}
    cols.update({META_FILE: [], META_RECORD: [], META_TIME: []})
    for n in range(start, start + size):
        kind = n % 3
        name = rng.choice(names)
        cols["QueryName"].append(name if kind == 0 else None)
        cols["DestinationHostname"].append(name if kind == 1 else None)
        cols["DestinationIp"].append(f"10.{n % 250}.{n % 199}.{n % 97}" if kind == 1 else None)
        cols["CommandLine"].append(f"curl.exe -s https://{name}/x?{n % 50}" if kind == 2 else None)
        cols["Image"].append(r"C:\Windows\System32\curl.exe" if kind == 2 else None)
        cols["Computer"].append(hosts[n % len(hosts)])
        cols["EventID"].append(("22", "3", "1")[kind])
        cols[META_FILE].append("/bench/sysmon.evtx")
        cols[META_RECORD].append(str(n))
        cols[META_TIME].append(f"2024-03-{1 + n % 28:02d}T00:00:00Z")
    return pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})


def intel_item(values: list[str]) -> Item:
    prov = Provenance(file="/bench/flash.json", sha256="b" * 64, record="bench")
    obs = tuple(Observation(kind=Kind.DOMAIN, value=v, provenance=prov) for v in values)
    data = {"external_id": "bench", "name": "bench", "source": "stix", "claimed_actors": []}
    return Item(kind="external-incident", provenance=prov, data=data, observations=obs)


def baseline(tables: list[pa.Table], wanted: set[str]) -> int:
    hits = 0
    for table in tables:
        for row in table.select(list(FIELDS)).to_pylist():
            for value in row.values():
                if value is not None and value.lower() in wanted:
                    hits += 1
    return hits


def beacon(n: int) -> None:
    """One C2 name in every event (DNS, connection, command line) of 200 hosts over 28 days:
    one finding per host and day however many events."""
    names = ["beacon.c2-updates.net"]
    rng = random.Random(3)
    tables = [batch(rng, s, min(BATCH, n - s), names) for s in range(0, n, BATCH)]
    prov = Provenance(file="/bench/sysmon.evtx", sha256="a" * 64, chain=("evtx",))
    detector = IntelMatchDetector(DetectContext())
    detector.detect(intel_item(["c2-updates.net"]))
    t0 = time.perf_counter()
    for table in tables:
        detector.detect(Item(kind="eventlog", provenance=prov, data=table))
    findings = list(detector.finalize())
    t1 = time.perf_counter()
    hits = baseline(tables, {"beacon.c2-updates.net"})
    t2 = time.perf_counter()
    events = sum(f.extra["events"] for f in findings)
    print(f"beacon      : {t1 - t0:6.2f} s  {n / (t1 - t0):10.0f} events/s  "
          f"{len(findings)} findings over {events} event hits")  # fmt: skip
    print(f"baseline    : {t2 - t1:6.2f} s  {n / (t2 - t1):10.0f} events/s  "
          f"{hits} field hits (plain per-row dict look-up)")  # fmt: skip


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    d = int(sys.argv[3]) if len(sys.argv) > 3 else 40_000
    rng = random.Random(11)
    names = domains(rng, d)
    seen = min(300, d // 10)
    shared = rng.sample(names, seen) + [f"other{i}.example-bad.org" for i in range(k - seen)]
    tables = [batch(rng, s, min(BATCH, n - s), names) for s in range(0, n, BATCH)]
    prov = Provenance(file="/bench/sysmon.evtx", sha256="a" * 64, chain=("evtx",))
    warninglisted("example.com")  # load the lists once, as the linking stage does anyway
    detector = IntelMatchDetector(DetectContext())
    detector.detect(intel_item(shared))
    t0 = time.perf_counter()
    for table in tables:
        detector.detect(Item(kind="eventlog", provenance=prov, data=table))
    findings = list(detector.finalize())
    t1 = time.perf_counter()
    hits = baseline(tables, set(shared))
    t2 = time.perf_counter()
    events = sum(f.extra["events"] for f in findings)
    print(f"events {n}  indicators {k}  distinct names {len(names)}")
    print(f"intel-match : {t1 - t0:6.2f} s  {n / (t1 - t0):10.0f} events/s  "
          f"{len(findings)} findings over {events} event hits")  # fmt: skip
    print(f"baseline    : {t2 - t1:6.2f} s  {n / (t2 - t1):10.0f} events/s  "
          f"{hits} field hits (plain per-row dict look-up)")  # fmt: skip
    beacon(n)


if __name__ == "__main__":
    main()
