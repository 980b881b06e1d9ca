"""Sub-commands beyond the pipeline ones in cli.py, one module each; each has ``register(app)``."""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    from aptlink.commands import exposure, hunt, kb, report, serve, triage

    for module in (kb, triage, hunt, exposure, report, serve):
        module.register(app)
