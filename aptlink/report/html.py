"""report.html: the Markdown report's content as one self-contained page (inline CSS, no scripts,
no external assets), escaped throughout because evidence text is hostile."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from aptlink.kb import KnowledgeBase
from aptlink.pipeline import CaseResult
from aptlink.report import view
from aptlink.report.markdown import ACH_MARKS


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aptlink.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["ach_mark"] = lambda c: ACH_MARKS.get(c, c)
    return env


def render(case: CaseResult, kb: KnowledgeBase | None, built: dict[str, Any] | None = None) -> str:
    """The page; ``built`` is ``view.build(case, kb)`` when the caller has it already."""
    context = built if built is not None else view.build(case, kb)
    return environment().get_template("report.html.j2").render(**context)


def write(
    case: CaseResult, path: Path, kb: KnowledgeBase | None, built: dict[str, Any] | None = None
) -> Path:
    path.write_text(render(case, kb, built), encoding="utf-8")
    return path
