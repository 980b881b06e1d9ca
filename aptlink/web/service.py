"""The case behind the web layer: reads the store per request, runs the stages one at a time.

Reads open the store afresh, so a case changed by the command line shows at once; writes
(investigate, link, attribute) hold one lock, so two uploads never interleave their analyses.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aptlink import casework
from aptlink.errors import StoreError
from aptlink.kb import KnowledgeBase
from aptlink.pipeline import CaseResult
from aptlink.report import FORMATS, load_case
from aptlink.store.casestore import file_stamp


class CaseService:
    """One case folder (and its store) with the knowledge base the stages use."""

    def __init__(self, case_dir: Path, kb: KnowledgeBase | None) -> None:
        self.case_dir = Path(case_dir)
        self.kb = kb
        self._writing = threading.Lock()
        self._loaded: tuple[object, CaseResult] | None = None

    def load(self) -> CaseResult:
        """Everything the case holds; StoreError ("no such case") before the first investigation.
        A case in a SQLite file is kept between requests until its files change (loading a case
        of thousands of findings takes seconds; every page and API call reads it); one on a
        database server is read afresh each time. Callers only read the case they get."""
        stamp = file_stamp(self.case_dir)
        kept = self._loaded
        if stamp is not None and kept is not None and kept[0] == stamp:
            return kept[1]
        case = load_case(self.case_dir)
        if stamp is not None and stamp == file_stamp(self.case_dir):  # not written meanwhile
            self._loaded = (stamp, case)
        return case

    def load_or_empty(self) -> CaseResult:
        """The case, or an empty one before the first investigation (for the dashboard)."""
        try:
            return self.load()
        except StoreError as exc:
            if not is_missing_case(exc):
                raise
            return CaseResult()

    def investigate(self, evidence: Sequence[Path]) -> dict[str, Any]:
        with self._writing:
            return casework.run_investigation(evidence, self.case_dir, self.kb)

    def rerun(self, stage: str) -> dict[str, Any]:
        with self._writing:
            return casework.rerun(self.case_dir, self.kb, stage=stage)

    def summary(self, case: CaseResult) -> dict[str, Any]:
        """The figures, inputs with their status, campaigns and top attributions of the case."""
        data = casework.summarise(case, reports=self.reports())
        data["case"] = str(self.case_dir)
        data["inputs"] = [_input_status(e.to_dict()) for e in case.evidence]
        return data

    def reports(self) -> list[str]:
        """Report files already written in the case folder."""
        names = [name for _, name in FORMATS.values()]
        return [str(self.case_dir / n) for n in names if (self.case_dir / n).is_file()]


def is_missing_case(exc: StoreError) -> bool:
    return exc.message.startswith("no such case")


def _input_status(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e.get(k) for k in ("id", "path", "status", "format", "reason", "size", "sha256")}
