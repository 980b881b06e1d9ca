"""A ZIP collection of event logs (Velociraptor's offline collector, KAPE --zip) hunts like its
folder, its files named ``archive!member``; hostile members are refused with the reason."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
import pyzipper

from aptlink.hunt import unpack
from aptlink.hunt.rules import PACKAGE_RULES, load_rules
from aptlink.hunt.runner import hunt

DATA = Path(__file__).parents[1] / "data" / "hunt" / "mirrorface.jsonl"
SAMPLES = Path(__file__).parents[2] / "../shared/data/evtx/attack-samples"
LOGS = "uploads/auto/C%3A/Windows/System32/winevt/Logs/"


@pytest.fixture(scope="module")
def rules():
    return load_rules([PACKAGE_RULES])


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "triage"
    folder.mkdir()
    shutil.copy(DATA, folder / "host.jsonl")
    for path in sorted(SAMPLES.rglob("*.evtx"))[:12]:
        shutil.copy(path, folder / path.name)
    return folder


def test_a_collection_hunts_like_its_folder(
    tmp_path: Path, rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    folder = _folder(tmp_path)
    archive = tmp_path / "Collection-ws01.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, LOGS + path.name)
        zf.writestr("uploads/auto/C%3A/Users/a/notes.txt", "not a log")
        zf.writestr("../../escaped.evtx", (SAMPLES.parent / "attack-samples").name)  # not EVTX
    plain = hunt([folder], rules, workers=1)
    zipped = hunt([archive], rules, workers=1)
    assert zipped.events == plain.events > 0
    key = lambda d: (d.rule_id, d.record, d.time, d.file.rsplit("/", 1)[-1])  # noqa: E731
    assert sorted(map(key, zipped.detections)) == sorted(map(key, plain.detections))
    assert all(d.file.startswith(f"{archive}!{LOGS}") for d in zipped.detections)
    assert zipped.files[f"{archive}!{LOGS}host.jsonl"] == "analysed"
    assert zipped.files[f"{archive}!../../escaped.evtx"].startswith("failed:")  # (not EVTX)
    # members land under numbered names in a scratch folder, removed after the hunt
    assert not (tmp_path.parent / "escaped.evtx").exists() and not list(scratch.iterdir())
    assert len(zipped.files) == len(plain.files) + 1


def test_hostile_members_are_refused_with_the_reason(
    tmp_path: Path, rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "kape.zip"
    with pyzipper.AESZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(DATA, "ok/host.jsonl")
        zf.writestr("bomb/zeros.evtx", bytes(2_000_000))
    with pyzipper.AESZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED,
                             encryption=pyzipper.WZ_AES) as zf:  # fmt: skip
        zf.setpassword(b"infected")
        zf.writestr("secret/Security.evtx", b"ElfFile\x00" + bytes(100))
    monkeypatch.setattr(unpack, "MAX_RATIO", 100)
    with zipfile.ZipFile(archive, "a") as zf:
        first = DATA.read_text(encoding="utf-8").splitlines()[0]
        zf.writestr("many/a.jsonl", first)
        zf.writestr("many/b.jsonl", first)
    monkeypatch.setattr(unpack, "MAX_MEMBERS", 2)
    result = hunt([archive], rules, workers=1)
    assert result.files[f"{archive}!ok/host.jsonl"] == "analysed"
    assert "compression ratio over 100:1" in result.files[f"{archive}!bomb/zeros.evtx"]
    assert "encrypted member" in result.files[f"{archive}!secret/Security.evtx"]
    assert result.files[f"{archive}!many/a.jsonl"] == "analysed"  # (the second unpacked)
    assert "over 2 event files" in result.files[f"{archive}!many/b.jsonl"]
    assert result.detections


def test_a_broken_archive_is_a_failed_input(tmp_path: Path, rules) -> None:
    broken = tmp_path / "cut.zip"
    broken.write_bytes(b"PK\x03\x04" + bytes(200))
    result = hunt([broken], rules, workers=1)
    assert result.files[str(broken)].startswith("failed: not a readable ZIP archive")
    assert [w.where for w in result.warnings] == [str(broken)]
