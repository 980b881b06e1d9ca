"""Mail triage as a library: a verdict with reasons for every mail in files, folders or bytes.

``iter_triage`` reads .eml, Maildir files, mbox and .msg (folders recursively), judges each mail with
the phishing detector's :class:`~aptlink.detect.phishing.Judge`, and yields one
:class:`TriageResult` per mail, in input order, using several processes when asked. A file given by
name that is not a mail (a .docx, .lnk, .zip, .pdf, script … as an analyst receives it from a
quarantine or a user) is judged as a lone attachment: the same attachment analysis and weights,
without the mail's sender, lure and link signals. A file that
cannot be read becomes a result with an error, never an exception, so one bad mail never stops a
batch. The ``aptlink triage`` command presents these results.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from aptlink.analysis.filetype import MSG_MARK, OLE_MAGIC
from aptlink.detect.maildomains import Directory, Person
from aptlink.detect.phishing import Judge, load_rules
from aptlink.errors import AptlinkError
from aptlink.evidence.base import Limits, ParseContext, is_regular, path_text
from aptlink.evidence.email import (
    MBOX_SEP,
    Mail,
    MailAttachment,
    looks_like_rfc822,
    parse_message_bytes,
    split_mbox,
)
from aptlink.model import Provenance, Reason

MAIL_EXTENSIONS = frozenset({".eml", ".msg", ".mbox", ".mbx", ".email", ".mail"})
# File types a mail file itself may be read as: judged as mail, never as a lone attachment.
NOT_ATTACHMENTS = frozenset({"eml", "msg", "text", "data"})
MAX_SNIFF = 1 << 20  # the type of a lone file is told from its first megabyte


@dataclasses.dataclass(frozen=True, slots=True)
class TriageConfig:
    """What every worker needs to judge mails the same way."""

    lexicons: tuple[Path, ...] = ()
    people: tuple[Person, ...] = ()
    limits: Limits = dataclasses.field(default_factory=Limits)
    use_kb: bool = True  # known attacker indicators from the offline knowledge base


@dataclasses.dataclass(slots=True)
class TriageResult:
    """The verdict on one mail (or why a file could not be judged)."""

    path: str
    record: str | None = None
    message_id: str = ""
    subject: str = ""
    sender: str = ""  # the sender judged; for a forwarded report, the one who wrote the lure
    forwarded_by: str | None = None
    verdict: str = "clean"
    score: float = 0.0
    reasons: list[Reason] = dataclasses.field(default_factory=list)
    techniques: list[str] = dataclasses.field(default_factory=list)
    indicators: list[str] = dataclasses.field(default_factory=list)
    victim: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    kind: str = "mail"  # or "attachment": a file given on its own, judged as an attachment

    def to_json(self) -> dict[str, Any]:
        """The JSON-lines record of ``aptlink triage --json``."""
        record: dict[str, Any] = {
            "path": self.path if self.record is None else f"{self.path}#{self.record}",
            "message_id": self.message_id,
            "verdict": self.verdict,
            "score": self.score,
            "reasons": [
                {"code": r.code, "detail": r.detail, "technique": r.technique} for r in self.reasons
            ],
            "techniques": self.techniques,
            "indicators": self.indicators,
        }
        if self.subject:
            record["subject"] = self.subject
        if self.sender:
            record["sender"] = self.sender
        if self.forwarded_by:
            record["forwarded_by"] = self.forwarded_by
        if self.victim:
            record["victim"] = self.victim
        if self.error:
            record["error"] = self.error
        if self.kind != "mail":
            record["kind"] = self.kind
        return record


def make_judge(config: TriageConfig) -> Judge:
    directory = Directory()
    directory.extend(config.people)
    kb = _knowledge_base() if config.use_kb else None
    return Judge(load_rules(config.lexicons), directory, kb=kb, limits=config.limits)


@functools.lru_cache(maxsize=1)
def _knowledge_base() -> Any:
    """The offline knowledge base, once a process; triage goes on without it if it cannot load."""
    try:
        from aptlink.kb import KnowledgeBase

        return KnowledgeBase.load()
    except Exception:  # a broken cache must not stop triage; the IOC signals are then absent
        return None


# --- one input ------------------------------------------------------------------------------


def is_mail_file(path: Path) -> bool:
    """Whether a file met while walking a folder is worth judging as mail (content first)."""
    if not is_regular(path):  # a named pipe in a folder: opening it would block the batch
        return False
    if path.suffix.lower() in MAIL_EXTENSIONS:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return looks_like_rfc822(head) or head.startswith(b"From ")


def triage_bytes(data: bytes, path: str, judge: Judge) -> list[TriageResult]:
    """Verdicts for the mail(s) in one file's bytes: .eml, mbox or .msg, told apart by content."""
    if not data.strip():  # nothing in it can harm; it is no mail without a sender either
        return [TriageResult(path=path, reasons=[Reason(code="content:empty", detail=EMPTY)])]
    sha = hashlib.sha256(data).hexdigest()
    if data.startswith(OLE_MAGIC) and (MSG_MARK in data or path.lower().endswith(".msg")):
        return [_judge_msg(data, path, sha, judge)]
    if data.startswith(b"From ") and MBOX_SEP.match(data.split(b"\n", 1)[0].rstrip(b"\r")):
        return [
            _judge(chunk, path, sha, judge, f"message {n}", "mbox")
            for n, chunk in enumerate(split_mbox(data), 1)
        ]
    kind = attachment_kind(data, path)
    if kind is not None:
        return [_judge_attachment(data, path, sha, judge, kind)]
    return [_judge(data, path, sha, judge, None, "eml")]


EMPTY = "the file is empty (or blank): nothing to judge"


def attachment_kind(data: bytes, path: str) -> str | None:
    """The file type when ``data`` is a file that travels as an attachment (document, archive,
    shortcut, executable, script, HTML), None when it is, or may be, a mail: text that is not
    HTML or a script is judged as a (perhaps broken) mail, as before."""
    from aptlink.analysis.filetype import detect

    if looks_like_rfc822(data[:4096]):
        return None
    kind = detect(Path(path).name, data[:MAX_SNIFF] if len(data) > MAX_SNIFF else data)
    return None if kind in NOT_ATTACHMENTS else kind


def triage_file(path: Path, judge: Judge) -> list[TriageResult]:
    limit, name = judge.limits.max_file_bytes, path_text(path)
    try:
        size = path.stat().st_size
        if size > limit:
            return [failed(name, f"file of {size} bytes is over the size limit")]
        with path.open("rb") as fh:  # a pipe (<(...)) or a device reports no size
            return triage_stream(fh, name, judge)
    except OSError as exc:
        return [failed(name, f"cannot read: {exc.strerror or exc}")]


def triage_stream(stream: BinaryIO, name: str, judge: Judge) -> list[TriageResult]:
    """Verdicts for what a stream holds, read up to the size limit (a device or a pipe fed by
    ``cat /dev/zero`` never ends): more than that is an error, not a memory exhausted."""
    limit = judge.limits.max_file_bytes
    data = read_at_most(stream, limit + 1)
    if len(data) > limit:
        return [failed(name, f"more than {limit} bytes: over the size limit")]
    return triage_bytes(data, name, judge)


def read_at_most(stream: BinaryIO, most: int) -> bytes:
    """The first ``most`` bytes of a stream, or all of it if shorter. A regular file is asked
    for its own size first: a read of ``most`` bytes sets aside that much memory (200 MB) before
    it reads a mail of a few KB, 70 us a file. A pipe or a device, with no size, is read as is."""
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, ValueError, AttributeError):  # BytesIO and the like have no descriptor
        size = 0
    if not 0 < size < most:
        return stream.read(most)
    data = stream.read(size + 1)
    if len(data) <= size:  # the end of the file
        return data
    return data + stream.read(most - len(data))  # it grew since: on, up to the bound


def _judge(
    data: bytes, path: str, sha: str, judge: Judge, record: str | None, parser: str
) -> TriageResult:
    prov = Provenance(file=path, sha256=sha, record=record, chain=(parser,))
    ctx = ParseContext(limits=judge.limits)
    try:
        mail = parse_message_bytes(data, prov, ctx)
        return _result(mail, prov, judge, ctx)
    except Exception as exc:  # a parser or detector bug on hostile input must not stop the batch
        return failed(path, f"{type(exc).__name__}: {exc}", record)


def _judge_attachment(data: bytes, path: str, sha: str, judge: Judge, kind: str) -> TriageResult:
    """A file on its own, judged by the attachment signals alone (no sender, lure or links)."""
    prov = Provenance(file=path, sha256=sha, chain=("attachment",))
    name = Path(path).name if path != "-" else f"stdin.{kind}"
    lone = MailAttachment(name=name, content_type="", data=data, size=len(data))
    try:
        found = list(
            judge.attachment_reasons(Mail(headers=(), sender=None, attachments=(lone,)), prov)
        )
    except Exception as exc:  # an analyser bug on hostile input must not stop the batch
        return failed(path, f"{type(exc).__name__}: {exc}")
    reasons = judge.ranked(found)  # one per code, as inside a mail
    score = judge.score(reasons)
    return TriageResult(
        path=path,
        verdict=str(judge.verdict(score)),
        score=score,
        reasons=reasons,
        techniques=sorted({r.technique for r in reasons if r.technique}),
        indicators=[sha],
        kind="attachment",
    )


def _judge_msg(data: bytes, path: str, sha: str, judge: Judge) -> TriageResult:
    from aptlink.evidence.msg import parse_msg_bytes

    prov = Provenance(file=path, sha256=sha, chain=("msg",))
    ctx = ParseContext(limits=judge.limits)
    try:
        return _result(parse_msg_bytes(data, prov, ctx), prov, judge, ctx)
    except AptlinkError as exc:
        return failed(path, exc.message)
    except Exception as exc:
        return failed(path, f"{type(exc).__name__}: {exc}")


def _result(mail: Mail, prov: Provenance, judge: Judge, ctx: ParseContext) -> TriageResult:
    verdict = judge.assess(mail, prov)
    return TriageResult(
        path=prov.file,
        record=prov.record,
        message_id=mail.message_id,
        subject=mail.subject,
        sender=verdict.sender,
        forwarded_by=verdict.forwarded_by,
        verdict=str(verdict.verdict),
        score=verdict.score,
        reasons=verdict.reasons,
        techniques=verdict.techniques,
        indicators=verdict.indicators,
        victim=verdict.victim,
        warnings=[w.message for w in ctx.warnings[:20]],
    )


def failed(path: str, error: str, record: str | None = None) -> TriageResult:
    """The result for an input that could not be judged, with the reason."""
    return TriageResult(path=path, record=record, verdict="error", error=error)


# --- many inputs ----------------------------------------------------------------------------


def mail_files(paths: Iterable[Path]) -> list[Path]:
    """The files to judge: given files as they are, folders walked recursively for mail files."""
    return triage_inputs(paths)[0]


def triage_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """The files to judge (given files as they are, the mail files of folders walked
    recursively) and the files of those folders that are not mail, which are left out."""
    from aptlink.evidence.base import walk

    found: list[Path] = []
    left_out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        for file in walk([path]):
            (found if is_mail_file(file) else left_out).append(file)
    return found, left_out


_WORKER_JUDGE: Judge | None = None
_WORKER_CONFIG: TriageConfig | None = None


def _load_judge(config: TriageConfig) -> Judge:
    """The process's judge for this configuration (rules, directory, knowledge base), built once."""
    global _WORKER_JUDGE, _WORKER_CONFIG
    if _WORKER_JUDGE is None or config != _WORKER_CONFIG:
        _WORKER_JUDGE, _WORKER_CONFIG = make_judge(config), config
    return _WORKER_JUDGE


def _init_worker(config: TriageConfig) -> None:
    """A worker starts with the judge its parent loaded before forking; it builds one otherwise."""
    _load_judge(config)
    gc.freeze()  # the inherited rules and knowledge base are never garbage: skip them in collections


def _triage_chunk(paths: Sequence[Path]) -> list[TriageResult]:
    assert _WORKER_JUDGE is not None
    return [r for p in paths for r in triage_file(p, _WORKER_JUDGE)]


def iter_triage(
    files: Sequence[Path],
    config: TriageConfig | None = None,
    *,
    jobs: int = 1,
    chunk: int = 64,
    progress: Callable[[str, int, int], None] | None = None,
) -> Iterator[TriageResult]:
    """Results for every mail in the files, in order; ``jobs`` > 1 spreads chunks over processes."""
    config = config or TriageConfig()
    total = len(files)
    if jobs <= 1 or total <= chunk:
        judge = make_judge(config)
        for n, path in enumerate(files, 1):
            yield from triage_file(path, judge)
            if progress:
                progress("triage", n, total)
        return
    chunks = [files[i : i + chunk] for i in range(0, total, chunk)]
    done = 0
    _load_judge(config)  # once, here: forked workers share it instead of loading it each
    with ProcessPoolExecutor(
        jobs, mp_context=_fork_context(), initializer=_init_worker, initargs=(config,)
    ) as pool:
        for part, results in zip(chunks, pool.map(_triage_chunk, chunks), strict=True):
            done += len(part)
            yield from results
            if progress:
                progress("triage", done, total)


def _fork_context() -> multiprocessing.context.BaseContext | None:
    """Workers forked where the platform can (they start at once, sharing the loaded judge)."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
