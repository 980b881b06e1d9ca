"""Concrete measures: matched by technique (parents cover sub-techniques) or by the exact CVE."""

from __future__ import annotations

import pytest

from aptlink.errors import ConfigError
from aptlink.report import measures


def ids(found: list[dict[str, object]]) -> list[object]:
    return [m["id"] for m in found]


def test_windows_sandbox_and_vscode_tunnels() -> None:
    found = measures.measures_for(["T1564.006", "T1219.001"], [])
    assert ids(found) == ["windows-sandbox", "vscode-tunnels"]
    assert found[0]["because"] == ["T1564.006"]


def test_patches_only_for_the_cves_seen() -> None:
    found = measures.measures_for(["T1190"], ["cve-2023-28461"])
    assert ids(found) == ["patch-array-ag", "edge-devices"]
    assert "9.4.0.484" in str(found[0]["action"])


def test_parent_and_sub_techniques_match_both_ways() -> None:
    assert "protect-credentials" in ids(measures.measures_for(["T1003.001"], []))
    assert "block-risky-attachments" in ids(measures.measures_for(["T1566"], []))
    assert measures.measures_for(["T1001"], []) == []
    assert not measures.covers("T1566.001", "T1566.002")


def test_catalogue_is_valid_and_sourced() -> None:
    catalogue = measures.catalogue()
    assert len(catalogue) >= 12
    assert all(m["sources"] for m in catalogue)
    assert len({m["id"] for m in catalogue}) == len(catalogue)


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "x", "title": "t", "action": "a"},
        {"id": "x", "title": "t", "action": "a", "sources": [{"a": "b"}]},
        {"id": "x", "title": "t", "action": "a", "sources": ["s"], "techniques": ["1566"]},
    ],
)
def test_malformed_measures_are_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        measures.check(bad)
