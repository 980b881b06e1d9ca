"""The `aptlink hunt` command: Sigma rules over Windows event logs (.evtx, JSON lines)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from aptlink.errors import ConfigError
from aptlink.textsafe import terminal_text

LEVELS = ("informational", "low", "medium", "high", "critical")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command(name="hunt")(hunt)


def hunt(
    paths: Annotated[
        list[Path], typer.Argument(help=".evtx, JSON-lines and XML event files, and folders")
    ],
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            "--rules",
            help="Sigma rule folder or file (repeatable; default: aptlink's "
            "own rules plus the synced SigmaHQ Windows rules)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="detections as JSON lines")] = False,
    timeline: Annotated[
        Path | None, typer.Option("--timeline", help="write a timeline (.csv or .jsonl)")
    ] = None,
    min_level: Annotated[
        str, typer.Option("--min-level", help="lowest rule level: " + ", ".join(LEVELS))
    ] = "informational",
    workers: Annotated[int, typer.Option("--workers", help="matching processes (0 = cores)")] = 0,
) -> None:
    """Run Sigma rules over Windows event logs; print detections and a summary."""
    from aptlink.cli import progress_bar
    from aptlink.hunt.output import summary, write_timeline
    from aptlink.hunt.rules import default_rule_dirs, load_rules
    from aptlink.hunt.runner import hunt as run_hunt

    _check(paths, rules or [], min_level)
    ruleset = load_rules(rules or default_rule_dirs()).at_least(min_level)
    for problem in ruleset.problems:
        typer.echo(terminal_text(f"warning: rule not loaded: {problem}"), err=True)
    with progress_bar() as progress:
        result = run_hunt(paths, ruleset, workers=workers or None, progress=progress)
    for warning in result.warnings:
        typer.echo(terminal_text(f"warning: {warning.message} ({warning.where})"), err=True)
    if timeline is not None:
        write_timeline(result.detections, timeline)
    report = summary(result, ruleset)
    if as_json:
        _write_json_lines(result.detections)
        typer.echo(json.dumps({"summary": report}, ensure_ascii=False))
    else:
        _print(result.detections, report)


def _check(paths: list[Path], rules: list[Path], min_level: str) -> None:
    missing = [str(p) for p in [*paths, *rules] if not p.exists()]
    if missing:
        raise ConfigError("no such path", ", ".join(missing))
    if min_level not in LEVELS:
        raise ConfigError(f"--min-level must be one of {', '.join(LEVELS)}", min_level)


def _write_json_lines(detections: list[Any]) -> None:
    """The detections as JSON lines on standard output, as bytes (UTF-8): the text stream is
    flushed first and the byte stream after, so they stay in order."""
    from aptlink.hunt.output import write_json_lines

    sys.stdout.flush()
    write_json_lines(detections, sys.stdout.buffer)
    sys.stdout.buffer.flush()


def _echo_lines(lines: Iterable[str], block: int = 2000) -> None:
    """Lines written a block at a time: an echo per line costs more than a big hunt's matching,
    one echo of everything holds the whole output in memory three times."""
    held: list[str] = []
    for line in lines:
        held.append(line)
        if len(held) >= block:
            typer.echo("\n".join(held))
            held = []
    if held:
        typer.echo("\n".join(held))


def _print(detections: list[Any], report: dict[str, Any]) -> None:
    _echo_lines(  # (host names, channels and titles come from the evidence and the rules)
        terminal_text(
            f"{d.time or '-'}  {d.level:<8} {d.title}  [{','.join(d.techniques) or '-'}]  "
            f"{d.computer or '-'} {d.channel or '-'}:{d.event_id or '-'} #{d.record}"
        )
        for d in detections
    )
    extra = "".join(
        f", {n} {word}{'s' if n != 1 else ''}"
        for n, word in ((report["correlations_loaded"], "correlation"),
                        (len(report["filters_applied"]), "filter"))
        if n
    )  # fmt: skip
    skipped = report["files_skipped"]
    if skipped:  # (each is in the JSON summary; named here, a few)
        names = ", ".join(list(skipped)[:3]) + (", ..." if len(skipped) > 3 else "")
        typer.echo(terminal_text(f"{len(skipped)} files skipped, not event logs: {names}"))
    typer.echo(
        f"\n{report['events']} events in {report['files']} files, {report['rules_loaded']} rules"
        f"{extra} ({report['rules_not_loaded']} not loaded): {report['detections']} detections "
        f"from {report['rules_hit']} rules"
    )
    for row in report["per_rule"][:20]:
        typer.echo(terminal_text(f"  {row['events']:>6}  {row['level']:<8} {row['title']}"))
    if report["per_tactic"]:
        typer.echo("per tactic: " + ", ".join(f"{k} {v}" for k, v in report["per_tactic"].items()))
