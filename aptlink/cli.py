"""The command line: thin. It parses options, calls the pipeline, and prints; one line per error."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aptlink.errors import AptlinkError, ConfigError

app = typer.Typer(
    name="aptlink",
    help="Find targeted attacks in evidence, link them into campaigns and name the actor, with reasons.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

DEFAULT_CASE = Path(os.environ.get("APTLINK_CASE", "cases/default"))
CaseOpt = Annotated[Path, typer.Option("--case", help="case folder (holds case.db and reports)")]
AttackOpt = Annotated[
    Path | None,
    typer.Option("--attack", envvar="APTLINK_ATTACK", help="ATT&CK Enterprise STIX 2.1 bundle"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


def interactive() -> bool:
    return console.is_terminal and not os.environ.get("CI")


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on a terminal; nothing at all under CI or in a pipe."""
    if not interactive():
        yield lambda stage, done, total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def load_kb(attack: Path | None) -> Any:
    from aptlink.kb import KnowledgeBase

    if attack is not None and not attack.is_file():
        raise ConfigError("ATT&CK bundle not found", str(attack))
    return KnowledgeBase.load(attack_path=attack)


@app.command()
def investigate(
    evidence: Annotated[list[Path], typer.Argument(help="evidence files and folders")],
    case: CaseOpt = DEFAULT_CASE,
    attack: AttackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Parse, detect, group, link and attribute; write the case store and reports."""
    from aptlink.casework import run_investigation

    missing = [str(p) for p in evidence if not p.exists()]
    if missing:
        raise ConfigError("no such evidence path", ", ".join(missing))
    with progress_bar() as progress:
        summary = run_investigation(evidence, case, load_kb(attack), progress=progress)
    _print_summary(summary, as_json)


def _print_summary(summary: Any, as_json: bool) -> None:
    from aptlink.casework import render_summary
    from aptlink.textsafe import terminal_text

    if as_json:
        import json

        out.print_json(json.dumps(summary, ensure_ascii=False))
    else:
        # the summary quotes the evidence (subjects, names): no markup, no control characters
        out.print(terminal_text(render_summary(summary)), markup=False)


@app.command()
def demo(
    case: Annotated[Path, typer.Option("--case", help="where to write the demo case")] = Path(
        "cases/demo"
    ),
    attack: AttackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the bundled example case (MirrorFace-like) and investigate it, offline."""
    from aptlink.casework import run_investigation
    from aptlink.demo import write_demo_case

    evidence_dir = write_demo_case(case / "evidence")
    if not as_json:
        out.print(f"demo evidence: {evidence_dir} (MirrorFace-like case, 2019-2024, generated)")
    with progress_bar() as progress:
        summary = run_investigation([evidence_dir], case, load_kb(attack), progress=progress)
    _print_summary(summary, as_json)


@app.command()
def link(case: CaseOpt = DEFAULT_CASE, attack: AttackOpt = None, as_json: JsonOpt = False) -> None:
    """Re-link the case's incidents into campaigns and re-attribute them."""
    from aptlink.casework import rerun

    _print_summary(rerun(case, load_kb(attack), stage="link"), as_json)


@app.command()
def attribute(
    case: CaseOpt = DEFAULT_CASE, attack: AttackOpt = None, as_json: JsonOpt = False
) -> None:
    """Re-attribute the case's campaigns (after a new knowledge base)."""
    from aptlink.casework import rerun

    summary = rerun(case, load_kb(attack), stage="attribute")
    if as_json:  # the full competing-hypotheses table, every candidate of every campaign
        import json

        from aptlink.link.attribute import ach_table

        report = json.loads((case / "report.json").read_text(encoding="utf-8"))
        summary["ach"] = ach_table(report.get("attributions", []))
    _print_summary(summary, as_json)


def _register_subcommands() -> None:
    from aptlink.commands import register_all

    register_all(app)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    _register_subcommands()
    try:
        app(args=args, prog_name="aptlink")
    except AptlinkError as exc:
        from aptlink.textsafe import terminal_text

        if debug:
            traceback.print_exc()
        # soft_wrap: one line per error whatever the terminal width
        console.print(terminal_text(f"error: {exc}"), markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("error: interrupted", markup=False)
        sys.exit(130)
