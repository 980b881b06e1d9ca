"""The KEV loader: the real catalogue, the packaged compact copy, lookups and bad input."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from aptlink.errors import KnowledgeError
from aptlink.kb.kev import Kev, load_kev, normalise_name, write_compact


@pytest.fixture(scope="module")
def real_kev(shared: Path) -> Kev:
    return load_kev(shared / "kev" / "known_exploited_vulnerabilities.json")


def test_real_catalogue_loads_every_entry(real_kev: Kev) -> None:
    assert len(real_kev) == 1404
    assert real_kev.version == "2025.08.25"


def test_entry_fields_for_the_array_ag_cve(real_kev: Kev) -> None:
    entry = real_kev.get("cve-2023-28461")
    assert entry is not None
    assert (
        entry.vendor == "Array Networks"
    )  # the catalogue spells it "Array Networks " (trailing space)
    assert entry.product == "AG/vxAG ArrayOS"
    assert entry.date_added == date(2024, 11, 25)
    assert entry.due_date == date(2024, 12, 16)
    assert entry.cwes == ("CWE-306",)
    assert entry.required_action.startswith("Apply mitigations per vendor instructions")


def test_ransomware_use_is_a_bool(real_kev: Kev) -> None:
    fortios = real_kev.get("CVE-2023-27997")
    proself = real_kev.get("CVE-2023-45727")
    assert fortios is not None and fortios.ransomware_use is True
    assert proself is not None and proself.ransomware_use is False
    assert sum(e.ransomware_use for e in real_kev) == 293


def test_lookup_by_normalised_vendor_and_product(real_kev: Kev) -> None:
    found = real_kev.for_product("  array   NETWORKS", "ag/vxag arrayos ")
    assert [e.cve for e in found] == ["CVE-2023-28461"]
    assert len(real_kev.for_product("Fortinet", "FortiOS")) == 8
    assert "CVE-2023-45727" in real_kev
    assert real_kev.get("CVE-1999-0001") is None


def test_normalise_name() -> None:
    assert normalise_name(" Array  Networks ") == "array networks"


def test_packaged_copy_matches_the_shared_catalogue(real_kev: Kev) -> None:
    packaged = load_kev()
    assert len(packaged) == len(real_kev)
    assert packaged.get("CVE-2023-45727") == real_kev.get("CVE-2023-45727")


def test_compact_round_trip(shared: Path, tmp_path: Path) -> None:
    dest = tmp_path / "kev.json.gz"
    assert write_compact(shared / "kev" / "known_exploited_vulnerabilities.json", dest) == 1404
    assert dest.stat().st_size < 100_000
    assert load_kev(dest).get("CVE-2023-27997") is not None


def test_env_variable_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"catalogVersion": "t", "vulnerabilities": [_record("CVE-2020-0001")]}
    path = tmp_path / "kev.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv("APTLINK_KEV", str(path))
    assert [e.cve for e in load_kev()] == ["CVE-2020-0001"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"title": "x"}', "no 'vulnerabilities' list"),
        (gzip.compress(b"{", mtime=0)[:-4], "gzip"),
        (json.dumps({"vulnerabilities": [{"cveID": "nope"}]}).encode(), "bad KEV entry"),
    ],
    ids=["not-json", "array", "no-list", "truncated-gzip", "bad-entry"],
)
def test_bad_catalogues_raise_with_the_place(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "kev.json"
    path.write_bytes(content)
    with pytest.raises(KnowledgeError, match=message) as info:
        load_kev(path)
    assert info.value.where is not None and str(path) in info.value.where


def test_missing_file_is_a_knowledge_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="not found"):
        load_kev(tmp_path / "absent.json")


def _record(cve: str) -> dict[str, object]:
    return {
        "cveID": cve,
        "vendorProject": "V",
        "product": "P",
        "vulnerabilityName": "n",
        "dateAdded": "2020-01-01",
        "dueDate": "2020-02-01",
        "knownRansomwareCampaignUse": "Unknown",
        "requiredAction": "Apply updates per vendor instructions.",
        "notes": "",
        "cwes": [],
    }
