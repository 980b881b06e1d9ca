"""The case store on PostgreSQL (``$APTLINK_DB``): the same migrations, upserts and round trip.

Runs against a throwaway cluster started in tmp (initdb + pg_ctl on a Unix socket, no TCP port);
skipped where the PostgreSQL server programs or psycopg are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import case_factory as cf
import pytest
from sqlalchemy import create_engine, inspect, text

from aptlink.errors import StoreError
from aptlink.store import CaseStore, migrate
from aptlink.store.casestore import DB_ENV, case_schema

pytest.importorskip("psycopg")

PG_BIN = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14")]


def _pg_bin() -> Path | None:
    for folder in PG_BIN:
        if (folder / "initdb").is_file():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser")
    return [runuser, "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server programs not installed")
    # Not under pytest's tmp: its folders are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="aptlink-pg-"))
    try:
        yield from _cluster(bin_dir, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cluster(bin_dir: Path, root: Path) -> Iterator[str]:
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix = _as_postgres()
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    run = [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "aptlink", "-A", "trust"]
    subprocess.run([*run, "--no-sync"], check=True, capture_output=True, timeout=120)
    options = f"-k {sock} -c listen_addresses='' -c fsync=off"
    ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-s"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 60}
    try:
        # The server inherits pg_ctl's stdout: keep it off a pipe, or waiting on pg_ctl never ends.
        subprocess.run([*ctl, "-o", options, "start"], check=True, **quiet)  # type: ignore[arg-type]
        yield f"postgresql+psycopg://aptlink@/postgres?host={sock}"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], **quiet)  # type: ignore[arg-type]


@pytest.fixture
def on_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(DB_ENV, postgres_url)
    yield postgres_url
    engine = create_engine(postgres_url)
    with engine.begin() as conn:  # the next test starts from an empty server
        for name in inspect(conn).get_schema_names():
            if name.startswith("case_"):
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


def test_missing_case_on_postgres_is_a_store_error(on_postgres: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no case tables") as caught:
        CaseStore.open(tmp_path, create=False)
    assert "postgresql+psycopg://aptlink@" in str(caught.value.where)
    assert f"schema {case_schema(tmp_path)}" in str(caught.value.where)


def test_each_case_is_its_own_schema(on_postgres: str, tmp_path: Path) -> None:
    case = cf.case()
    with CaseStore.open(tmp_path / "Ministry A") as store:
        store.save_inputs(case.evidence, case.findings, case.warnings)
    with CaseStore.open(tmp_path / "university_b") as store:
        assert store.save_inputs(case.evidence[:2], [], [])["evidence"] == 2
        assert store.counts()["findings"] == 0
    with CaseStore.open(tmp_path / "Ministry A", create=False) as store:
        assert store.counts()["evidence"] == 6
    engine = create_engine(on_postgres)
    schemas = set(inspect(engine).get_schema_names())
    engine.dispose()
    assert {case_schema(Path("Ministry A")), "case_university_b"} <= schemas


def test_postgres_migrates_saves_once_and_round_trips(on_postgres: str, tmp_path: Path) -> None:
    case = cf.case()
    with CaseStore.open(tmp_path) as store:
        assert migrate.current(store.engine) == migrate.head()
        first = store.save_inputs(case.evidence, case.findings, case.warnings)
        again = store.save_inputs(case.evidence, case.findings, case.warnings)
        store.save_analysis(case)
    assert first["finding_observations"] == 7 and set(again.values()) == {0}
    assert not (tmp_path / "case.db").exists()
    with CaseStore.open(tmp_path, create=False) as store:
        loaded = store.load()
        hits = store.findings_with("email-addr", "expert.tanaka@gmail.com")
    assert loaded.findings == case.findings
    assert loaded.evidence == case.evidence
    assert loaded.campaigns == case.campaigns
    assert loaded.attributions == case.attributions
    assert loaded.mitigations == case.mitigations
    assert len(hits) == 2


def test_postgres_failed_save_leaves_nothing(on_postgres: str, tmp_path: Path) -> None:
    case = cf.case()
    orphan = case.attributions[0].__class__(
        campaign_id="campaign--missing", actor="X", attack_id=None, confidence=0.5
    )
    with CaseStore.open(tmp_path) as store:
        store.save_inputs(case.evidence, case.findings, case.warnings)
        with pytest.raises(StoreError, match="cannot save the analysis"):
            store.save_analysis(cf.CaseResult(incidents=case.incidents, attributions=[orphan]))
        counts = store.counts()
    assert counts["incidents"] == 0 and counts["attributions"] == 0
    assert counts["findings"] == 4


def test_postgres_concurrent_writers_add_each_row_once(on_postgres: str, tmp_path: Path) -> None:
    case = cf.case()
    CaseStore.open(tmp_path).close()
    added: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with CaseStore.open(tmp_path) as store:
                added.append(store.save_inputs(case.evidence, case.findings, case.warnings))
                store.save_analysis(case)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(a["findings"] for a in added) == 4
    assert sum(a["finding_observations"] for a in added) == 7
    with CaseStore.open(tmp_path) as store:
        assert store.counts()["incidents"] == 3
