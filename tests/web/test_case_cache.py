"""The served case is kept between requests until its SQLite files change: a second read costs
nothing, a write (by the server or by the command line) shows at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aptlink.casework import run_investigation
from aptlink.web.service import CaseService


def test_a_case_is_read_once_until_it_is_written(
    demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APTLINK_DB", raising=False)
    case_dir = tmp_path / "case"
    run_investigation([demo.evidence / "mail"], case_dir, demo.kb)
    svc = CaseService(case_dir, demo.kb)
    first = svc.load()
    assert svc.load() is first  # nothing written: the same case, not read again
    # the command line adds evidence to the case: the next read sees it
    run_investigation([demo.evidence], case_dir, demo.kb)
    second = svc.load()
    assert second is not first
    assert len(second.evidence) > len(first.evidence)
    assert svc.load() is second


def test_a_case_on_a_database_server_is_read_afresh(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aptlink.store.casestore import file_stamp

    monkeypatch.setenv("APTLINK_DB", "postgresql://nobody@localhost/none")
    assert file_stamp(demo.case_dir) is None
