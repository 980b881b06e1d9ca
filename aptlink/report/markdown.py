"""report.md: the case as an analyst reads it (templates/report.md.j2 over view.build)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from aptlink.kb import KnowledgeBase
from aptlink.pipeline import CaseResult
from aptlink.report import view

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
ACH_MARKS = {"consistent": "+", "inconsistent": "−", "": ""}


def md(text: object) -> str:
    """Plain text safe inside a Markdown table cell or list item (evidence text is hostile)."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def code(text: object) -> str:
    """Text safe inside a backtick span."""
    return " ".join(str(text).split()).replace("`", "'").replace("|", "\\|")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aptlink.report", "templates"),
        autoescape=False,  # Markdown, not HTML: the md/code filters escape instead
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(md=md, code=code, ach_mark=lambda c: ACH_MARKS.get(c, c))
    return env


def render(case: CaseResult, kb: KnowledgeBase | None, built: dict[str, Any] | None = None) -> str:
    """The report; ``built`` is ``view.build(case, kb)`` when the caller has it already."""
    context = built if built is not None else view.build(case, kb)
    text = environment().get_template("report.md.j2").render(**context)
    return re.sub(r"\n{3,}", "\n\n", text)


def write(
    case: CaseResult, path: Path, kb: KnowledgeBase | None, built: dict[str, Any] | None = None
) -> Path:
    path.write_text(render(case, kb, built), encoding="utf-8")
    return path
