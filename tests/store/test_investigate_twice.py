"""The case store under the real pipeline: investigating the same evidence twice adds no rows, and
report.md lists every input."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptlink.casework import run_investigation
from aptlink.store import CaseStore
from aptlink.store.casestore import DB_ENV


@pytest.fixture
def evidence(shared: Path, tmp_path: Path) -> list[Path]:
    mails = sorted((shared / "email" / "phishing").glob("*.eml"))[:5]
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "empty.eml").write_bytes(b"")
    (odd / "blob.bin").write_bytes(bytes(range(256)) * 4)
    return [*mails, odd]


def test_investigating_twice_adds_no_rows(
    evidence: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    case_dir = tmp_path / "case"
    first = run_investigation(evidence, case_dir, None)
    assert first["run"]["rows_added"]["evidence"] == 7
    with CaseStore.open(case_dir, create=False) as store:
        before = store.counts()
    second = run_investigation(evidence, case_dir, None)
    assert set(second["run"]["rows_added"].values()) == {0}
    with CaseStore.open(case_dir, create=False) as store:
        assert store.counts() == before
    report = (case_dir / "report.md").read_text("utf-8")
    for path in [*evidence[:5], evidence[5] / "empty.eml", evidence[5] / "blob.bin"]:
        assert f"`{path}`" in report
