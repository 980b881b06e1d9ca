"""Ranges from NVD CPE configurations (what `kb sync` saves) extend, never override, the curated ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptlink.errors import KnowledgeError
from aptlink.exposure.assess import Assessor, Asset
from aptlink.exposure.catalogue import apply_nvd_ranges, default_nvd_path, load_catalogue
from aptlink.exposure.versions import parse_version
from aptlink.kb.kev import load_kev

NVD = Path(__file__).resolve().parents[1] / "data" / "exposure" / "nvd-cpe-ranges.json"


def test_nvd_ranges_are_added_where_none_is_curated() -> None:
    catalogue = load_catalogue()
    assert catalogue.ranged("CVE-2019-6693", "fortios") is None
    assert apply_nvd_ranges(catalogue, NVD) == 2  # CVE-2019-6693 on FortiOS, CVE-2020-3452 on ASA
    added = catalogue.ranged("CVE-2019-6693", "fortios")
    assert added is not None and added.source == "nvd"
    assert [r.describe() for r in added.ranges] == [
        ">= 6.0.0, <= 6.0.9",
        ">= 6.2.0, < 6.2.4",
        ">= 6.4.0, <= 6.4.0",
    ]
    assert added.affecting(parse_version("6.2.3")) is not None
    assert added.affecting(parse_version("6.2.4")) is None


def test_curated_ranges_win_over_nvd() -> None:
    catalogue = load_catalogue(nvd_path=NVD)
    curated = catalogue.ranged("CVE-2023-27997", "fortios")
    assert curated is not None and curated.source == "curated"
    assert curated.affecting(parse_version("7.4.0")) is None


def test_exact_versions_and_unusable_matches() -> None:
    catalogue = load_catalogue(nvd_path=NVD)
    asa = catalogue.ranged("CVE-2020-3452", "cisco-asa")
    assert asa is not None
    # the exact 9.6(4) is kept; the unbounded match and the unreadable bound are dropped, not guessed
    assert [r.describe() for r in asa.ranges] == [">= 9.6(4), <= 9.6(4)"]


def test_nvd_ranges_change_the_assessment() -> None:
    asset = Asset(
        name="fw", vendor="Fortinet", product="FortiOS", version="6.2.3", exposure="internet"
    )
    before = Assessor(kev=load_kev(), catalogue=load_catalogue()).assess(asset)
    after = Assessor(kev=load_kev(), catalogue=load_catalogue(nvd_path=NVD)).assess(asset)
    assert "CVE-2019-6693" in before.unranged and "CVE-2019-6693" not in before.cves
    assert "CVE-2019-6693" in after.cves and "CVE-2019-6693" not in after.unranged
    hit = {h.cve: h for h in after.hits}["CVE-2019-6693"]
    assert hit.source == "nvd" and hit.advisory == "https://nvd.nist.gov/vuln/detail/CVE-2019-6693"


def test_unreadable_nvd_file_is_a_knowledge_error(tmp_path: Path) -> None:
    bad = tmp_path / "nvd.json"
    bad.write_text("{")
    with pytest.raises(KnowledgeError):
        apply_nvd_ranges(load_catalogue(), bad)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([]))
    assert apply_nvd_ranges(load_catalogue(), empty) == 0


def test_default_nvd_path_follows_env_and_sync_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APTLINK_NVD_RANGES", raising=False)
    monkeypatch.setenv("APTLINK_CACHE", str(tmp_path))
    assert default_nvd_path() is None
    synced = tmp_path / "sources" / "nvd-cpe-ranges.json"
    synced.parent.mkdir()
    synced.write_bytes(NVD.read_bytes())
    assert default_nvd_path() == synced
    monkeypatch.setenv("APTLINK_NVD_RANGES", str(NVD))
    assert default_nvd_path() == NVD
