"""Run the Alembic migrations shipped in this package against a case database."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic's `context` is one global per process: two threads migrating at once would share it.
_IN_PROCESS = threading.Lock()
# PostgreSQL: processes migrating the same database queue on this advisory lock (any constant).
ADVISORY_KEY = 0x61_70_74_6C  # "aptl"


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@cache
def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _current(conn)


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision`` inside one transaction (SQLite and PostgreSQL both roll DDL back);
    a database already at head is left alone without running Alembic's environment."""
    with _IN_PROCESS, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_KEY})")
        if revision == "head" and _current(conn) == head():
            return
        cfg = config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
