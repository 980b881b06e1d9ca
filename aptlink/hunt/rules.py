"""Sigma rule folders loaded with pySigma and compiled for the engine.

A rule that cannot be read, parsed or compiled becomes a ``RuleProblem`` with its path and the
reason, and the others are still loaded. Rules for other products (Linux, network) are left out of a
Windows hunt and counted. aptlink's own rules ship in ``aptlink/hunt/rules/``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aptlink.hunt.logsources import EventSource
from aptlink.hunt.tree import Node, leaves
from aptlink.model import technique_id

if TYPE_CHECKING:  # pySigma (and YAML) are imported only when rules are compiled, not cached
    from sigma.correlations import SigmaCorrelationRule
    from sigma.filters import SigmaFilter
    from sigma.rule import SigmaRule

    from aptlink.hunt.correlate import Correlation

PACKAGE_RULES = Path(__file__).parent / "rules"
LEVELS = ("informational", "low", "medium", "high", "critical")
TECHNIQUE_TAG = re.compile(r"^t\d{4}(\.\d{3})?$")
MAX_RULE_BYTES = 1024 * 1024


def _yaml_loader() -> Any:
    """libyaml when present: rule loading is a third of a cold start."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledRule:
    """A Sigma rule ready for the engine: metadata plus one boolean tree per event source."""

    id: str
    title: str
    level: str
    path: str
    description: str = ""
    tags: tuple[str, ...] = ()
    variants: tuple[tuple[EventSource, Node], ...] = ()
    logsource: str = ""
    name: str = ""

    @property
    def techniques(self) -> tuple[str, ...]:
        found = []
        for tag in self.tags:
            namespace, _, name = tag.partition(".")
            if namespace == "attack" and TECHNIQUE_TAG.match(name):
                found.append(technique_id(name))
        return tuple(found)

    @property
    def tactics(self) -> tuple[str, ...]:
        return tuple(
            tag.partition(".")[2]
            for tag in self.tags
            if tag.startswith("attack.")
            and not TECHNIQUE_TAG.match(tag.partition(".")[2])
            and not re.match(r"^[gs]\d{4}$", tag.partition(".")[2])
        )

    @property
    def level_rank(self) -> int:
        return LEVELS.index(self.level) if self.level in LEVELS else 2

    def fields(self) -> tuple[str, ...]:
        names = {leaf.field for _, node in self.variants for leaf in leaves(node) if leaf.field}
        return tuple(sorted(names))


@dataclasses.dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule file or rule that was not loaded, and why."""

    path: str
    reason: str
    rule: str = ""

    def __str__(self) -> str:
        title = f" ({self.rule})" if self.rule else ""
        return f"{self.path}{title}: {self.reason}"


@dataclasses.dataclass(slots=True)
class RuleSet:
    """The rules of one hunt, the problems met loading them, and the correlation rules."""

    rules: list[CompiledRule] = dataclasses.field(default_factory=list)
    problems: list[RuleProblem] = dataclasses.field(default_factory=list)
    correlations: list[Correlation] = dataclasses.field(default_factory=list)
    other_products: int = 0
    files: int = 0
    quiet: frozenset[str] = frozenset()  # kept below --min-level only for a correlation to read
    filters: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)  # applied:
    # (file, title, how many rules it narrowed)

    def at_least(self, level: str) -> RuleSet:
        """Only the rules and correlations at ``level`` or above (``--min-level``), and, quiet
        (matched, not reported), the lower ones a kept correlation reads, through its chain."""
        rank = LEVELS.index(level)
        correlations = [c for c in self.correlations if _rank(c.level) >= rank]
        wanted = {r for c in correlations for r in c.rules}
        by_id = {c.id: c for c in self.correlations}
        pending = list(wanted)
        while pending:  # the inner links of a chain, whatever their level
            inner = by_id.get(pending.pop())
            if inner is not None and inner not in correlations:
                correlations.append(inner)
                fresh = set(inner.rules) - wanted
                wanted |= fresh
                pending.extend(fresh)
        correlations = [c for c in self.correlations if c in correlations]  # chain order kept
        rules = [r for r in self.rules if r.level_rank >= rank or r.id in wanted]
        quiet = {r.id for r in rules if r.level_rank < rank}
        quiet |= {c.id for c in correlations if _rank(c.level) < rank}
        return dataclasses.replace(
            self, rules=rules, correlations=correlations, quiet=self.quiet | quiet
        )


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("medium")


def default_rule_dirs() -> list[Path]:
    """aptlink's own rules plus the SigmaHQ Windows rules that ``kb sync`` left in the cache."""
    dirs = [PACKAGE_RULES]
    cache = Path(os.environ.get("APTLINK_CACHE") or Path.home() / ".cache" / "aptlink")
    for candidate in (cache / "sigma" / "rules" / "windows", cache / "sigma" / "windows"):
        if candidate.is_dir():
            dirs.append(candidate)
            break
    return dirs


def rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every .yml/.yaml file under the given files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith((".yml", ".yaml")):
                        yield Path(root) / name
        else:
            yield path


def load_rules(paths: Sequence[Path], *, cache: bool = True) -> RuleSet:
    """Load and compile every rule under ``paths``; problems are collected, never raised.

    With ``cache``, a rule set compiled before from the same files (same paths, sizes and times)
    is read back from the cache instead (see ``aptlink.hunt.rulecache``)."""
    if not cache:
        return compile_rules(paths)
    from aptlink.hunt import rulecache

    files = list(rule_files(paths))
    key = rulecache.cache_key(files)
    where = rulecache.cache_file(paths)
    cached = rulecache.read(where, key)
    if cached is not None:
        return cached
    ruleset = compile_rules(files)
    rulecache.write(where, key, ruleset)
    return ruleset


def compile_rules(paths: Sequence[Path]) -> RuleSet:
    """Load and compile every rule under ``paths`` (no cache). Every file is read first, so that
    a Sigma filter applies to the rules it names whichever file they are in."""
    ruleset = RuleSet()
    read = _Read()
    for path in rule_files(paths):
        ruleset.files += 1
        _read_file(path, ruleset, read)
    _apply_filters(read, ruleset)
    seen: set[str] = set()
    for rule, where in read.rules:
        item = _compile(rule, where, ruleset)
        if item is None:
            continue
        if item.id in seen:
            ruleset.problems.append(RuleProblem(item.path, "duplicate rule id", item.id))
            continue
        seen.add(item.id)
        ruleset.rules.append(item)
    _add_correlations(ruleset, read.correlations)
    return ruleset


@dataclasses.dataclass
class _Read:
    """What the rule files hold, before filters are applied and rules compiled."""

    rules: list[tuple[SigmaRule, str]] = dataclasses.field(default_factory=list)
    correlations: list[tuple[SigmaCorrelationRule, str]] = dataclasses.field(default_factory=list)
    filters: list[tuple[SigmaFilter, str]] = dataclasses.field(default_factory=list)


def _apply_filters(read: _Read, ruleset: RuleSet) -> None:
    """Each Sigma filter (meta filter specification) ANDed to the condition of every rule it
    names, by id or name, whose log source it covers (pySigma's ``apply_on_rule``); a filter
    that applies to no loaded rule is reported, since its exclusions would silently do nothing."""
    from sigma.exceptions import SigmaError

    for sigma_filter, where in read.filters:
        applied = 0
        for rule, _ in read.rules:
            before = list(rule.detection.condition)
            try:
                sigma_filter.apply_on_rule(rule)
            except (SigmaError, ValueError, TypeError, KeyError) as exc:
                rule.detection.condition = before
                rule.detection.__post_init__()  # the rule as it was (its condition reparsed)
                ruleset.problems.append(RuleProblem(where, _reason(exc), str(sigma_filter.title)))
                break
            applied += rule.detection.condition != before
        title = str(sigma_filter.title)
        if applied:
            ruleset.filters.append((where, title, applied))
        else:
            ruleset.problems.append(RuleProblem(where, "filter applies to no loaded rule", title))


def _add_correlations(ruleset: RuleSet, pending: list[tuple[SigmaCorrelationRule, str]]) -> None:
    """Correlation rules, with their rule references (names or ids) resolved to loaded rules."""
    from sigma.exceptions import SigmaError

    from aptlink.hunt.correlate import correlation_id, from_sigma, in_order

    names = {r.name: r.id for r in ruleset.rules if r.name}
    for rule, _ in pending:  # a correlation may name another one (a chain)
        if rule.name:
            names[str(rule.name)] = correlation_id(rule)
    names.update({r.id: r.id for r in ruleset.rules})
    loaded: list[Correlation] = []
    for rule, where in pending:
        try:
            loaded.append(from_sigma(rule, where, names))
        except (ValueError, AttributeError, SigmaError) as exc:
            ruleset.problems.append(RuleProblem(where, _reason(exc), str(rule.title)))
    while True:  # one that names a correlation not loaded cannot be evaluated either
        known = {r.id for r in ruleset.rules} | {c.id for c in loaded}
        broken = [c for c in loaded if any(r not in known for r in c.rules)]
        if not broken:
            break
        for c in broken:
            missing = ", ".join(r for r in c.rules if r not in known)
            ruleset.problems.append(
                RuleProblem(c.path, f"refers to rules not loaded: {missing}", c.title)
            )
        loaded = [c for c in loaded if c not in broken]
    ordered, looping = in_order(loaded)
    for c in looping:
        ruleset.problems.append(
            RuleProblem(c.path, "correlation chain loops back on itself", c.title)
        )
    ruleset.correlations.extend(ordered)


def _read_file(path: Path, ruleset: RuleSet, read: _Read) -> None:
    import yaml
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    where = str(path)
    try:
        if path.stat().st_size > MAX_RULE_BYTES:
            raise ValueError(f"rule file is over {MAX_RULE_BYTES} bytes")
        docs = [d for d in yaml.load_all(path.read_text("utf-8"), Loader=_yaml_loader()) if d]
        # filters and rule references are ours to apply and resolve, across files
        collection = SigmaCollection.from_dicts(
            docs, collect_errors=True, collect_filters=True, resolve_references=False
        )
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError, SigmaError) as exc:
        ruleset.problems.append(RuleProblem(where, _reason(exc)))
        return
    _sort(collection, where, ruleset, read)


def _sort(collection: Any, where: str, ruleset: RuleSet, read: _Read) -> None:
    """The file's detection rules (Windows ones), correlations and filters, each to its list."""
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaRule

    for rule in collection.rules:
        if isinstance(rule, SigmaCorrelationRule):
            read.correlations.append((rule, where))
        elif not isinstance(rule, SigmaRule):
            continue
        elif rule.logsource.product not in (None, "windows"):
            ruleset.other_products += 1
        else:
            read.rules.append((rule, where))
    for sigma_filter in collection.filters:
        if sigma_filter.errors:
            reason = "; ".join(_reason(e) for e in sigma_filter.errors)
            ruleset.problems.append(RuleProblem(where, reason, str(sigma_filter.title)))
        else:
            read.filters.append((sigma_filter, where))


def _compile(rule: SigmaRule, where: str, ruleset: RuleSet) -> CompiledRule | None:
    from sigma.exceptions import SigmaError

    from aptlink.hunt.compile import UnsupportedRule, compile_condition, make_op, rename
    from aptlink.hunt.logsources import sources_for

    name = rule.title or ""
    if rule.errors:
        ruleset.problems.append(
            RuleProblem(where, "; ".join(_reason(e) for e in rule.errors), name)
        )
        return None
    try:
        trees = [compile_condition(c.parsed) for c in rule.detection.parsed_condition]
    except (SigmaError, UnsupportedRule, ValueError, TypeError, KeyError) as exc:
        ruleset.problems.append(RuleProblem(where, _reason(exc), name))
        return None
    node = make_op("or", tuple(trees))
    logsource = rule.logsource
    sources = sources_for(logsource.product, logsource.category, logsource.service)
    variants = tuple((src, rename(node, src.field_map) if src.fields else node) for src in sources)
    return CompiledRule(
        id=str(rule.id or name),
        title=name,
        level=str(rule.level.name.lower()) if rule.level else "medium",
        path=where,
        description=str(rule.description or ""),
        tags=tuple(f"{t.namespace}.{t.name}".lower() for t in rule.tags),
        variants=variants,
        logsource=":".join(
            x or "" for x in (logsource.product, logsource.category, logsource.service)
        ),
        name=str(rule.name or ""),
    )


def _reason(exc: BaseException) -> str:
    """One line: the error's class, its first line, and the line/column when YAML knows them."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    mark = getattr(exc, "problem_mark", None)
    place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None)
    if problem and mark is not None:
        text = str(problem)
    return f"{type(exc).__name__}: {text}{place}"[:300]
