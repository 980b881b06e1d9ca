"""Hunt tests keep their compiled-rule caches in a temporary folder, never in ~/.cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _rule_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.getbasetemp() / "aptlink-cache"
    monkeypatch.setenv("APTLINK_CACHE", str(folder))
    monkeypatch.delenv("APTLINK_HUNT_CACHE", raising=False)  # these tests check the default place
    return folder
