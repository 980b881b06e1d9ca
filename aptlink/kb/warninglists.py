"""MISP warninglists (shipped by ``pymispwarninglists``, so offline): values that never count as
evidence of an attack — public resolvers, top sites, freemail providers' own domains, cloud ranges.
Loading all lists takes about two seconds, so it happens once per process and only when asked.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from aptlink.kb.indicators import refang

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _lists() -> Any:
    from pymispwarninglists import WarningLists  # type: ignore[attr-defined]

    with _LOCK:
        return WarningLists(slow_search=False)


@lru_cache(maxsize=65536)
def warninglisted(value: str) -> tuple[str, ...]:
    """Names of the warninglists that hold this value (empty when none does)."""
    value = refang(value).lower().rstrip(".")
    if not value:
        return ()
    try:
        hits = _lists().search(value)
    except (ValueError, TypeError):  # values the library cannot parse are on no list
        return ()
    return tuple(sorted({str(h.name) for h in hits}))


def summary() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("pymispwarninglists")
    except PackageNotFoundError:
        release = "?"
    return {
        "lists": len(_lists().warninglists),
        "source": f"pymispwarninglists {release} (packaged)",
    }
