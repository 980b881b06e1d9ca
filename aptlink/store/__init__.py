"""The case database (SQLAlchemy Core): SQLite file per case by default, PostgreSQL via $APTLINK_DB."""

from aptlink.store.casestore import CaseStore

__all__ = ["CaseStore"]
