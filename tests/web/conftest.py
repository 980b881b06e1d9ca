"""One demo case investigated once per session, and API clients over it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aptlink.casework import run_investigation
from aptlink.demo import write_demo_case
from aptlink.kb import KnowledgeBase
from aptlink.pipeline import CaseResult
from aptlink.report import load_case
from aptlink.web import create_app

LOCAL = "http://127.0.0.1:8765"  # the default bind: the guard serves loopback names only


@dataclass(frozen=True)
class DemoCase:
    evidence: Path
    case_dir: Path
    kb: KnowledgeBase
    case: CaseResult  # as the store holds it, read beside the API


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCase]:
    root = tmp_path_factory.mktemp("web")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("APTLINK_ATTACK", "APTLINK_DB", "APTLINK_CASE"):
            mp.delenv(var, raising=False)
        evidence = write_demo_case(root / "evidence")
        kb = KnowledgeBase.load(attack_path=None)
        run_investigation([evidence], root / "case", kb)
        yield DemoCase(evidence, root / "case", kb, load_case(root / "case"))


@pytest.fixture(scope="session")
def client(demo: DemoCase) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("APTLINK_DB", raising=False)
        with TestClient(create_app(demo.case_dir, demo.kb), base_url=LOCAL) as c:
            yield c


@pytest.fixture(scope="session")
def bare_client(demo: DemoCase) -> Iterator[TestClient]:
    """The demo case served without a knowledge base: exports skip the knowledge base's first,
    slow look-ups (galaxy), which the report tests cover."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("APTLINK_DB", raising=False)
        with TestClient(create_app(demo.case_dir, None), base_url=LOCAL) as c:
            yield c


@pytest.fixture
def fresh(demo: DemoCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A client over an empty case folder (nothing investigated yet)."""
    monkeypatch.delenv("APTLINK_DB", raising=False)
    return TestClient(create_app(tmp_path / "case", demo.kb), base_url=LOCAL)
