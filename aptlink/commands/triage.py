"""The `aptlink triage` command: one line (or JSON line) per mail with its verdict and reasons."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from aptlink.errors import ConfigError
from aptlink.evidence.base import path_text
from aptlink.textsafe import terminal_text

if TYPE_CHECKING:  # the triage machinery loads at run time, not when the CLI starts
    from aptlink.triage import TriageConfig, TriageResult


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command(name="triage")(triage)


def triage(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="mail files or folders (.eml .msg mbox Maildir); - for stdin; a file that is "
            "not a mail (document, archive, shortcut, script) is judged as a lone attachment"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, one per mail")] = False,
    directory: Annotated[
        Path | None,
        typer.Option("--directory", help="people.csv: name,address,organisation,former_staff"),
    ] = None,
    lexicon: Annotated[
        list[Path] | None, typer.Option("--lexicon", help="extra lure lexicon (YAML), repeatable")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="processes (default: all cores)")] = 0,
    no_kb: Annotated[
        bool, typer.Option("--no-kb", help="skip known-indicator lookups in the knowledge base")
    ] = False,
) -> None:
    """Judge mails: verdict, score and the reasons, with ATT&CK techniques."""
    from aptlink.cli import out, progress_bar  # late: cli imports the commands
    from aptlink.triage import default_jobs, iter_triage, triage_inputs

    config = dataclasses.replace(_config(directory, lexicon or []), use_kb=not no_kb)
    counts: Counter[str] = Counter()
    results: list[TriageResult] = []
    if "-" in paths:
        results.extend(_stdin(config))
    files = [Path(p) for p in paths if p != "-"]
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise ConfigError("no such mail path", ", ".join(missing))
    found, left_out = triage_inputs(files)
    with progress_bar() as progress:
        for result in [
            *results,
            *iter_triage(found, config, jobs=jobs or default_jobs(), progress=progress),
        ]:
            counts[result.verdict] += 1
            counts[f"kind:{result.kind}"] += 1
            _emit(result, as_json, out)
    _summary(counts, left_out, as_json, out)


def _config(directory: Path | None, lexicons: list[Path]) -> TriageConfig:
    from aptlink.detect.maildomains import Person
    from aptlink.evidence.directory import load_directory
    from aptlink.triage import TriageConfig

    for path in lexicons:
        if not path.is_file():
            raise ConfigError("lexicon not found", str(path))
    people: tuple[Person, ...] = ()
    if directory is not None:
        if not directory.is_file():
            raise ConfigError("directory not found", str(directory))
        people = tuple(p for p in load_directory(directory) if isinstance(p, Person))
    return TriageConfig(lexicons=tuple(lexicons), people=people)


def _stdin(config: TriageConfig) -> list[TriageResult]:
    from aptlink.triage import make_judge, triage_stream

    return triage_stream(sys.stdin.buffer, "-", make_judge(config))


def _emit(result: TriageResult, as_json: bool, out: Console) -> None:
    if as_json:
        out.print(json.dumps(result.to_json(), ensure_ascii=False), markup=False, highlight=False)
        return
    out.print(terminal_text(line_for(result)), markup=False, highlight=False)


def line_for(r: TriageResult) -> str:
    """One line: verdict, score, where, subject and the top three reasons with their techniques."""
    where = r.path if r.record is None else f"{r.path}#{r.record}"
    if r.error:
        return f"{'ERROR':<10} {'-':>5}  {where}  {r.error}"
    top = "; ".join(f"{x.code} ({x.technique})" if x.technique else x.code for x in r.reasons[:3])
    subject = (
        "(a lone attachment)" if r.kind == "attachment" else (r.subject or "(no subject)")[:60]
    )
    return f"{r.verdict.upper():<10} {r.score:>5.0f}  {where}  {subject!r}  {top}"


def _summary(counts: Counter[str], left_out: list[Path], as_json: bool, out: Console) -> None:
    """``N mails[, M attachments]: verdicts``, and the files of the folders that were not mail
    (left out, never silently: name one to judge it as an attachment)."""
    parts = ", ".join(
        f"{counts[v]} {v}" for v in ("malicious", "suspicious", "clean", "error") if counts[v]
    )
    mails, lone = counts["kind:mail"], counts["kind:attachment"]
    line = f"{mails} mails" + (f", {lone} attachments" if lone else "") + f": {parts or 'none'}"
    if left_out:
        shown = ", ".join(path_text(p.name) for p in left_out[:3]) + (
            ", …" if len(left_out) > 3 else ""
        )
        line += (
            f"; {len(left_out)} files in the folders are not mail and were left out ({shown}):"
            " name a file to judge it as an attachment"
        )
    if as_json:
        from aptlink.cli import console

        console.print(terminal_text(line), markup=False, highlight=False)
    else:
        out.print(terminal_text(line), markup=False, highlight=False)
