"""Attachment analysis for mail triage: what a file is, what it contains and why it is suspicious.

``analyse_attachment`` walks a file and everything inside it (archives, disk images, decrypted
documents, embedded objects, nested mails) in memory, within the bounds of
:class:`~aptlink.evidence.base.Limits`, and returns a tree of :class:`AttachmentReport` whose reasons
carry ATT&CK ids and weights on the 0-100 scale from ``data/attachment_signals.yaml``. Nothing is
written to disk or run. ``extract_passwords`` finds the passwords a mail body announces, to open
encrypted archives and documents with.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from aptlink.analysis import (
    archives,
    html,
    installers,
    lnk,
    mail,
    office,
    pdf,
    pe,
    scripts,
    text,
)
from aptlink.analysis.base import Analysis, Budget, Member, Scan, TimeUp, signals, wall_clock
from aptlink.analysis.filetype import detect, extension
from aptlink.analysis.names import check_name
from aptlink.analysis.passwords import extract_passwords
from aptlink.detect.base import Detector
from aptlink.evidence.base import Item, Limits
from aptlink.model import Finding, Kind, Observation, Provenance, Reason, Severity, Verdict

__all__ = [
    "AttachmentDetector",
    "AttachmentReport",
    "analyse_attachment",
    "extract_passwords",
    "iter_reasons",
    "signals",
]

Analyser = Callable[[str, bytes, Scan, Analysis], None]
ANALYSERS: dict[str, Analyser] = {
    **archives.ANALYSERS,
    **office.ANALYSERS,
    **lnk.ANALYSERS,
    **pe.ANALYSERS,
    **scripts.ANALYSERS,
    **pdf.ANALYSERS,
    **html.ANALYSERS,
    **mail.ANALYSERS,
    **text.ANALYSERS,
    **installers.ANALYSERS,
}
IMAGE_EXTENSIONS = frozenset({".iso", ".img", ".vhd", ".vhdx"})
MAX_STEP = 120


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentReport:
    """One file and what was found in it; ``children`` are the files found inside it."""

    name: str
    size: int
    sha256: str
    md5: str
    sha1: str
    type: str
    reasons: tuple[Reason, ...] = ()
    observations: tuple[Observation, ...] = ()
    children: tuple[AttachmentReport, ...] = ()
    encrypted: bool = False
    opened_with: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """The summed weight of every reason in the tree, capped at 100."""
        return min(100.0, sum(r.weight for r in iter_reasons(self)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, children nested (for ``--json`` output and reports)."""
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "md5": self.md5,
            "sha1": self.sha1,
            "type": self.type,
            "reasons": [r.to_dict() for r in self.reasons],
            "observations": [{"kind": str(o.kind), "value": o.value} for o in self.observations],
            "children": [c.to_dict() for c in self.children],
            "encrypted": self.encrypted,
            "opened_with": self.opened_with,
            "errors": list(self.errors),
        }

    def walk(self) -> Iterator[AttachmentReport]:
        """This report and every report below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def analyse_attachment(
    name: str,
    data: bytes,
    provenance: Provenance,
    *,
    passwords: Sequence[str] = (),
    limits: Limits | None = None,
    digests: tuple[str, str] | None = None,
) -> AttachmentReport:
    """Analyse ``data`` (a file called ``name``) and everything inside it, within ``limits``.
    ``digests``: the sha256 and md5 hex digests of ``data`` when the caller has already taken them."""
    budget = Budget.start(limits or Limits())
    scan = Scan(budget=budget, passwords=tuple(dict.fromkeys(passwords)))
    try:
        with wall_clock(budget):
            return _analyse(name, data, provenance, scan, depth=0, digests=digests)
    except TimeUp:  # the alarm struck outside an analyser: keep the file's identity at least
        out = Analysis(type=detect(name, data))
        out.error(f"analysis stopped: the {budget.limits.parse_seconds:g} s time limit was reached")
        prov = provenance.child(f"{out.type}:{name}"[:MAX_STEP])
        return _report(name, data, out.type, out, prov, (), digests)


def iter_reasons(report: AttachmentReport) -> Iterator[Reason]:
    """Every reason in the report tree, parents before children."""
    for node in report.walk():
        yield from node.reasons


def _analyse(
    name: str,
    data: bytes,
    parent: Provenance,
    scan: Scan,
    depth: int,
    digests: tuple[str, str] | None = None,
) -> AttachmentReport:
    kind = detect(name, data)
    prov = parent.child(f"{kind}:{name}"[:MAX_STEP])
    out = Analysis(type=kind)
    check_name(name, kind, out)
    if kind in ("iso", "vhd") or extension(name) in IMAGE_EXTENSIONS:
        out.flag("container-image", f"{name}: a disk image; files inside lose the Mark-of-the-Web")
    _run(ANALYSERS.get(kind), name, data, scan, out)
    children = _children(out, prov, scan, depth)
    return _report(name, data, kind, out, prov, children, digests)


def _run(analyser: Analyser | None, name: str, data: bytes, scan: Scan, out: Analysis) -> None:
    if analyser is None:
        return
    if scan.budget.expired():
        out.error(f"not analysed: the {scan.limits.parse_seconds:g} s time limit was reached")
        return
    try:
        analyser(name, data, scan, out)
    except TimeUp:
        scan.budget.deadline = 0.0  # nothing else starts once the alarm has struck
        out.error(f"analysis stopped: the {scan.limits.parse_seconds:g} s time limit was reached")
    except RecursionError:
        out.error("not analysed: structure nested too deeply")
    except Exception as exc:  # one analyser's bug must not lose the whole attachment
        out.error(f"{out.type} analysis failed: {type(exc).__name__}: {exc}"[:300])


def _children(
    out: Analysis, prov: Provenance, scan: Scan, depth: int
) -> tuple[AttachmentReport, ...]:
    if not out.members:
        return ()
    if depth + 1 > scan.limits.max_depth:
        out.flag(
            "archive-too-deep",
            f"{len(out.members)} members below depth {scan.limits.max_depth} not analysed",
        )
        return ()
    return tuple(_child(member, prov, scan, depth + 1) for member in out.members)


def _child(member: Member, prov: Provenance, scan: Scan, depth: int) -> AttachmentReport:
    inner = scan
    if member.passwords:
        merged = tuple(dict.fromkeys((*member.passwords, *scan.passwords)))
        inner = Scan(budget=scan.budget, passwords=merged)
    return _analyse(member.name, member.data, prov, inner, depth)


def _report(
    name: str,
    data: bytes,
    kind: str,
    out: Analysis,
    prov: Provenance,
    children: tuple[AttachmentReport, ...],
    digests: tuple[str, str] | None = None,
) -> AttachmentReport:
    if digests is None:
        digests = (
            hashlib.sha256(data).hexdigest(),
            hashlib.md5(data, usedforsecurity=False).hexdigest(),
        )
    sha256, md5 = digests
    sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    facts = [(Kind.SHA256, sha256), (Kind.MD5, md5), (Kind.SHA1, sha1), (Kind.FILE_NAME, name)]
    observations = [Observation(kind=k, value=v, provenance=prov) for k, v in facts if v.strip()]
    observations += [
        Observation(kind=n.kind, value=n.value, provenance=prov, context=dict(n.context))
        for n in out.notes
    ]
    return AttachmentReport(
        name=name,
        size=len(data),
        sha256=sha256,
        md5=md5,
        sha1=sha1,
        type=kind,
        reasons=tuple(out.reasons),
        observations=tuple(_unique(observations)),
        children=children,
        encrypted=out.encrypted,
        opened_with=out.opened_with,
        errors=tuple(out.errors),
    )


def _unique(observations: list[Observation]) -> Iterator[Observation]:
    seen: set[str] = set()
    for obs in observations:
        if obs.id not in seen:
            seen.add(obs.id)
            yield obs


# --- the detector for loose files ------------------------------------------------------------------

# The mail triage's default thresholds, so a file alone and a file in a mail read the same.
SUSPICIOUS_SCORE = 30.0
MALICIOUS_SCORE = 60.0


class AttachmentDetector(Detector):
    """Loose attachment-like files given to ``investigate``: the same analysis as mail attachments."""

    name = "attachment"
    description = "archives, documents, shortcuts, executables and scripts analysed as attachments"
    accepts = frozenset({"file"})
    techniques = tuple(sorted({s.technique for s in signals().values()}))

    def detect(self, item: Item) -> Iterator[Finding]:
        loose = item.data
        report = analyse_attachment(
            loose.name, loose.data, item.provenance, limits=self.ctx.parse.limits
        )
        reasons = tuple(iter_reasons(report))
        if reasons:
            yield self._finding(item, report, reasons)

    def _finding(
        self, item: Item, report: AttachmentReport, reasons: tuple[Reason, ...]
    ) -> Finding:
        score = report.score
        verdict = verdict_for(score)
        return Finding(
            detector=self.name,
            title=f"{verdict} file: {report.name}",
            severity=SEVERITY[verdict],
            score=score,
            provenance=item.provenance,
            reasons=reasons,
            observations=tuple(o for node in report.walk() for o in node.observations),
            group_key=f"file:{report.sha256}",
            verdict=verdict,
            extra={"type": report.type, "errors": [e for n in report.walk() for e in n.errors]},
        )


SEVERITY = {
    Verdict.MALICIOUS: Severity.HIGH,
    Verdict.SUSPICIOUS: Severity.MEDIUM,
    Verdict.CLEAN: Severity.INFO,
}


def verdict_for(score: float) -> Verdict:
    """The verdict for a summed score, on the mail triage's default thresholds."""
    if score >= MALICIOUS_SCORE:
        return Verdict.MALICIOUS
    if score >= SUSPICIOUS_SCORE:
        return Verdict.SUSPICIOUS
    return Verdict.CLEAN
