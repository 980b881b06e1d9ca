"""`kb sync` against a loopback HTTP server serving ../shared/data (never the internet)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aptlink.kb import KnowledgeBase
from aptlink.kb.sync import read_manifest, sync

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(root: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shared_data() -> Path:
    if not (SHARED / "attack").is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED


def test_sync_from_mirror_then_kb_uses_it(serve, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = serve(shared_data)
    report = sync(tmp_path, base_url=base)
    assert report.ok, report.failed
    names = {u["name"]: u for u in report.updated}
    assert names["attack"]["version"] == "19.1" and names["attack"]["objects"] == 25843
    assert names["kev"]["objects"] == 1404
    assert names["misp-galaxy:threat-actor"]["objects"] == 1041
    # the shared mirror only holds two galaxy clusters and no Sigma release zip; the optional
    # ones are skipped, not failed
    assert {s["name"] for s in report.skipped} == {
        "sigma",
        "misp-galaxy:mitre-attack-pattern",
        "misp-galaxy:mitre-course-of-action",
        "misp-galaxy:mitre-malware",
        "misp-galaxy:mitre-tool",
    }
    digest = hashlib.sha256(
        (shared_data / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
    ).hexdigest()
    assert read_manifest(tmp_path / "sources")["kev"]["sha256"] == digest
    kb = KnowledgeBase.load(None, cache_dir=tmp_path)
    assert kb.attack.version == "19.1"
    assert kb.kev("CVE-2023-45727") is not None
    assert kb.status()["misp_galaxy"]["threat_actor_version"] == 349


def _mirror(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "mirror"
    (root / "kev").mkdir(parents=True)
    (root / "attack").mkdir()
    (root / "misp-galaxy" / "clusters").mkdir(parents=True)
    (root / "kev" / "known_exploited_vulnerabilities.json").write_bytes(
        (shared_data / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
    )
    return root


def test_failed_download_keeps_existing_cache(serve, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = serve(_mirror(tmp_path, shared_data))
    assert sync(tmp_path / "cache", base_url=good, only=["kev"]).ok
    cached = tmp_path / "cache" / "sources" / "known_exploited_vulnerabilities.json"
    before = cached.read_bytes()

    bad_root = tmp_path / "bad"
    (bad_root / "kev").mkdir(parents=True)
    (bad_root / "kev" / "known_exploited_vulnerabilities.json").write_bytes(
        before[: len(before) // 2]
    )
    report = sync(tmp_path / "cache", base_url=serve(bad_root), only=["kev"])
    assert not report.ok
    assert "not valid JSON" in report.failed[0]["error"]
    assert cached.read_bytes() == before
    assert not list(cached.parent.glob("*.part"))


def test_wrong_content_and_sha_are_rejected(serve, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = _mirror(tmp_path, shared_data)
    (root / "attack" / "enterprise-attack.json").write_text(
        json.dumps({"type": "bundle", "objects": []})
    )
    base = serve(root)
    report = sync(tmp_path / "cache", base_url=base, only=["attack"])
    assert "not an ATT&CK bundle" in report.failed[0]["error"]
    report = sync(tmp_path / "cache", base_url=base, only=["kev"], sha256={"kev": "0" * 64})
    assert "sha256 mismatch" in report.failed[0]["error"]
    assert not (tmp_path / "cache" / "sources" / "known_exploited_vulnerabilities.json").exists()


def test_unreachable_server_fails_cleanly(tmp_path: Path) -> None:
    report = sync(tmp_path, base_url="http://127.0.0.1:9", only=["kev"], timeout=2)
    assert not report.ok and "download failed" in report.failed[0]["error"]


def test_sync_command(serve, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from aptlink.cli import _register_subcommands, app

    _register_subcommands()
    base = serve(_mirror(tmp_path, shared_data))
    args = [
        "kb",
        "sync",
        "--cache",
        str(tmp_path / "c"),
        "--base-url",
        base,
        "--only",
        "kev",
        "--json",
    ]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["updated"][0]["version"] == "2025.08.25"
    done = CliRunner().invoke(
        app, ["kb", "sync", "--cache", str(tmp_path / "c"), "--base-url", base, "--only", "attack"]
    )
    assert done.exit_code == 1 and "failed  attack: not found (404)" in done.output
    bad = [
        "kb",
        "sync",
        "--cache",
        str(tmp_path / "c"),
        "--base-url",
        base,
        "--only",
        "kev",
        "--sha256",
        "kev=" + "0" * 64,
    ]
    done = CliRunner().invoke(app, bad)
    assert done.exit_code == 1 and "sha256 mismatch" in done.output
