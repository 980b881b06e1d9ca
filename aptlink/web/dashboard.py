"""The dashboard: the case's HTML report (one self-contained page, no scripts, no external assets)
with a bar of actions on top: add evidence, re-link, re-attribute (plain HTML forms), exports, API."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aptlink.errors import AptlinkError
from aptlink.report import FORMATS, html, view
from aptlink.web.api import Service, upload_limits
from aptlink.web.errors import status_of
from aptlink.web.service import CaseService
from aptlink.web.uploads import Upload, stage

router = APIRouter(include_in_schema=False)


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("aptlink.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def page(svc: CaseService, error: str | None = None) -> str:
    """The report of the case with the dashboard bar and an incident overview after <body>."""
    case = svc.load_or_empty()
    data = view.build(case, svc.kb)
    bar = (
        environment()
        .get_template("nav.html.j2")
        .render(
            case_dir=str(svc.case_dir),
            exists=bool(case.evidence),
            formats=list(FORMATS),
            error=error,
            overview=overview(data),
        )
    )
    body = html.environment().get_template("report.html.j2").render(**data)
    head, marker, rest = body.partition("<body>")
    return head + marker + "\n" + bar + rest if marker else bar + body


def overview(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per incident: the report's incident with the campaign holding it and its verdict."""
    held = {
        i["ref"]: (c["ref"], c["attribution"]["verdict"])
        for c in data["campaigns"]
        for i in c["incidents"]
    }
    return [{**i, "campaign": held.get(i["ref"], ("", ""))} for i in data["incidents"]]


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def dashboard(svc: Service) -> HTMLResponse:
    return HTMLResponse(page(svc))


@router.post("/dashboard/investigate")
def investigate_form(
    request: Request, svc: Service, files: Annotated[list[UploadFile], File()]
) -> Response:
    uploads = [Upload(f.filename, f.file) for f in files]
    return _then_home(
        svc, lambda: svc.investigate(stage(uploads, svc.case_dir, upload_limits(request)))
    )


@router.post("/dashboard/link")
def link_form(svc: Service) -> Response:
    return _then_home(svc, lambda: svc.rerun("link"))


@router.post("/dashboard/attribute")
def attribute_form(svc: Service) -> Response:
    return _then_home(svc, lambda: svc.rerun("attribute"))


def _then_home(svc: CaseService, action: Callable[[], object]) -> Response:
    """Run the action, then back to the dashboard (303); on an error, the dashboard saying why."""
    try:
        action()
    except AptlinkError as exc:
        return HTMLResponse(page(svc, error=str(exc)), status_code=status_of(exc))
    return RedirectResponse("/", status_code=303)
