"""Knowledge-base fixtures: the big ATT&CK bundle is parsed once per session into a session cache,
and no test ever reads the user's ~/.cache/aptlink or the network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aptlink.kb import KnowledgeBase

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared" / "data").resolve()
ATTACK = SHARED / "attack" / "enterprise-attack.json"
INTEL = SHARED / "intel"
ENV = ("APTLINK_ATTACK", "APTLINK_MISP_GALAXY", "APTLINK_FEEDS", "APTLINK_SYNC_BASE", "APTLINK_KEV")


@pytest.fixture(scope="session")
def kb_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("aptlink-cache")


@pytest.fixture(autouse=True)
def isolated_env(kb_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APTLINK_CACHE", str(kb_cache))
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(scope="session")
def attack_path() -> Path:
    if not ATTACK.is_file():
        pytest.skip("../shared/data/attack is not beside the checkout")
    return ATTACK


@pytest.fixture(scope="session")
def intel() -> Path:
    if not INTEL.is_dir():
        pytest.skip("../shared/data/intel is not beside the checkout")
    return INTEL


@pytest.fixture(scope="session")
def kb_full(attack_path: Path, kb_cache: Path) -> KnowledgeBase:
    """ATT&CK v19.1 + packaged data; parsed once, then served from the session cache."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV:
            mp.delenv(name, raising=False)
        return KnowledgeBase.load(attack_path, cache_dir=kb_cache)


@pytest.fixture(scope="session")
def kb_offline(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """What a fresh install knows: no bundle, no ../shared, an empty cache."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV:
            mp.delenv(name, raising=False)
        return KnowledgeBase.load(None, cache_dir=tmp_path_factory.mktemp("empty-cache"))
