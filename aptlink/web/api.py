"""The REST API under ``/api``: the case, its inputs, findings, incidents, campaigns, attributions,
measures and exports, and the stages (investigate uploads, link, attribute). Thin: each route loads
the case and hands it to :mod:`aptlink.web.queries`, :mod:`aptlink.casework` or :mod:`aptlink.report`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from aptlink import report
from aptlink.casework import campaign_digest
from aptlink.web import queries
from aptlink.web.schemas import ERRORS, Page
from aptlink.web.service import CaseService
from aptlink.web.uploads import Upload, UploadLimits, stage

router = APIRouter(prefix="/api", responses=ERRORS)

MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
PAGE_SIZE = 500
MAX_PAGE = 10_000


def case_service(request: Request) -> CaseService:
    service: CaseService = request.app.state.service
    return service


def upload_limits(request: Request) -> UploadLimits:
    limits: UploadLimits = request.app.state.upload_limits
    return limits


Service = Annotated[CaseService, Depends(case_service)]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Many = Annotated[list[str], Query()]


@router.get("/case")
def case_summary(svc: Service) -> dict[str, Any]:
    """Figures, every input with its status, the campaigns and their best-ranked actors."""
    return svc.summary(svc.load())


@router.get("/inputs", response_model=Page)
def inputs(
    svc: Service, status: str | None = None, offset: Offset = 0, limit: Limit = PAGE_SIZE
) -> dict[str, Any]:
    """Every input file: analysed, skipped (why) or failed (why)."""
    found = [e.to_dict() for e in svc.load().evidence]
    chosen = [e for e in found if status is None or e["status"] == status]
    return queries.page(chosen, offset, limit)


@router.get("/findings", response_model=Page)
def findings(
    svc: Service,
    severity: Many = [],  # noqa: B006 (FastAPI copies query defaults)
    detector: Many = [],  # noqa: B006
    technique: str | None = None,
    offset: Offset = 0,
    limit: Limit = PAGE_SIZE,
) -> dict[str, Any]:
    """Findings, filtered by severity, detector (each may repeat) and technique (with sub-techniques)."""
    chosen = queries.findings(svc.load(), severity, detector, technique)
    return queries.page(chosen, offset, limit)


@router.get("/findings/{finding_id}")
def finding(svc: Service, finding_id: str) -> dict[str, Any]:
    """One finding (reasons, observations with provenance) and the incident holding it."""
    return queries.finding(svc.load(), finding_id)


@router.get("/incidents", response_model=Page)
def incidents(
    svc: Service,
    severity: Many = [],  # noqa: B006
    technique: str | None = None,
    offset: Offset = 0,
    limit: Limit = PAGE_SIZE,
) -> dict[str, Any]:
    """Incidents (one attack on one victim at one time)."""
    return queries.page(queries.incidents(svc.load(), severity, technique), offset, limit)


@router.get("/incidents/{incident_id}")
def incident(svc: Service, incident_id: str) -> dict[str, Any]:
    """One incident with its findings and its campaign; the id or a unique prefix of it."""
    return queries.incident(svc.load(), incident_id)


@router.get("/campaigns", response_model=Page)
def campaigns(svc: Service, offset: Offset = 0, limit: Limit = PAGE_SIZE) -> dict[str, Any]:
    """Campaigns, largest first, with size, period, victims and best-ranked actors."""
    return queries.page(campaign_digest(svc.load()), offset, limit)


@router.get("/campaigns/{campaign_id}")
def campaign(svc: Service, campaign_id: str) -> dict[str, Any]:
    """One campaign: links with reasons, why each incident belongs, ranked actors and ACH table."""
    return queries.campaign(svc.load(), campaign_id)


@router.get("/attributions", response_model=Page)
def attributions(
    svc: Service,
    campaign: str | None = None,
    attributed: bool | None = None,
    offset: Offset = 0,
    limit: Limit = PAGE_SIZE,
) -> dict[str, Any]:
    """Candidate actors per campaign with confidence and the evidence for and against."""
    chosen = queries.attributions(svc.load(), campaign, attributed)
    return queries.page(chosen, offset, limit)


@router.get("/mitigations")
def mitigations(svc: Service) -> dict[str, Any]:
    """ATT&CK mitigations and concrete preventive measures for the techniques seen."""
    return queries.mitigations(svc.load())


@router.get("/export/{fmt}")
def export(svc: Service, fmt: str) -> Response:
    """The case as json, md, html, stix (STIX 2.1), misp (MISP event) or navigator (layer)."""
    name = report.FORMATS[report.check_format(fmt)][1]
    case = svc.load()
    with tempfile.TemporaryDirectory(prefix="aptlink-export-") as folder:
        data = report.write(fmt, case, Path(folder) / name, svc.kb).read_bytes()
    return Response(
        data,
        media_type=MEDIA_TYPES.get(fmt, "application/json"),
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.post("/investigate")
def investigate(
    svc: Service,
    files: Annotated[list[UploadFile], File(description="evidence files")],
    limits: Annotated[UploadLimits, Depends(upload_limits)],
) -> dict[str, Any]:
    """Add uploaded evidence to the case and run every stage; the summary of the whole case."""
    uploads = [Upload(f.filename, f.file) for f in files]
    return svc.investigate(stage(uploads, svc.case_dir, limits))


@router.post("/link")
def link(svc: Service) -> dict[str, Any]:
    """Re-group, re-link and re-attribute what the case holds."""
    return svc.rerun("link")


@router.post("/attribute")
def attribute(svc: Service) -> dict[str, Any]:
    """Re-attribute the campaigns (after a new knowledge base)."""
    return svc.rerun("attribute")
