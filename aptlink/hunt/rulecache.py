"""Compiled rule sets cached between runs, so a hunt does not parse 2,400 Sigma files every time.

The cache lives in ``$APTLINK_HUNT_CACHE``, else in ``$APTLINK_CACHE`` (or ``~/.cache/aptlink``)
under ``hunt/``, one JSON file per list of rule folders. It is used only when its key matches: the path, size and modification time of
every rule file, the aptlink version, and the size and time of the modules that compile rules (a
changed compiler makes old entries stale). A cache that cannot be read or does not parse is
reported with a warning and rebuilt; the cache never decides what a rule means, it only saves work.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

import aptlink
from aptlink.hunt.correlate import Correlation
from aptlink.hunt.logsources import EventSource
from aptlink.hunt.rules import CompiledRule, RuleProblem, RuleSet
from aptlink.hunt.tree import Leaf, from_plain, to_plain

LOG = logging.getLogger(__name__)
FORMAT = 1
COMPILER_MODULES = (
    "compile.py",
    "tree.py",
    "rules.py",
    "logsources.py",
    "correlate.py",
    "rulecache.py",
)


def cache_root() -> Path:
    """$APTLINK_CACHE or ~/.cache/aptlink."""
    return Path(os.environ.get("APTLINK_CACHE") or Path.home() / ".cache" / "aptlink")


def hunt_cache_dir(root: Path | None = None) -> Path:
    """Where compiled rule sets go: $APTLINK_HUNT_CACHE when set (the tests point it at a
    temporary folder), else ``hunt/`` under the cache root."""
    if root is None and os.environ.get("APTLINK_HUNT_CACHE"):
        return Path(os.environ["APTLINK_HUNT_CACHE"])
    return (root or cache_root()) / "hunt"


def cache_key(files: Sequence[Path]) -> str:
    """What the compiled set depends on: every rule file's path, size and mtime, the version,
    and the compiler's own files."""
    digest = hashlib.sha256(f"aptlink {aptlink.__version__} format {FORMAT}\n".encode())
    here = Path(__file__).parent
    for path in [*(here / name for name in COMPILER_MODULES), *files]:
        try:
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def cache_file(paths: Sequence[Path], root: Path | None = None) -> Path:
    """One cache file per list of rule folders (its key inside says which version of them), by
    where they are and how they were written: the compiled rules report their paths as given, so
    ``rules/`` and ``/abs/rules`` are two entries rather than one that each run rebuilds."""
    spelled = "\n".join(f"{p}\0{p.resolve()}" for p in paths)
    name = hashlib.sha256(spelled.encode()).hexdigest()[:24]
    return hunt_cache_dir(root) / f"rules-{name}.json"


def read(path: Path, key: str) -> RuleSet | None:
    """The cached rule set if the file exists and its key matches; None otherwise (a corrupt file
    is a warning, and the caller rebuilds it)."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        LOG.warning("rule cache %s is unreadable (%s); rebuilding it", path, exc)
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        return _ruleset(data)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        LOG.warning(
            "rule cache %s is corrupt (%s: %s); rebuilding it", path, type(exc).__name__, exc
        )
        return None


def write(path: Path, key: str, ruleset: RuleSet) -> None:
    """Write atomically (a temporary file renamed over the old one); failures are only logged."""
    data = {
        "key": key,
        "rules": [_rule_plain(r) for r in ruleset.rules],
        "problems": [[p.path, p.reason, p.rule] for p in ruleset.problems],
        "correlations": [_correlation_plain(c) for c in ruleset.correlations],
        "other_products": ruleset.other_products,
        "files": ruleset.files,
        "filters": [list(f) for f in ruleset.filters],
    }
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(orjson.dumps(data))
        os.replace(temporary, path)
    except OSError as exc:
        LOG.warning("rule cache %s not written: %s", path, exc)
        temporary.unlink(missing_ok=True)


def _rule_plain(rule: CompiledRule) -> list[Any]:
    return [
        rule.id,
        rule.title,
        rule.level,
        rule.path,
        rule.description,
        list(rule.tags),
        [[source.to_plain(), to_plain(node)] for source, node in rule.variants],
        rule.logsource,
        rule.name,
    ]


def _rule(data: list[Any], leaves: dict[tuple[Any, ...], Leaf]) -> CompiledRule:
    rid, title, level, path, description, tags, variants, logsource, name = data
    return CompiledRule(
        id=str(rid),
        title=str(title),
        level=str(level),
        path=str(path),
        description=str(description),
        tags=tuple(str(t) for t in tags),
        variants=tuple((EventSource.from_plain(s), from_plain(n, leaves)) for s, n in variants),
        logsource=str(logsource),
        name=str(name),
    )


def _correlation_plain(c: Correlation) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "level": c.level,
        "kind": c.kind,
        "rules": list(c.rules),
        "group_by": list(c.group_by),
        "seconds": c.seconds,
        "op": c.op,
        "count": c.count,
        "field": c.field,
        "tags": list(c.tags),
        "path": c.path,
        "name": c.name,
        "aliases": [[alias, [list(pair) for pair in fields]] for alias, fields in c.aliases],
        "generate": c.generate,
    }


def _correlation(data: dict[str, Any]) -> Correlation:
    return Correlation(
        id=str(data["id"]),
        title=str(data["title"]),
        level=str(data["level"]),
        kind=str(data["kind"]),
        rules=tuple(str(r) for r in data["rules"]),
        group_by=tuple(str(g) for g in data["group_by"]),
        seconds=int(data["seconds"]),
        op=str(data["op"]),
        count=int(data["count"]),
        field=None if data["field"] is None else str(data["field"]),
        tags=tuple(str(t) for t in data["tags"]),
        path=str(data["path"]),
        name=str(data.get("name", "")),
        aliases=tuple(
            (str(alias), tuple((str(r), str(f)) for r, f in fields))
            for alias, fields in data.get("aliases", ())
        ),
        generate=bool(data.get("generate", False)),
    )


def _ruleset(data: dict[str, Any]) -> RuleSet:
    leaves: dict[tuple[Any, ...], Leaf] = {}
    return RuleSet(
        rules=[_rule(r, leaves) for r in data["rules"]],
        problems=[RuleProblem(str(a), str(b), str(c)) for a, b, c in data["problems"]],
        correlations=[_correlation(c) for c in data["correlations"]],
        other_products=int(data["other_products"]),
        files=int(data["files"]),
        filters=[(str(p), str(t), int(n)) for p, t, n in data.get("filters", ())],
    )
