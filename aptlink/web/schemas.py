"""The few pydantic models of the web boundary (the core keeps its frozen dataclasses)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """Every error answer: the CLI's ``what (where)`` line."""

    error: str


class Page(BaseModel):
    """A slice of a collection: ``items[offset:offset+limit]`` of ``total``."""

    total: int
    offset: int
    limit: int
    items: list[dict[str, Any]]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 403, 404, 413, 503)
}
