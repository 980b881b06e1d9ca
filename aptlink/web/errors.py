"""Errors as answers: an AptlinkError becomes a 4xx (or 503) with the CLI's ``what (where)`` text."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from aptlink.errors import AptlinkError, KnowledgeError, LimitExceeded, StoreError
from aptlink.web.queries import NotFound
from aptlink.web.security import Refused
from aptlink.web.service import is_missing_case

# first match wins; the store failing (locked, unreachable) is the server's trouble, not the caller's
STATUS: tuple[tuple[type[AptlinkError], int], ...] = (
    (NotFound, 404),
    (LimitExceeded, 413),
    (KnowledgeError, 500),
    (StoreError, 503),
    (AptlinkError, 400),
)


def status_of(exc: AptlinkError) -> int:
    if isinstance(exc, Refused):
        return exc.status
    if isinstance(exc, StoreError) and is_missing_case(exc):
        return 404
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def error_response(status: int, text: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


async def _aptlink_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AptlinkError)
    return error_response(status_of(exc), str(exc))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail))


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's validation errors, as one line like the others."""
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "; ".join(_describe(e) for e in exc.errors()) or "invalid request")


def _describe(error: dict[str, object]) -> str:
    loc = error.get("loc") or ()
    where = ".".join(str(p) for p in loc) if isinstance(loc, (tuple, list)) else str(loc)
    return f"{error.get('msg', 'invalid')} ({where})"


def install(app: FastAPI) -> None:
    app.add_exception_handler(AptlinkError, _aptlink_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
