"""The case store: idempotent inputs, exact round trip, one transaction per save, migrations."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import threading
import time
from pathlib import Path

import case_factory as cf
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, delete, inspect
from sqlalchemy.dialects import postgresql

from aptlink.errors import StoreError
from aptlink.model import Kind, Observation, Provenance
from aptlink.pipeline import CaseResult
from aptlink.store import CaseStore, migrate, schema
from aptlink.store.casestore import DB_ENV, case_schema, insert_new

INPUT_ROWS = {
    "evidence": 6,
    "observations": 6,  # the Gmail sender seen as from + reply-to in one mail is one observation
    "findings": 4,
    "finding_observations": 7,
    "reasons": 3,
    "warnings": 2,
}


@pytest.fixture(autouse=True)
def _sqlite_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)


def saved(case_dir: Path, case: CaseResult) -> dict[str, int]:
    with CaseStore.open(case_dir) as store:
        added = store.save_inputs(case.evidence, case.findings, case.warnings)
        store.save_analysis(case)
    return added


def test_save_inputs_counts_rows_added(tmp_path: Path) -> None:
    assert saved(tmp_path, cf.case()) == INPUT_ROWS


def test_saving_the_same_inputs_twice_adds_nothing(tmp_path: Path) -> None:
    case = cf.case()
    saved(tmp_path, case)
    with CaseStore.open(tmp_path) as store:
        before = store.counts()
        again = store.save_inputs(case.evidence, case.findings, case.warnings)
        assert again == dict.fromkeys(INPUT_ROWS, 0)
        assert store.counts() == before


def test_load_round_trips_every_record(tmp_path: Path) -> None:
    case = cf.case()
    saved(tmp_path, case)
    with CaseStore.open(tmp_path, create=False) as store:
        loaded = store.load()
    assert loaded.evidence == case.evidence
    assert loaded.warnings == case.warnings
    assert loaded.findings == case.findings
    assert loaded.incidents == case.incidents
    assert loaded.campaigns == case.campaigns
    assert loaded.attributions == case.attributions
    assert loaded.mitigations == case.mitigations


def test_one_observation_two_contexts_revive_exactly(tmp_path: Path) -> None:
    first = cf.findings()[0]
    sender, reply_to = first.observations[:2]
    assert sender.id == reply_to.id and sender.context != reply_to.context
    saved(tmp_path, cf.case())
    with CaseStore.open(tmp_path) as store:
        revived = store.load().findings[0]
    assert revived.observations[:2] == (sender, reply_to)


def test_save_analysis_replaces_the_previous_analysis(tmp_path: Path) -> None:
    case = cf.case()
    saved(tmp_path, case)
    fewer = dataclasses.replace(
        case, campaigns=case.campaigns[1:], attributions=case.attributions[2:]
    )
    with CaseStore.open(tmp_path) as store:
        store.save_analysis(fewer)
        counts = store.counts()
        assert [c.name for c in store.load().campaigns] == ["Campaign 2"]
    assert counts["campaigns"] == 1
    assert counts["links"] == 0
    assert counts["attributions"] == 1
    assert counts["incidents"] == 3


def test_a_failure_mid_save_leaves_nothing(tmp_path: Path) -> None:
    case = cf.case()
    # A reason with a NULL code breaks a NOT NULL constraint after the evidence, observation and
    # finding rows were already sent: the whole save must roll back.
    bad = dataclasses.replace(case.findings[0].reasons[0], code=None)  # type: ignore[arg-type]
    broken = dataclasses.replace(case.findings[0], reasons=(bad,))
    with CaseStore.open(tmp_path) as store:
        with pytest.raises(StoreError, match="cannot save inputs"):
            store.save_inputs(case.evidence, [broken, *case.findings[1:]], case.warnings)
        assert set(store.counts().values()) == {0}


def test_a_failed_analysis_keeps_the_previous_one(tmp_path: Path) -> None:
    case = cf.case()
    saved(tmp_path, case)
    orphan = dataclasses.replace(case.attributions[0], campaign_id="campaign--missing", id="x")
    with CaseStore.open(tmp_path) as store:
        before = store.counts()
        with pytest.raises(StoreError, match="cannot save the analysis"):
            store.save_analysis(dataclasses.replace(case, attributions=[orphan]))
        assert store.counts() == before


def test_open_missing_case_without_create_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(StoreError) as caught:
        CaseStore.open(missing, create=False)
    assert caught.value.where == str(missing)
    assert not missing.exists()


def test_migration_from_empty_database_reaches_head(tmp_path: Path) -> None:
    with CaseStore.open(tmp_path) as store:
        assert migrate.current(store.engine) == migrate.head() == "0001"
        tables = set(inspect(store.engine).get_table_names())
    assert set(schema.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_build_exactly_the_schema(tmp_path: Path) -> None:
    with CaseStore.open(tmp_path) as store, store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with CaseStore.open(tmp_path) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    plain = sqlite3.connect(tmp_path / "case.db")
    assert plain.execute("select count(*) from evidence").fetchone() == (0,)
    plain.close()


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    saved(tmp_path, cf.case())
    with CaseStore.open(tmp_path) as store:
        assert store.counts()["findings"] == 4


def test_findings_with_an_observation_across_incidents(tmp_path: Path) -> None:
    saved(tmp_path, cf.case())
    found = cf.findings()
    with CaseStore.open(tmp_path) as store:
        hits = store.findings_with(Kind.EMAIL, "Expert.Tanaka@GMAIL.com")
    assert hits == sorted([found[0].id, found[1].id])


def test_long_values_are_stored_and_found(tmp_path: Path) -> None:
    prov = Provenance(file="x", sha256=cf.SHA[7])
    long_cmd = "powershell -enc " + "A" * 20_000
    obs = Observation(kind=Kind.COMMAND_LINE, value=long_cmd, provenance=prov)
    finding = dataclasses.replace(cf.findings()[3], observations=(obs,), id="")
    with CaseStore.open(tmp_path) as store:
        store.save_inputs([], [finding], [])
        assert store.findings_with(Kind.COMMAND_LINE, long_cmd) == [finding.id]


def test_bad_database_url_is_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_ENV, "nosuchdriver://user:secret@host/db")
    with pytest.raises(StoreError) as caught:
        CaseStore.open(tmp_path)
    assert "secret" not in str(caught.value)


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "team.db"
    monkeypatch.setenv(DB_ENV, f"sqlite:///{db}")
    saved(tmp_path / "case", cf.case())
    assert db.is_file()
    assert not (tmp_path / "case" / "case.db").exists()
    engine = create_engine(f"sqlite:///{db}")
    assert inspect(engine).has_table("findings")
    engine.dispose()


def test_concurrent_writers_add_each_row_once(tmp_path: Path) -> None:
    case = cf.case()
    CaseStore.open(tmp_path).close()
    added: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with CaseStore.open(tmp_path) as store:
                added.append(store.save_inputs(case.evidence, case.findings, case.warnings))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {t: sum(a[t] for a in added) for t in INPUT_ROWS} == INPUT_ROWS


def test_migrations_render_for_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = migrate.config()
    cfg.set_main_option("sqlalchemy.url", "postgresql://aptlink@localhost/aptlink")
    command.upgrade(cfg, "head", sql=True)
    ddl = capsys.readouterr().out
    assert "CREATE TABLE observations" in ddl
    assert "TIMESTAMP WITH TIME ZONE" in ddl
    assert "seq SERIAL" in ddl


def test_upserts_compile_for_postgresql() -> None:
    stmt = insert_new("postgresql", schema.findings)
    assert "ON CONFLICT DO NOTHING" in str(stmt.compile(dialect=postgresql.dialect()))
    update = str(insert_new("postgresql", schema.evidence).compile(dialect=postgresql.dialect()))
    assert "ON CONFLICT (id) DO UPDATE SET format = excluded.format" in update
    with pytest.raises(StoreError, match="unsupported"):
        insert_new("oracle", schema.findings)


@pytest.mark.parametrize(
    ("folder", "schema_name"),
    [("cases/demo", "case_demo"), ("Ministry A", "case_ministry_a_"), ("x/デモ", "case_")],
)
def test_postgres_schema_names_follow_the_case_folder(folder: str, schema_name: str) -> None:
    name = case_schema(Path(folder))
    assert name.startswith(schema_name)
    assert re.fullmatch(r"case_[a-z0-9_]{1,60}", name)


def test_distinct_case_folders_never_share_a_schema() -> None:
    names = ["demo", "Demo", "デモ", "デモ2", "a b", "a_b", "a-b"]
    assert len({case_schema(Path(n)) for n in names}) == len(names)


def test_a_later_run_updates_what_became_of_an_input(tmp_path: Path) -> None:
    failed = cf.evidence()[5]
    fixed = dataclasses.replace(failed, status="analysed", reason=None)
    with CaseStore.open(tmp_path) as store:
        store.save_inputs([failed], [], [])
        assert store.save_inputs([fixed], [], []) == dict.fromkeys(INPUT_ROWS, 0)
        assert store.load().evidence == [fixed]


def test_migrations_downgrade_to_empty_and_up_again(tmp_path: Path) -> None:
    with CaseStore.open(tmp_path) as store:
        cfg = migrate.config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(store.engine).get_table_names()) == {"alembic_version"}
        migrate.upgrade(store.engine)
        assert migrate.current(store.engine) == migrate.head()


def test_a_file_where_the_case_folder_should_be(tmp_path: Path) -> None:
    blocker = tmp_path / "case"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot make the case folder") as caught:
        CaseStore.open(blocker)
    assert caught.value.where == str(blocker)


def test_a_corrupt_case_db_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "case.db").write_bytes(b"this is not a database\n" * 100)
    with pytest.raises(StoreError, match="cannot open the case store: file is not a database"):
        CaseStore.open(tmp_path, create=False)


def test_readers_see_a_snapshot_and_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    saved(tmp_path, cf.case())
    with CaseStore.open(tmp_path) as writer, CaseStore.open(tmp_path) as reader:
        with writer.engine.begin() as conn:  # holds the write lock until the block ends
            conn.execute(delete(schema.warnings))
            start = time.perf_counter()
            assert len(reader.load().warnings) == 2  # the uncommitted delete is not seen
            assert reader.counts()["warnings"] == 2
            assert time.perf_counter() - start < 5  # a waiting reader would take 30 s
        assert reader.counts()["warnings"] == 0
