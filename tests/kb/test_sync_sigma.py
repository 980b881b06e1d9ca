"""`kb sync` of the SigmaHQ rule release against a loopback server serving zips built here from a
few rules of ../shared/data/sigma: extraction bounds, tampered archives, atomic replacement."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kb_loopback import Loopback

from aptlink.errors import KnowledgeError
from aptlink.kb.sync import read_manifest, sync
from aptlink.kb.sync_sigma import ZipLimits, extract_rules, release_tag

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
WINDOWS = SHARED / "sigma" / "rules" / "windows"
TAG_PATH = "/SigmaHQ/sigma/releases/download/{}/sigma_all_rules.zip"


@pytest.fixture(scope="module")
def sample_rules() -> list[Path]:
    if not WINDOWS.is_dir():
        pytest.skip("../shared/data/sigma is not beside the checkout")
    return sorted((WINDOWS / "process_creation").glob("*.yml"))[:5]


@pytest.fixture
def server() -> Iterator[Loopback]:
    srv = Loopback()
    yield srv
    srv.close()


def release_zip(rules: list[Path], extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("rules/", b"")
        for rule in rules:
            zf.write(rule, f"rules/windows/{rule.parent.name}/{rule.name}")
        zf.writestr("LICENSE.Detection.Rules.md", b"DRL 1.1")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def publish(server: Loopback, body: bytes, tag: str = "r2025-10-06") -> None:
    """Like GitHub: the mirror path redirects to the tagged release asset."""
    target = TAG_PATH.format(tag)
    server.static("/sigma/sigma_all_rules.zip", b"", 302, Location=target)
    server.static(target, body)


def rule_files(cache: Path) -> list[str]:
    root = cache / "sigma"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_sync_installs_rules_where_hunt_reads_them(
    server: Loopback, sample_rules: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(server, release_zip(sample_rules))
    report = sync(tmp_path, base_url=server.base, only=["sigma"])
    assert report.ok, report.failed
    entry = read_manifest(tmp_path / "sources")["sigma"]
    assert entry["version"] == "r2025-10-06" and entry["date"] == "2025-10-06"
    assert entry["objects"] == 5 and entry["windows_rules"] == 5 and entry["skipped_files"] == 1
    files = rule_files(tmp_path)
    assert len(files) == 5 and all(f.startswith("rules/windows/process_creation/") for f in files)
    assert (tmp_path / "sigma" / files[0]).read_bytes() == (
        WINDOWS / "process_creation" / Path(files[0]).name
    ).read_bytes()

    from aptlink.hunt.rules import default_rule_dirs

    monkeypatch.setenv("APTLINK_CACHE", str(tmp_path))
    assert tmp_path / "sigma" / "rules" / "windows" in default_rule_dirs()


def test_new_release_replaces_the_old_one(
    server: Loopback, sample_rules: list[Path], tmp_path: Path
) -> None:
    publish(server, release_zip(sample_rules[:2]), "r2025-09-01")
    assert sync(tmp_path, base_url=server.base, only=["sigma"]).ok
    publish(server, release_zip(sample_rules[2:]), "r2025-10-06")
    assert sync(tmp_path, base_url=server.base, only=["sigma"]).ok
    assert len(rule_files(tmp_path)) == 3
    assert (tmp_path / "sigma").is_symlink()
    assert [p.name for p in (tmp_path / "sigma.d").iterdir()] == [
        Path(read_manifest(tmp_path / "sources")["sigma"]["path"]).resolve().name
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"PK\x03\x04 truncated", "not a zip archive"),
        (None, "escapes the folder"),
        (b"", "not a zip archive"),
    ],
)
def test_bad_release_keeps_existing_rules(
    server: Loopback, sample_rules: list[Path], tmp_path: Path, body: bytes | None, error: str
) -> None:
    publish(server, release_zip(sample_rules))
    assert sync(tmp_path, base_url=server.base, only=["sigma"]).ok
    before = rule_files(tmp_path)
    link_target = (tmp_path / "sigma").resolve()

    if body is None:  # a path-traversal member
        body = release_zip(sample_rules, {"rules/../../evil.yml": b"title: evil"})
    publish(server, body, "r2025-10-20")
    report = sync(tmp_path, base_url=server.base, only=["sigma"])
    assert not report.ok and error in report.failed[0]["error"]
    assert rule_files(tmp_path) == before
    assert (tmp_path / "sigma").resolve() == link_target
    assert not (tmp_path / "evil.yml").exists() and not (tmp_path.parent / "evil.yml").exists()
    assert read_manifest(tmp_path / "sources")["sigma"]["version"] == "r2025-10-06"
    assert [p.name for p in (tmp_path / "sigma.d").iterdir()] == [link_target.name]


def test_truncated_download_of_a_real_zip_is_rejected(
    server: Loopback, sample_rules: list[Path], tmp_path: Path
) -> None:
    good = release_zip(sample_rules)
    publish(server, good[: len(good) - 40])
    report = sync(tmp_path, base_url=server.base, only=["sigma"])
    assert not report.ok and "zip" in report.failed[0]["error"]
    assert not (tmp_path / "sigma").exists()


def _zip(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "mode", "data", "error"),
    [
        ("/etc/evil.yml", 0, b"x", "absolute"),
        ("C:/evil.yml", 0, b"x", "absolute"),
        ("rules\\..\\evil.yml", 0, b"x", "absolute"),
        ("rules/windows/link.yml", stat.S_IFLNK | 0o777, b"/etc/passwd", "symlink"),
        ("rules/windows/bomb.yml", 0, b"a" * 1_500_000, "compression ratio"),
        ("rules/windows/huge.yml", 0, b"ab" * 1_500_000, "larger than"),
    ],
)
def test_hostile_members_reject_the_archive(
    tmp_path: Path, name: str, mode: int, data: bytes, error: str
) -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = mode << 16
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip([(info, data)]))
    with pytest.raises(KnowledgeError, match=error):
        extract_rules(archive, tmp_path / "out", ZipLimits(), "test")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.yml"))


def test_too_many_members_and_no_rules(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip([(f"rules/{i}.yml", b"title: x") for i in range(5)]))
    with pytest.raises(KnowledgeError, match="more than 3 members"):
        extract_rules(archive, tmp_path / "o1", ZipLimits(members=3), "test")
    archive.write_bytes(_zip([("README.md", b"no rules")]))
    with pytest.raises(KnowledgeError, match="no Sigma rules"):
        extract_rules(archive, tmp_path / "o2", ZipLimits(), "test")


def test_release_tag_from_redirect() -> None:
    url = "https://github.com/SigmaHQ/sigma/releases/download/r2025-11-17/sigma_core.zip"
    assert release_tag(url) == ("r2025-11-17", "2025-11-17")
    assert release_tag("http://127.0.0.1:1/sigma/sigma_core.zip") == (None, None)


def test_without_a_tag_the_date_is_the_newest_rule(
    server: Loopback, sample_rules: list[Path], tmp_path: Path
) -> None:
    server.static("/sigma/sigma_core.zip", release_zip(sample_rules))
    assert sync(tmp_path, base_url=server.base, only=["sigma"], sigma_package="core").ok
    entry = read_manifest(tmp_path / "sources")["sigma"]
    assert entry["version"] is None and entry["package"] == "sigma_core.zip"
    assert entry["date"] and entry["date"] >= "2019-01-01"


def test_status_and_cli_show_the_rules(
    server: Loopback, sample_rules: list[Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from aptlink.cli import _register_subcommands, app

    _register_subcommands()
    publish(server, release_zip(sample_rules))
    args = ["kb", "sync", "--cache", str(tmp_path), "--base-url", server.base, "--only", "sigma"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "updated sigma: r2025-10-06 2025-10-06 (5 objects" in done.output
    done = CliRunner().invoke(app, ["kb", "status", "--cache", str(tmp_path), "--json"])
    assert done.exit_code == 0, done.output
    synced = json.loads(done.output)["synced"]["sigma"]
    assert synced["objects"] == 5 and synced["date"] == "2025-10-06"


def test_duplicate_member_rejects_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        body = _zip([("rules/windows/a.yml", b"title: a"), ("rules/windows/a.yml", b"title: b")])
    archive.write_bytes(body)
    with pytest.raises(KnowledgeError, match="appears twice"):
        extract_rules(archive, tmp_path / "out", ZipLimits(), "test")


def test_a_hand_made_rules_folder_is_kept_aside(
    server: Loopback, sample_rules: list[Path], tmp_path: Path
) -> None:
    own = tmp_path / "sigma" / "rules" / "windows" / "mine.yml"
    own.parent.mkdir(parents=True)
    own.write_text("title: mine")
    publish(server, release_zip(sample_rules))
    assert sync(tmp_path, base_url=server.base, only=["sigma"]).ok
    assert (tmp_path / "sigma").is_symlink() and len(rule_files(tmp_path)) == 5
    assert (
        tmp_path / "sigma.previous" / "rules" / "windows" / "mine.yml"
    ).read_text() == "title: mine"


def test_oversized_download_is_cut_off(
    server: Loopback, sample_rules: list[Path], tmp_path: Path
) -> None:
    from aptlink.kb.sync_sigma import sync_sigma

    publish(server, release_zip(sample_rules))
    url = f"{server.base}/sigma/sigma_all_rules.zip"
    with pytest.raises(KnowledgeError, match="download larger than 1024 bytes"):
        sync_sigma(tmp_path, url, 5, limits=ZipLimits(download=1024))
    assert not (tmp_path / "sigma").exists()
    assert not [p for p in (tmp_path / "sigma.d").iterdir()]  # no partial download left
