"""The engine design check: the same SigmaHQ Windows rules as SQL (pySigma's SQLite backend, as
Zircolite uses them) run by DuckDB over the same Arrow table, against aptlink's engine.

The SQL comes from a separate venv that has pysigma-backend-sqlite (Zircolite's requirements):
``/tmp/zvenv/bin/python`` converts every rule once to /tmp/sqlite_queries.json (see ``convert``).
DuckDB runs each query on the table registered as ``logs``, with LIKE made case-insensitive (ILIKE)
and ``default_collation = nocase`` for equality, as SQLite's NOCASE columns behave; a query naming a
column the table lacks fails, as in SQLite, and is counted.

Run: ``.venv/bin/python bench/hunt_duckdb.py [--copies 8]``
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402

from aptlink.evidence.base import ParseContext  # noqa: E402
from aptlink.evidence.evtx import read_evtx  # noqa: E402
from aptlink.hunt.engine import Batch, NeedleIndex, match_rules  # noqa: E402
from aptlink.hunt.events import to_table  # noqa: E402
from aptlink.hunt.rules import load_rules  # noqa: E402

SHARED = (REPO / ".." / "shared" / "data").resolve()
QUERIES = Path("/tmp/sqlite_queries.json")
CONVERT = """
import json, glob
from sigma.collection import SigmaCollection
from sigma.backends.sqlite import sqliteBackend
backend, out = sqliteBackend(), {}
for f in sorted(glob.glob('RULES/**/*.yml', recursive=True)):
    try:
        for rule in SigmaCollection.from_yaml(open(f).read()).rules:
            out[str(rule.id)] = backend.convert_rule(rule)
    except Exception:
        pass
json.dump(out, open('OUT', 'w'))
"""


def convert(python: str) -> None:
    code = CONVERT.replace("RULES", str(SHARED / "sigma/rules/windows")).replace(
        "OUT", str(QUERIES)
    )
    subprocess.run([python, "-c", code], check=True)


def duckdb_sql(query: str) -> str:
    query = re.sub(r"\bLIKE\b", "ILIKE", query)
    query = re.sub(r"(\w+) REGEXP '((?:[^']|'')*)'", r"regexp_matches(\1, '\2')", query)
    return query.replace("SELECT * FROM logs", "SELECT count(*) FROM logs", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--python", default="/tmp/zvenv/bin/python")
    args = parser.parse_args()
    if not QUERIES.is_file():
        convert(args.python)
    queries = {rid: q for rid, qs in json.loads(QUERIES.read_text()).items() for q in qs}
    rows = []
    for path in sorted((SHARED / "evtx/attack-samples").rglob("*.evtx")):
        rows.extend(read_evtx(path, ParseContext()))
    base = to_table(rows)
    table = pa.concat_tables([base] * args.copies).combine_chunks()
    print(f"table: {table.num_rows} rows, {table.num_columns} columns; {len(queries)} SQL rules")

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET default_collation = 'nocase'")
    con.register("logs", table)
    started, failed, hits = time.perf_counter(), 0, 0
    for query in queries.values():
        try:
            hits += con.execute(duckdb_sql(query)).fetchone()[0]
        except duckdb.Error:
            failed += 1
    duck = time.perf_counter() - started
    print(
        f"duckdb (2 threads): {duck:.1f} s wall, {table.num_rows / duck:,.0f} events/s, "
        f"{hits} matches, {failed} queries failed (missing columns / syntax)"
    )

    ruleset = load_rules([SHARED / "sigma/rules/windows"])
    started = time.perf_counter()
    found = match_rules(Batch(table, NeedleIndex(ruleset.rules)), ruleset.rules)
    ours = time.perf_counter() - started
    print(
        f"aptlink engine (1 process): {ours:.1f} s wall, {table.num_rows / ours:,.0f} events/s, "
        f"{sum(len(r) for _, r in found)} matches (log-source filtered)"
    )


if __name__ == "__main__":
    main()
