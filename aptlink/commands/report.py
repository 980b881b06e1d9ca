"""The `aptlink report` command: write one report or export of a stored case."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from aptlink.report import FORMATS


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command(name="report")(report)


def report(
    case: Annotated[
        Path, typer.Option("--case", help="case folder (holds case.db and reports)")
    ] = Path(os.environ.get("APTLINK_CASE", "cases/default")),
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"one of: {', '.join(FORMATS)}, or all")
    ] = "md",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="file to write, or folder for all (default: the case)"),
    ] = None,
    attack: Annotated[
        Path | None,
        typer.Option("--attack", envvar="APTLINK_ATTACK", help="ATT&CK Enterprise STIX 2.1 bundle"),
    ] = None,
) -> None:
    """Write a report of a case: md, html, json, stix (STIX 2.1), misp (MISP event), navigator."""
    from aptlink.cli import load_kb
    from aptlink.cli import out as stdout
    from aptlink.report import check_format, load_case, target, write

    formats = list(FORMATS) if fmt == "all" else [check_format(fmt)]
    stored = load_case(case)  # before the knowledge base: a missing case fails fast
    if fmt == "all":
        folder = out or case
        if out is not None and not out.exists():
            out.mkdir(parents=True)  # a folder named for the reports is made, as for a case
        paths = [target(folder, f, None) for f in formats]
    else:
        paths = [target(case, fmt, out)]
    kb = None if formats == ["json"] else load_kb(attack)  # names of techniques and actors
    for f, path in zip(formats, paths, strict=True):
        stdout.print(str(write(f, stored, path, kb)))
