"""STIX 2.1, MISP and ATT&CK Navigator exports, and the `aptlink report` command."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import case_factory as cf
import pytest
import stix2

from aptlink.cli import main
from aptlink.kb import KnowledgeBase
from aptlink.model import Kind, Observation, Provenance
from aptlink.pipeline import CaseResult
from aptlink.report import FORMATS, export_case, markdown, misp, navigator, stix
from aptlink.store import CaseStore
from aptlink.store.casestore import DB_ENV


@pytest.fixture
def case() -> CaseResult:
    return cf.case()


def by_type(objects: list[dict[str, object]], kind: str) -> list[dict[str, object]]:
    return [o for o in objects if o["type"] == kind]


def test_stix_bundle_parses_back_with_stix2(case: CaseResult, tmp_path: Path) -> None:
    path = stix.write(case, tmp_path / "case.stix.json")
    parsed = stix2.parse(path.read_text("utf-8"), allow_custom=False)
    counts: dict[str, int] = {}
    for obj in parsed.objects:
        counts[obj.type] = counts.get(obj.type, 0) + 1
    assert counts["incident"] == 3
    assert counts["campaign"] == 2
    assert counts["intrusion-set"] == 1  # only the attributed actor
    assert counts["attack-pattern"] == 6
    assert counts["indicator"] == 3  # sender, OneDrive URL, .docx.lnk name
    report = next(o for o in parsed.objects if o.type == "report")
    assert len(report.object_refs) == len(parsed.objects) - 1
    assert report.description == "Attributed to: MirrorFace"


def test_empty_case_is_an_empty_stix_bundle() -> None:
    objects = stix.bundle(CaseResult()).objects
    assert [o.type for o in objects] == ["identity"]


def test_stix_attributes_only_attributed_campaigns(case: CaseResult) -> None:
    objects = stix.as_dict(case)["objects"]
    ids = {o["id"]: o for o in objects}
    attributed = [
        r for r in by_type(objects, "relationship") if r["relationship_type"] == "attributed-to"
    ]
    assert len(attributed) == 1
    source, target = ids[attributed[0]["source_ref"]], ids[attributed[0]["target_ref"]]
    assert (source["name"], target["name"]) == ("Campaign 1 (MirrorFace-like)", "MirrorFace")
    assert attributed[0]["confidence"] == 82
    assert target["external_references"][0]["external_id"] == "G1054"


def test_stix_ids_are_deterministic(case: CaseResult) -> None:
    first = stix.bundle(case).serialize()
    assert stix.bundle(cf.case()).serialize() == first
    ids = {
        o["external_references"][0]["external_id"]: o["id"]
        for o in stix.as_dict(case)["objects"]
        if o["type"] == "attack-pattern"
    }
    assert ids["T1190"] == stix.sid("attack-pattern", "T1190")


def test_stix_escapes_hostile_indicator_values(case: CaseResult) -> None:
    prov = Provenance(file="x", sha256=cf.SHA[7])
    hostile = r"C:\Users\o'brien\run.exe' OR [x:y = 'z"
    obs = Observation(kind=Kind.COMMAND_LINE, value=hostile, provenance=prov)
    case.incidents[0] = dataclasses.replace(case.incidents[0], observations=(obs,))
    objects = stix2.parse(stix.bundle(case).serialize()).objects
    patterns = [o.pattern for o in objects if o.type == "indicator"]
    assert r"[process:command_line = 'C:\\Users\\o\'brien\\run.exe\' OR [x:y = \'z']" in patterns


def test_misp_event(case: CaseResult, tmp_path: Path) -> None:
    data = json.loads(misp.write(case, tmp_path / "e.json").read_text("utf-8"))
    event = data["Event"]
    assert uuid.UUID(event["uuid"]).version == 5
    assert event["date"] == "2022-06-28"
    assert event["threat_level_id"] == "1"
    kinds = {(a["type"], a["value"]) for a in event["Attribute"]}
    assert ("email-src", "expert.tanaka@gmail.com") in kinds
    assert ("vulnerability", "CVE-2023-27997") in kinds
    assert ("url", "https://onedrive.live.com/download?id=1") in kinds
    assert len(kinds) == len(event["Attribute"])  # each indicator once
    tags = [t["name"] for t in event["Tag"]]
    assert 'misp-galaxy:threat-actor="MirrorFace"' in tags
    assert "mitre-attack:T1566.001" in tags
    assert misp.event(cf.case()) == data


def test_navigator_layer_basics(case: CaseResult) -> None:
    layer = navigator.layer(case)
    assert layer["domain"] == "enterprise-attack"
    assert layer["versions"]["layer"] == "4.5"
    scored = {t["techniqueID"]: t["score"] for t in layer["techniques"] if "score" in t}
    assert scored == {
        "T1190": 1,
        "T1204.001": 1,
        "T1204.002": 1,
        "T1486": 1,
        "T1566.001": 1,
        "T1566.002": 1,
    }
    parents = [t["techniqueID"] for t in layer["techniques"] if "score" not in t]
    assert parents == ["T1204", "T1566"]
    assert all(re.fullmatch(r"T\d{4}(\.\d{3})?", t["techniqueID"]) for t in layer["techniques"])
    assert layer["gradient"]["maxValue"] == 1


def test_navigator_scores_by_incident_count(case: CaseResult) -> None:
    case.incidents[2] = dataclasses.replace(case.incidents[2], techniques=("T1486", "T1190"))
    scored = {t["techniqueID"]: t.get("score") for t in navigator.layer(case)["techniques"]}
    assert scored["T1190"] == 2
    assert navigator.layer(case)["gradient"]["maxValue"] == 2


def stored(case_dir: Path) -> Path:
    case = cf.case()
    with CaseStore.open(case_dir) as store:
        store.save_inputs(case.evidence, case.findings, case.warnings)
        store.save_analysis(case)
    return case_dir


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_exports_a_stored_case(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    path = export_case(stored(tmp_path), fmt, None, None)
    assert path == tmp_path / FORMATS[fmt][1]
    text = path.read_text("utf-8")
    assert ("broken.eml" in text) == (fmt in ("md", "html", "json"))


def test_report_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    out = tmp_path / "layer.json"
    with pytest.raises(SystemExit) as done:
        main(["report", "--case", str(stored(tmp_path)), "-f", "json", "--out", str(out)])
    assert done.value.code in (0, None)
    assert capsys.readouterr().out.strip() == str(out)
    written = json.loads(out.read_text("utf-8"))
    assert written["summary"]["incidents"] == 3
    assert "patch-fortios" in [m["id"] for m in written["measures"]]


def test_report_command_on_a_missing_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    with pytest.raises(SystemExit) as done:
        main(["report", "--case", str(tmp_path / "none"), "--format", "md"])
    assert done.value.code == 2
    assert f"error: no such case (no case.db) ({tmp_path / 'none'})" in capsys.readouterr().err


class FakeKB(KnowledgeBase):
    """Knows two technique names and one warninglisted value."""

    def technique(self, tid: str) -> dict[str, Any] | None:
        names = {
            "T1566.001": "Spearphishing Attachment",
            "T1190": "Exploit Public-Facing Application",
        }
        return {"id": tid, "name": names[tid]} if tid in names else None

    def warninglisted(self, value: str) -> list[str]:
        return ["List of known webmail domains"] if value == "expert.tanaka@gmail.com" else []


def test_warninglisted_values_are_not_indicators(case: CaseResult) -> None:
    patterns = [o.pattern for o in stix.bundle(case, FakeKB()).objects if o.type == "indicator"]
    assert len(patterns) == 2
    assert not any("gmail" in p for p in patterns)
    attrs = {a["value"]: a for a in misp.event(case, FakeKB())["Event"]["Attribute"]}
    sender = attrs["expert.tanaka@gmail.com"]
    assert sender["to_ids"] is False
    assert sender["comment"].endswith("on warninglist: List of known webmail domains")
    assert attrs["https://onedrive.live.com/download?id=1"]["to_ids"] is True


def test_knowledge_base_names_techniques(case: CaseResult) -> None:
    names = {o.name for o in stix.bundle(case, FakeKB()).objects if o.type == "attack-pattern"}
    assert "Spearphishing Attachment" in names and "T1486" in names
    tags = [t["name"] for t in misp.event(case, FakeKB())["Event"]["Tag"]]
    assert 'misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1566.001"' in tags
    text = markdown.render(case, FakeKB())
    assert "- **Techniques:** T1204.002, T1566.001 Spearphishing Attachment" in text


def test_report_command_writes_all_formats_to_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    monkeypatch.setattr("aptlink.cli.load_kb", lambda attack: None)  # the KB is not under test
    folder = tmp_path / "out" / "reports"  # made by the command, parents too
    with pytest.raises(SystemExit) as done:
        main(["report", "--case", str(stored(tmp_path)), "-f", "all", "-o", str(folder)])
    assert done.value.code in (0, None)
    written = capsys.readouterr().out.split()
    assert written == [str(folder / name) for _, name in FORMATS.values()]
    assert all(Path(p).stat().st_size > 100 for p in written)


def test_stix_timestamps_from_odd_dates_stay_valid(case: CaseResult) -> None:
    odd = datetime(102, 6, 5, 15, 7, 54, tzinfo=UTC)  # a spam mail's Date header, seen in corpora
    case.incidents[0] = dataclasses.replace(case.incidents[0], first_seen=odd)
    case.campaigns[0] = dataclasses.replace(case.campaigns[0], first_seen=odd)
    parsed = stix2.parse(json.dumps(stix.as_dict(case, validate=False)))
    campaign = next(o for o in parsed.objects if o.type == "campaign" and "1" in o.name)
    assert campaign.first_seen.year == 102
    assert stix.timestamp(odd) == "0102-06-05T15:07:54.000Z"


def test_large_bundles_skip_the_stix2_round_trip(
    case: CaseResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(stix.stix2, "parse", lambda *a, **k: calls.append(a))
    stix.as_dict(case)
    assert len(calls) == 1  # small: validated
    monkeypatch.setattr(stix, "VALIDATE_UP_TO", 10)
    stix.as_dict(case)
    assert len(calls) == 1  # large: written as built


def test_navigator_follows_the_loaded_attack_version(case: CaseResult) -> None:
    kb = FakeKB()
    kb.attack.version = "18.1"
    assert navigator.layer(case, kb)["versions"]["attack"] == "18"
    assert navigator.layer(case, None)["versions"]["attack"] == "19"
