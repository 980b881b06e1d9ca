"""Shared test fixtures: where the real corpora are (read-only, never copied)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()
ATTACK_BUNDLE = SHARED / "attack" / "enterprise-attack.json"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED


@pytest.fixture(autouse=True, scope="session")
def _hunt_rule_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Compiled Sigma rule sets (written by every hunt, ``investigate`` included) go to a
    temporary folder for the whole session, never to ~/.cache."""
    folder = tmp_path_factory.mktemp("hunt-rule-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("APTLINK_HUNT_CACHE", str(folder))
        yield folder
