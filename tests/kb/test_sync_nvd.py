"""`kb sync --nvd` against a loopback server answering like NVD's CVE API 2.0 with hand-written
records (tests/data/kb/nvd): pacing, throttling, a malformed record, resuming, the saved file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kb_loopback import Answer, Loopback

from aptlink.exposure.catalogue import apply_nvd_ranges, load_catalogue
from aptlink.kb import sync_nvd
from aptlink.kb.sync import read_manifest, sync
from aptlink.kb.sync_nvd import RateLimiter, edge_kev_cves

RECORDS = Path(__file__).resolve().parents[1] / "data" / "kb" / "nvd"
GOOD = ["CVE-2019-6693", "CVE-2020-3452", "CVE-2023-27997"]
BAD = "CVE-2024-21762"
UNKNOWN = "CVE-2023-99999"
API = "/nvd/rest/json/cves/2.0"


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def fast(time: FakeTime | None = None, requests: int = 1000) -> RateLimiter:
    time = time or FakeTime()
    return RateLimiter(requests, 30.0, clock=time.clock, sleep=time.sleep)


class Nvd:
    """The API route: a record file per CVE, an empty answer otherwise, throttling on demand."""

    def __init__(self, server: Loopback) -> None:
        self.server = server
        self.throttle: list[int] = []  # status codes to answer with before serving again
        server.routes[API] = self.answer

    def answer(self, _path: str, query: dict[str, list[str]]) -> Answer:
        if self.throttle:
            return self.throttle.pop(0), {"Retry-After": "7"}, b"rate limit"
        cve = query.get("cveId", [""])[0]
        record = RECORDS / f"{cve}.json"
        if record.is_file():
            return 200, {"Content-Type": "application/json"}, record.read_bytes()
        empty = {"totalResults": 0, "format": "NVD_CVE", "version": "2.0", "vulnerabilities": []}
        return 200, {}, json.dumps(empty).encode()

    def asked(self) -> list[str]:
        return [q["cveId"][0] for path, q, _ in self.server.requests if path == API]


@pytest.fixture
def nvd() -> Iterator[Nvd]:
    server = Loopback()
    yield Nvd(server)
    server.close()


def saved(root: Path) -> dict[str, Any]:
    doc = json.loads((root / "nvd-cpe-ranges.json").read_text())
    return {v["cve"]["id"]: v["cve"] for v in doc["vulnerabilities"]}


def test_fetch_keeps_good_records_and_names_the_malformed_one(nvd: Nvd, tmp_path: Path) -> None:
    cves = [*GOOD, BAD, UNKNOWN]
    entry, result = sync_nvd.sync_nvd(tmp_path, cves, nvd.server.base, limiter=fast())
    assert sorted(saved(tmp_path)) == GOOD
    assert [e["cve"] for e in result.errors] == [BAD]
    assert "cpeMatch[0] has no CPE 2.3 'criteria'" in result.errors[0]["error"]
    assert BAD in result.errors[0]["error"]
    assert result.not_found == [UNKNOWN] and result.stopped is None
    assert entry["objects"] == 3 and entry["complete"] is False
    # trimmed to what the exposure check reads; the answer shape is kept
    assert set(saved(tmp_path)["CVE-2019-6693"]) == {
        "id",
        "published",
        "lastModified",
        "vulnStatus",
        "configurations",
    }
    catalogue = load_catalogue()
    assert apply_nvd_ranges(catalogue, tmp_path / "nvd-cpe-ranges.json") == 2
    added = catalogue.ranged("CVE-2019-6693", "fortios")
    assert added is not None and added.source == "nvd"
    curated = catalogue.ranged("CVE-2023-27997", "fortios")
    assert curated is not None and curated.source == "curated"


def test_resume_skips_saved_cves_and_refresh_fetches_again(nvd: Nvd, tmp_path: Path) -> None:
    sync_nvd.sync_nvd(tmp_path, GOOD[:2], nvd.server.base, limiter=fast())
    assert nvd.asked() == GOOD[:2]
    sync_nvd.sync_nvd(tmp_path, GOOD, nvd.server.base, limiter=fast())
    assert nvd.asked() == [*GOOD[:2], GOOD[2]]
    sync_nvd.sync_nvd(tmp_path, GOOD, nvd.server.base, refresh=True, limiter=fast())
    assert nvd.asked()[3:] == GOOD
    assert sorted(saved(tmp_path)) == GOOD


def test_throttled_answers_are_waited_out(nvd: Nvd, tmp_path: Path) -> None:
    time = FakeTime()
    nvd.throttle = [429, 403]
    _, result = sync_nvd.sync_nvd(tmp_path, GOOD, nvd.server.base, limiter=fast(time))
    assert result.errors == [] and result.stopped is None
    assert sorted(saved(tmp_path)) == GOOD
    assert time.slept == [7.0, 7.0]  # Retry-After, twice, then the same CVE again
    assert nvd.asked()[:3] == [GOOD[0]] * 3


def test_persistent_throttling_stops_and_keeps_what_was_fetched(nvd: Nvd, tmp_path: Path) -> None:
    sync_nvd.sync_nvd(tmp_path, GOOD[:1], nvd.server.base, limiter=fast())
    nvd.throttle = [403] * 10
    _, result = sync_nvd.sync_nvd(tmp_path, GOOD, nvd.server.base, limiter=fast(), retries=2)
    assert result.stopped is not None and "HTTP 403" in result.stopped
    assert "0 of 2 fetched, run again to resume" in result.stopped
    assert sorted(saved(tmp_path)) == GOOD[:1]
    nvd.throttle = []
    _, result = sync_nvd.sync_nvd(tmp_path, GOOD, nvd.server.base, limiter=fast())
    assert result.stopped is None and sorted(saved(tmp_path)) == GOOD


def test_api_key_goes_in_the_header_only(nvd: Nvd, tmp_path: Path) -> None:
    entry, _ = sync_nvd.sync_nvd(
        tmp_path, GOOD[:1], nvd.server.base, api_key="secret-key", limiter=fast()
    )
    _, query, headers = nvd.server.requests[0]
    lower = {k.lower(): v for k, v in headers.items()}  # header names are case-insensitive
    assert lower.get("apikey") == "secret-key" and set(query) == {"cveId"}
    assert "secret-key" not in json.dumps(entry)
    assert "secret-key" not in (tmp_path / "nvd-cpe-ranges.json").read_text()


def test_rate_limiter_keeps_to_the_window() -> None:
    time = FakeTime()
    limiter = RateLimiter(5, 30.0, margin=1.0, clock=time.clock, sleep=time.sleep)
    stamps = []
    for _ in range(12):
        limiter.wait()
        stamps.append(time.now)
    assert stamps[:5] == [0.0] * 5 and stamps[5] == 31.0 and stamps[10] == 62.0
    for i in range(len(stamps) - 5):  # never 6 requests within one window
        assert stamps[i + 5] - stamps[i] >= 30.0
    assert RateLimiter.for_key(None).requests == 5 and RateLimiter.for_key("k").requests == 50


def test_edge_kev_cves_cover_the_mirrorface_appliances() -> None:
    cves = edge_kev_cves()
    assert {"CVE-2023-27997", "CVE-2023-28461", "CVE-2023-45727"} <= set(cves)
    assert "CVE-2025-32756" not in cves  # kev_exclude of FortiOS (FortiVoice and others)
    assert 50 < len(cves) < 400


def test_sync_nvd_through_kb_sync_and_the_command(
    nvd: Nvd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from aptlink.cli import _register_subcommands, app

    monkeypatch.setattr(sync_nvd.RateLimiter, "for_key", classmethod(lambda cls, key: fast()))
    wanted = edge_kev_cves()
    report = sync(tmp_path, base_url=nvd.server.base, only=["nvd"])
    assert sorted(nvd.asked()) == wanted  # one request per CVE, nothing else
    # the malformed record of a real KEV CVE is a failure naming it; the others are kept
    assert [f["name"] for f in report.failed] == [f"nvd:{BAD}"]
    entry = read_manifest(tmp_path / "sources")["nvd"]
    assert entry["requested"] == len(wanted) and entry["objects"] == len(GOOD)

    _register_subcommands()
    args = ["kb", "sync", "--cache", str(tmp_path), "--base-url", nvd.server.base]
    done = CliRunner().invoke(app, [*args, "--only", "nvd"])
    assert "updated nvd: 2.0" in done.output, done.output
    assert done.exit_code == 1 and f"failed  nvd:{BAD}: configurations[0]" in done.output
    # resumed: the saved records are not asked again; the unknown and the malformed are
    assert sorted(nvd.asked()[len(wanted) :]) == sorted(set(wanted) - set(GOOD))
    nvd.throttle = [429] * 10
    done = CliRunner().invoke(app, [*args, "--only", "nvd", "--refresh"])
    assert done.exit_code == 1 and "NVD throttled the requests (HTTP 429)" in done.output
    assert sorted(saved(tmp_path / "sources")) == GOOD  # still there


def test_records_awaiting_analysis_are_asked_again(nvd: Nvd, tmp_path: Path) -> None:
    pending = {"id": GOOD[0], "vulnStatus": "Awaiting Analysis"}  # no configurations yet
    sync_nvd.save(tmp_path / "nvd-cpe-ranges.json", {GOOD[0]: pending}, "test")
    sync_nvd.sync_nvd(tmp_path, GOOD[:1], nvd.server.base, limiter=fast())
    assert nvd.asked() == GOOD[:1]
    assert saved(tmp_path)[GOOD[0]]["configurations"]


def test_unreachable_nvd_stops_at_once(tmp_path: Path) -> None:
    _, result = sync_nvd.sync_nvd(tmp_path, GOOD, "http://127.0.0.1:9", timeout=2, limiter=fast())
    assert result.stopped is not None and "NVD request failed" in result.stopped
    assert "0 of 3 fetched" in result.stopped and result.errors == []
    assert not (tmp_path / "nvd-cpe-ranges.json").exists()
    report = sync(tmp_path, base_url="file:///tmp", only=["nvd"])
    assert "needs an http(s) URL" in report.failed[0]["error"]
