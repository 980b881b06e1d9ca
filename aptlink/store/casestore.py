"""The case store: one database per case holding every input, finding and the last analysis.

SQLite file ``case_dir/case.db`` by default (WAL, foreign keys on); any SQLAlchemy URL in
``$APTLINK_DB`` instead (``postgresql+psycopg://...``, where each case is a schema). The schema is
migrated to the newest Alembic revision on open. Each save is one transaction; inputs are upserted
by their deterministic ids, so storing the same evidence twice adds no rows.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, Table, create_engine, delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from aptlink.errors import StoreError
from aptlink.evidence.base import Warning_
from aptlink.model import Attribution, Campaign, Evidence, Finding, Incident, Observation
from aptlink.pipeline import CaseResult
from aptlink.store import rows, schema
from aptlink.store.migrate import upgrade

DB_ENV = "APTLINK_DB"
DB_FILE = "case.db"
SQLITE_BUSY_SECONDS = 30


class CaseStore:
    """A case database, opened with :meth:`open` and used as a context manager."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine = engine
        self.where = where

    @classmethod
    def open(cls, case_dir: Path, create: bool = True) -> CaseStore:
        """Open (and with ``create`` make) the case store of ``case_dir``, migrated to head."""
        case_dir = Path(case_dir)
        url = os.environ.get(DB_ENV) or None
        store = cls._shared(url, case_dir, create) if url else cls._file(case_dir, create)
        try:
            with store._errors("cannot open the case store"):
                if not create and not _has_schema(store.engine):
                    raise StoreError("no such case (no case tables)", store.where)
                upgrade(store.engine)
        except BaseException:
            store.close()  # no pooled connection left for the garbage collector
            raise
        return store

    @classmethod
    def _file(cls, case_dir: Path, create: bool) -> CaseStore:
        db_file = case_dir / DB_FILE
        if not create and not db_file.is_file():
            raise StoreError("no such case (no case.db)", str(case_dir))
        try:
            case_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot make the case folder: {exc.strerror}", str(case_dir)) from exc
        return cls(_engine(f"sqlite:///{db_file}", str(db_file)), str(db_file))

    @classmethod
    def _shared(cls, url: str, case_dir: Path, create: bool) -> CaseStore:
        """A database server holds many cases: on PostgreSQL each case is a schema named after
        the case folder (``case_<name>``); any other URL is one case per database."""
        engine = _engine(url, _display(url))
        if engine.dialect.name != "postgresql":
            return cls(engine, _display(url))
        schema_name = case_schema(case_dir)
        _use_schema(engine, schema_name, create)
        return cls(engine, f"{_display(url)} schema {schema_name}")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------

    def save_inputs(
        self,
        evidence: Sequence[Evidence],
        findings: Sequence[Finding],
        warnings: Sequence[Warning_],
    ) -> dict[str, int]:
        """Add inputs in one transaction, skipping rows already held; return rows added per table."""
        with self._errors("cannot save inputs"), self.engine.begin() as conn:
            _lock_case(conn)
            before = _counts(conn, schema.INPUT_TABLES)
            # A stored finding was stored with its observations and reasons in one transaction,
            # so a re-run skips it whole instead of sending rows that would all conflict.
            known = _known(conn, schema.findings, [f.id for f in findings])
            new = [f for f in findings if f.id not in known]
            batch = rows.input_rows(evidence, new, warnings)
            for name in schema.INPUT_TABLES:
                _insert_new(conn, _table(name), batch[name])
            after = _counts(conn, schema.INPUT_TABLES)
        return {name: after[name] - before[name] for name in schema.INPUT_TABLES}

    def save_analysis(self, case: CaseResult) -> None:
        """Replace incidents, campaigns, links, attributions and mitigations in one transaction."""
        batch = rows.analysis_rows(case)
        with self._errors("cannot save the analysis"), self.engine.begin() as conn:
            _lock_case(conn)
            for name in reversed(schema.ANALYSIS_TABLES):
                conn.execute(delete(_table(name)))
            for name in schema.ANALYSIS_TABLES:
                if batch[name]:
                    conn.execute(_table(name).insert(), batch[name])

    # -- reading ---------------------------------------------------------------------------------

    def load(self) -> CaseResult:
        """Everything the case holds, in the order it first arrived."""
        with self._errors("cannot load the case"), self._reading() as conn:
            return CaseResult(
                evidence=[Evidence.from_dict(r) for r in _records(conn, schema.evidence)],
                warnings=_warnings(conn),
                findings=_findings(conn),
                incidents=[Incident.from_dict(r) for r in _records(conn, schema.incidents)],
                campaigns=[Campaign.from_dict(r) for r in _records(conn, schema.campaigns)],
                attributions=[
                    Attribution.from_dict(r) for r in _records(conn, schema.attributions)
                ],
                mitigations=list(_records(conn, schema.mitigations, order="position")),
            )

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        names = (*schema.INPUT_TABLES, *schema.ANALYSIS_TABLES)
        with self._errors("cannot count rows"), self._reading() as conn:
            return _counts(conn, names)

    def findings_with(self, kind: str, value: str) -> list[str]:
        """Ids of the findings resting on an observation of this kind and value (across incidents)."""
        obs, link = schema.observations, schema.finding_observations
        query = (
            select(link.c.finding_id)
            .distinct()
            .join(obs, obs.c.id == link.c.observation_id)
            .where(obs.c.kind == kind, obs.c.value_sha256 == rows.value_digest(kind, value))
            .order_by(link.c.finding_id)
        )
        with self._errors("cannot query observations"), self._reading() as conn:
            return list(conn.scalars(query))

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read-only connection: on SQLite a deferred BEGIN, so readers see one snapshot and
        never wait for a writer (WAL)."""
        with self.engine.connect() as conn:
            yield conn.execution_options(aptlink_read=True)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Database errors become StoreError naming the case, so the CLI prints one line."""
        try:
            yield
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            detail = str(orig) if orig is not None else str(exc).splitlines()[0]
            raise StoreError(f"{what}: {detail}", self.where) from exc


def _engine(url: str, where: str) -> Engine:
    try:
        engine = create_engine(url, connect_args=_connect_args(url))
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL: {exc}", where) from exc
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def file_stamp(case_dir: Path) -> tuple[tuple[int, int, int], ...] | None:
    """What changes whenever the case's SQLite file store is written (the database file and its
    write-ahead log: inode, size, modification time), so that a reader may keep a loaded case
    until then; None for a store on a database server, whose changes no file shows."""
    if os.environ.get(DB_ENV):
        return None
    stamp = []
    for name in (DB_FILE, f"{DB_FILE}-wal"):
        try:
            st = (Path(case_dir) / name).stat()
        except OSError:
            stamp.append((0, 0, 0))
            continue
        stamp.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(stamp)


def case_schema(case_dir: Path) -> str:
    """The PostgreSQL schema of a case: ``case_<folder name>``; a name that is not already a plain
    lower-case identifier gets a short hash too, so distinct folders never share a schema."""
    name = case_dir.name or Path(case_dir).resolve().name
    plain = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:40]
    if plain == name:
        return f"case_{plain}"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"case_{plain}_{digest}" if plain else f"case_{digest}"


def _use_schema(engine: Engine, name: str, create: bool) -> None:
    """Every connection works in the case's schema (made on first use when ``create``)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        if create:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        cursor.execute(f'SET search_path TO "{name}"')
        cursor.close()
        dbapi_conn.commit()


def _connect_args(url: str) -> dict[str, Any]:
    return {"timeout": SQLITE_BUSY_SECONDS} if url.startswith("sqlite") else {}


def _tune_sqlite(engine: Engine) -> None:
    """WAL and foreign keys on; take the write lock at BEGIN so concurrent writers queue rather
    than fail halfway (pysqlite's own deferred BEGIN would upgrade the lock mid-transaction)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL still never corrupts the file; a power cut may lose the last commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        reading = conn.get_execution_options().get("aptlink_read")
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _display(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "$" + DB_ENV


def _has_schema(engine: Engine) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table(schema.evidence.name)


def _table(name: str) -> Table:
    return schema.metadata.tables[name]


def _lock_case(conn: Connection) -> None:
    """One writer per case at a time, as SQLite's BEGIN IMMEDIATE gives: on PostgreSQL a lock that
    writers of the case queue on and readers ignore, so rows-added counts and the replace of the
    analysis never interleave with another writer's."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {schema.evidence.name} IN SHARE ROW EXCLUSIVE MODE")


def _insert_new(conn: Connection, table: Table, values: list[dict[str, Any]]) -> None:
    if values:
        conn.execute(insert_new(conn.dialect.name, table), values)


# What a later run may change in a stored row: an input's outcome (a file that failed under an
# older parser and parses now). Everything else is identified by its content and never changes.
LATEST_WINS = {"evidence": ("format", "status", "reason", "record")}


def insert_new(dialect: str, table: Table) -> Insert:
    """INSERT ... ON CONFLICT in the engine's own dialect: do nothing, or for the columns in
    LATEST_WINS take the new values (no row is added either way)."""
    if dialect == "sqlite":
        stmt = sqlite.insert(table)
    elif dialect == "postgresql":
        stmt = postgresql.insert(table)  # type: ignore[assignment]
    else:
        raise StoreError(f"unsupported database backend: {dialect}")
    latest = LATEST_WINS.get(table.name)
    if not latest:
        return stmt.on_conflict_do_nothing()
    return stmt.on_conflict_do_update(
        index_elements=[table.c.id], set_={c: stmt.excluded[c] for c in latest}
    )


def _known(conn: Connection, table: Table, ids: Sequence[str], chunk: int = 500) -> set[str]:
    """Which of these ids the table already holds."""
    found: set[str] = set()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        found.update(conn.scalars(select(table.c.id).where(table.c.id.in_(part))))
    return found


def _counts(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    return {n: conn.scalar(select(func.count()).select_from(_table(n))) or 0 for n in names}


def _records(conn: Connection, table: Table, order: str = "seq") -> Iterator[dict[str, Any]]:
    for (record,) in conn.execute(select(table.c.record).order_by(table.c[order])):
        yield dict(record)


def _warnings(conn: Connection) -> list[Warning_]:
    table = schema.warnings
    query = select(table.c.where, table.c.message).order_by(table.c.seq)
    return [Warning_(where, message) for where, message in conn.execute(query)]


def _findings(conn: Connection) -> list[Finding]:
    observations = {
        i: dict(r)
        for i, r in conn.execute(select(schema.observations.c.id, schema.observations.c.record))
    }
    attached: dict[str, list[Observation]] = defaultdict(list)
    shared: dict[str, Observation] = {}  # one record for an observation several findings hold alike
    link = schema.finding_observations
    query = select(link.c.finding_id, link.c.observation_id, link.c.detail).order_by(
        link.c.finding_id, link.c.position
    )
    for finding_id, observation_id, detail in conn.execute(query):
        if detail:
            obs = Observation.from_dict({**observations[observation_id], **detail})
        else:
            obs = shared.get(observation_id) or shared.setdefault(
                observation_id, Observation.from_dict(observations[observation_id])
            )
        attached[finding_id].append(obs)
    found = []
    for record in _records(conn, schema.findings):
        record["observations"] = attached.get(record["id"], [])
        found.append(Finding.from_dict(record))
    return found
