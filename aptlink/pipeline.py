"""The investigation pipeline: evidence files -> items -> findings -> incidents -> campaigns ->
attributions. Each stage is a function over plain records, so the CLI, the web layer and the tests
drive the same code. Nothing here touches a database or the terminal.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aptlink import detect as _detectors  # noqa: F401  (registers the detectors)
from aptlink import evidence as _parsers  # noqa: F401  (registers the parsers)
from aptlink.analysis.base import TimeUp, alarm
from aptlink.detect.base import DETECTORS, DetectContext, Detector
from aptlink.errors import AptlinkError, EvidenceError, UnsupportedEvidence
from aptlink.evidence.base import (
    NOT_REGULAR,
    Item,
    ParseContext,
    Source,
    Warning_,
    choose_parser,
    is_regular,
    path_text,
    walk,
)
from aptlink.hunt.unpack import Unpacked, is_collection
from aptlink.kb import KnowledgeBase
from aptlink.link.attribute import attribute
from aptlink.link.campaigns import link_incidents
from aptlink.link.incidents import group_findings
from aptlink.model import Attribution, Campaign, Evidence, Finding, Incident, Status

Progress = Callable[[str, int, int], None]

# Items that describe the case rather than attacks (who works where, which devices exist) go to
# the detectors first, so that mail and log detectors can use them; so do incidents shared from
# outside, whose indicators the intel-match detector sweeps the event logs for.
CONTEXT_KINDS = ("directory", "organisations", "inventory", "external-incident")


@dataclasses.dataclass(slots=True)
class CaseResult:
    """Everything one run produced, in pipeline order."""

    evidence: list[Evidence] = dataclasses.field(default_factory=list)
    warnings: list[Warning_] = dataclasses.field(default_factory=list)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    incidents: list[Incident] = dataclasses.field(default_factory=list)
    campaigns: list[Campaign] = dataclasses.field(default_factory=list)
    attributions: list[Attribution] = dataclasses.field(default_factory=list)
    mitigations: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


def ingest_file(
    path: Path, ctx: ParseContext, name: str | None = None
) -> tuple[Evidence, list[Item]]:
    """Parse one file; a bad file becomes a skipped or failed Evidence, never an exception.
    ``name``: what to call it when ``path`` stands in for it (a collection's member)."""
    where = name or path_text(path)
    if not is_regular(path):  # reading a named pipe in an evidence folder would block the run
        return Evidence(
            path=where, sha256="0" * 64, size=0, status=Status.SKIPPED, reason=NOT_REGULAR
        ), []
    source = Source(path, ctx.limits, name=name)
    try:
        size, sha = source.size, source.sha256
    except OSError as exc:
        return Evidence(
            path=where,
            sha256="0" * 64,
            size=0,
            status=Status.FAILED,
            reason=f"cannot read: {exc.strerror or exc}",
        ), []
    if size == 0:
        return Evidence(
            path=where, sha256=sha, size=0, status=Status.SKIPPED, reason="empty file"
        ), []
    parser_cls = choose_parser(source)
    if parser_cls is None:
        return Evidence(
            path=where,
            sha256=sha,
            size=size,
            status=Status.SKIPPED,
            reason="no parser recognises this format",
        ), []
    return _run_parser(parser_cls(), source, ctx)


def _run_parser(parser: Any, source: Source, ctx: ParseContext) -> tuple[Evidence, list[Item]]:
    base = {
        "path": source.where,
        "sha256": source.sha256,
        "size": source.size,
        "format": parser.name,
    }
    seconds = ctx.limits.file_seconds(source.size)
    try:
        with alarm(seconds):
            items = list(parser.parse(source, ctx))
    except TimeUp:
        reason = f"parsing stopped: over the {seconds:.0f} s time limit for this file"
        return Evidence(**base, status=Status.FAILED, reason=reason), []
    except UnsupportedEvidence as exc:
        return Evidence(**base, status=Status.SKIPPED, reason=exc.message), []
    except EvidenceError as exc:
        return Evidence(**base, status=Status.FAILED, reason=exc.message), []
    except Exception as exc:  # a parser bug on hostile input must not stop the run
        return Evidence(**base, status=Status.FAILED, reason=f"{type(exc).__name__}: {exc}"), []
    return Evidence(**base, status=Status.ANALYSED), items


def ingest(
    paths: Sequence[Path], ctx: ParseContext, progress: Progress | None = None
) -> tuple[list[Evidence], list[Item]]:
    files = list(walk(paths))
    evidence: list[Evidence] = []
    items: list[Item] = []
    seen: dict[str, str] = {}
    unpacked = Unpacked()  # a collection's event logs, hunted as files of their own
    try:
        for n, path in enumerate(files, 1):
            for member, name in [(path, None), *_collection_members(path, unpacked, evidence)]:
                ev, found = _ingest_once(member, name, ctx, seen, unpacked)
                evidence.append(ev)
                items.extend(found)
            if progress:
                progress("parse", n, len(files))
    finally:
        unpacked.remove()
    return evidence, items


def _ingest_once(
    path: Path, name: str | None, ctx: ParseContext, seen: dict[str, str], unpacked: Unpacked
) -> tuple[Evidence, list[Item]]:
    """``ingest_file``, a file seen before (same sha256) skipped as its duplicate; a member's
    warnings name it, not its stand-in."""
    warned = len(ctx.warnings)
    ev, found = ingest_file(path, ctx, name)
    if name is not None:
        ctx.warnings[warned:] = [
            dataclasses.replace(w, where=unpacked.label(w.where)) for w in ctx.warnings[warned:]
        ]
    if ev.status is Status.ANALYSED and ev.sha256 in seen:
        ev = dataclasses.replace(
            ev, status=Status.SKIPPED, reason=f"duplicate of {seen[ev.sha256]}"
        )
        found = []
    seen.setdefault(ev.sha256, ev.path)
    return ev, found


def _collection_members(
    path: Path, unpacked: Unpacked, evidence: list[Evidence]
) -> list[tuple[Path, str]]:
    """The event logs in a ZIP collection (Velociraptor, KAPE --zip), unpacked, with their names
    ``archive!member``; the members refused, as skipped or failed evidence. The archive itself
    is also analysed, as any file."""
    if not is_collection(path):
        return []
    skipped, failed = len(unpacked.skipped), len(unpacked.failed)
    members = [(m, unpacked.names[path_text(m)]) for m in unpacked.unpack(path)]
    for name, reason in list(unpacked.skipped.items())[skipped:]:
        evidence.append(_refused(name, Status.SKIPPED, reason))
    for name, reason in list(unpacked.failed.items())[failed:]:
        if name != path_text(path):  # (an unreadable archive: analysed as any file too)
            evidence.append(_refused(name, Status.FAILED, reason))
    return members


def _refused(name: str, status: Status, reason: str) -> Evidence:
    return Evidence(path=name, sha256="0" * 64, size=0, status=status, reason=reason)


def run_detectors(
    items: Sequence[Item],
    ctx: DetectContext,
    detectors: Sequence[type[Detector]] | None = None,
    progress: Progress | None = None,
) -> list[Finding]:
    active = [cls(ctx) for cls in (detectors or DETECTORS.all())]
    findings: dict[str, Finding] = {}
    items = sorted(items, key=_context_first)
    for n, item in enumerate(items, 1):
        for det in active:
            if item.kind in det.accepts:
                for f in _guarded(det, item, ctx):
                    findings.setdefault(f.id, f)
        if progress:
            progress("detect", n, len(items))
    for det in active:
        for f in det.finalize():
            findings.setdefault(f.id, f)
    return list(findings.values())


def _context_first(item: Item) -> int:
    return 0 if item.kind in CONTEXT_KINDS else 1


def _guarded(det: Detector, item: Item, ctx: DetectContext) -> list[Finding]:
    try:
        return list(det.detect(item))
    except AptlinkError as exc:
        ctx.parse.warn(item.provenance.where(), f"detector {det.name}: {exc}")
    except Exception as exc:  # one detector's bug on one item must not stop the run
        ctx.parse.warn(item.provenance.where(), f"detector {det.name}: {type(exc).__name__}: {exc}")
    return []


def mitigations_for(techniques: Iterable[str], kb: KnowledgeBase | None) -> list[dict[str, Any]]:
    """ATT&CK mitigations for the techniques seen, most widely applicable first."""
    if kb is None:
        return []
    return kb.mitigations_for(sorted(set(techniques)))


def investigate(
    paths: Sequence[Path],
    kb: KnowledgeBase | None,
    *,
    options: dict[str, Any] | None = None,
    parse_ctx: ParseContext | None = None,
    progress: Progress | None = None,
    link: bool = True,
) -> CaseResult:
    """The main job, end to end, in memory. The caller stores and reports the result.
    ``link=False`` stops after the detectors: a caller that adds the run to a stored case
    groups, links and attributes the whole case afterwards, not the run alone."""
    result = CaseResult()
    pctx = parse_ctx or ParseContext(options=dict(options or {}))
    t0 = time.perf_counter()
    result.evidence, items = ingest(paths, pctx, progress)
    t1 = time.perf_counter()
    dctx = DetectContext(kb=kb, options=dict(options or {}), parse=pctx)
    case_dir = (options or {}).get("case_dir")
    dctx.case_dir = Path(case_dir) if case_dir else None
    result.findings = run_detectors(items, dctx, progress=progress)
    t2 = time.perf_counter()
    if link:
        analyse(result, kb)
    result.warnings = pctx.warnings
    result.timings = {"parse": t1 - t0, "detect": t2 - t1}
    if link:
        result.timings["link"] = time.perf_counter() - t2
    return result


def analyse(result: CaseResult, kb: KnowledgeBase | None) -> CaseResult:
    """Group, link and attribute: the stages that `aptlink link` and `attribute` re-run."""
    result.incidents = group_findings(result.findings)
    relink(result, kb)
    return result


def relink(result: CaseResult, kb: KnowledgeBase | None) -> CaseResult:
    result.campaigns = link_incidents(result.incidents, kb)
    return reattribute(result, kb)


def reattribute(result: CaseResult, kb: KnowledgeBase | None) -> CaseResult:
    result.attributions = attribute(result.campaigns, result.incidents, kb)
    seen = {t for i in result.incidents for t in i.techniques}
    result.mitigations = mitigations_for(seen, kb)
    return result
