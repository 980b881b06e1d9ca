"""How long the knowledge base takes to start: ATT&CK v19.1 parsed cold, from the cache, and the whole
KnowledgeBase; with plain ``json.load`` of the same bundle as the baseline, measured in the same run.

    .venv/bin/python bench/kb_load.py [path/to/enterprise-attack.json]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aptlink.kb import KnowledgeBase
from aptlink.kb.attack import load_attack

DEFAULT = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "attack"
    / "enterprise-attack.json"
)


def timed(fn: Callable[[], Any], repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    bundle = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)

        def baseline() -> None:
            with bundle.open("rb") as fh:
                json.load(fh)

        rows = [
            ("baseline: json.load of the bundle", timed(baseline)),
            (
                "ATT&CK parse, no cache (cold start)",
                timed(lambda: load_attack(bundle, cache, use_cache=False)),
            ),
        ]
        load_attack(bundle, cache)  # fill the cache
        rows.append(
            (
                "ATT&CK from the pickle cache (second start)",
                timed(lambda: load_attack(bundle, cache), 5),
            )
        )
        rows.append(
            (
                "KnowledgeBase.load with bundle (cached)",
                timed(lambda: KnowledgeBase.load(bundle, cache_dir=cache)),
            )
        )
        rows.append(
            (
                "KnowledgeBase.load offline (no bundle)",
                timed(lambda: KnowledgeBase.load(None, cache_dir=cache / "x")),
            )
        )
    data = load_attack(bundle, None, use_cache=False).summary()
    print(
        f"bundle: {bundle} (ATT&CK v{data['version']}, {data['techniques']} techniques, {data['groups']} groups)"
    )
    for label, seconds in rows:
        print(f"{label:<48} {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
