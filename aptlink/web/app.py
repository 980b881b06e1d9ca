"""The web application: the API and the dashboard over one case folder, behind the guard."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from aptlink import __version__
from aptlink.kb import KnowledgeBase
from aptlink.web import api, dashboard, errors
from aptlink.web.security import Guard
from aptlink.web.service import CaseService
from aptlink.web.uploads import UploadLimits


def create_app(
    case_dir: Path,
    kb: KnowledgeBase | None,
    *,
    limits: UploadLimits | None = None,
    loopback_only: bool = True,
    token: str | None = None,
) -> FastAPI:
    """The app for ``case_dir``; ``loopback_only`` serves only loopback host names (the default
    bind is 127.0.0.1); ``token``, when set, is required on every request."""
    limits = limits or UploadLimits()
    app = FastAPI(
        title="aptlink",
        version=__version__,
        description="Targeted attacks in a case's evidence, linked into campaigns and attributed.",
        # Swagger UI and ReDoc load scripts from a CDN: offline, and blocked by our CSP anyway
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = CaseService(case_dir, kb)
    app.state.upload_limits = limits
    errors.install(app)
    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.add_middleware(Guard, loopback_only=loopback_only, max_body=limits.total_bytes, token=token)
    return app
