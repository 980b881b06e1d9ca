"""The case database schema (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Every record keeps its full ``to_dict()`` form in a JSON ``record`` column next to the columns a query
needs (kinds, values, times, actors), so ``load()`` revives records exactly with ``from_dict``. Rows
are keyed by the records' deterministic ids; ``seq`` keeps the order in which rows first arrived.
The Alembic migrations in ``migrations/versions`` must produce exactly this schema (a test compares).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# Stable constraint names, so later migrations can alter them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 100  # "observation--" + uuid is 49; room for ids imported from STIX or MISP
UTC_TIME = DateTime(timezone=True)


def _seq() -> Column[int]:
    return Column("seq", Integer, primary_key=True, autoincrement=True)


def _id() -> Column[str]:
    return Column("id", String(ID), nullable=False, unique=True)


def _ref(table: str, name: str, *, key: bool = False) -> Column[str]:
    """A reference to another table's id; deleting the parent deletes the row."""
    fk = ForeignKey(f"{table}.id", ondelete="CASCADE")
    return Column(name, String(ID), fk, nullable=False, primary_key=key)


evidence = Table(
    "evidence",
    metadata,
    _seq(),
    _id(),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("format", String(64)),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("added", UTC_TIME, nullable=False),
    Column("record", JSON, nullable=False),
)

observations = Table(
    "observations",
    metadata,
    _seq(),
    _id(),
    Column("kind", String(32), nullable=False),
    Column("value", Text, nullable=False),
    # sha256 of the value: indexed instead of the value itself, because a B-tree entry is bounded
    # (about 2.7 kB on PostgreSQL) and command lines or URLs in evidence are not.
    Column("value_sha256", String(64), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("time", UTC_TIME),
    Column("record", JSON, nullable=False),
    Index(None, "kind", "value_sha256"),
    Index(None, "value_sha256"),
)

findings = Table(
    "findings",
    metadata,
    _seq(),
    _id(),
    Column("detector", String(128), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("verdict", String(16)),
    Column("time", UTC_TIME),
    Column("group_key", Text),
    Column("victim", Text),
    Column("sha256", String(64), nullable=False, index=True),
    Column("record", JSON, nullable=False),
)

# The per-finding part of an observation (its time and context) lives on the link, so the same
# indicator seen by two findings is one observation row and both findings still revive exactly.
finding_observations = Table(
    "finding_observations",
    metadata,
    _ref("findings", "finding_id", key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    _ref("observations", "observation_id"),
    Column("detail", JSON, nullable=False),  # {"time": ..., "context": ...} exactly as to_dict()
    Index(None, "observation_id"),
)

reasons = Table(
    "reasons",
    metadata,
    _ref("findings", "finding_id", key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("code", String(128), nullable=False, index=True),
    Column("detail", Text, nullable=False),
    Column("technique", String(16), index=True),
    Column("weight", Float, nullable=False),
)

warnings = Table(
    "warnings",
    metadata,
    _seq(),
    _id(),
    Column("where", Text, nullable=False),
    Column("message", Text, nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    _seq(),
    _id(),
    Column("title", Text, nullable=False),
    Column("victim", Text),
    Column("severity", String(16), nullable=False),
    Column("first_seen", UTC_TIME),
    Column("last_seen", UTC_TIME),
    Column("record", JSON, nullable=False),
)

incident_findings = Table(
    "incident_findings",
    metadata,
    _ref("incidents", "incident_id", key=True),
    _ref("findings", "finding_id", key=True),
    Index(None, "finding_id"),
)

campaigns = Table(
    "campaigns",
    metadata,
    _seq(),
    _id(),
    Column("name", Text, nullable=False),
    Column("first_seen", UTC_TIME),
    Column("last_seen", UTC_TIME),
    Column("record", JSON, nullable=False),
)

campaign_incidents = Table(
    "campaign_incidents",
    metadata,
    _ref("campaigns", "campaign_id", key=True),
    _ref("incidents", "incident_id", key=True),
    Column("membership", Text),
    Index(None, "incident_id"),
)

links = Table(
    "links",
    metadata,
    _seq(),
    _ref("campaigns", "campaign_id"),
    # Link ends are incident ids, kept unconstrained so a link to an incident from another source
    # (an imported STIX report) still stores.
    Column("source", String(ID), nullable=False, index=True),
    Column("target", String(ID), nullable=False, index=True),
    Column("weight", Float, nullable=False),
    Column("reasons", JSON, nullable=False),
)

attributions = Table(
    "attributions",
    metadata,
    _seq(),
    _id(),
    _ref("campaigns", "campaign_id"),
    Column("actor", Text, nullable=False, index=True),
    Column("attack_id", String(16)),
    Column("confidence", Float, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("attributed", Boolean, nullable=False),
    Column("record", JSON, nullable=False),
)

mitigations = Table(
    "mitigations",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("mitigation_id", String(32)),
    Column("name", Text),
    Column("record", JSON, nullable=False),
)

# Tables save_inputs() fills (idempotent, append-only) and save_analysis() replaces.
INPUT_TABLES = (
    "evidence",
    "observations",
    "findings",
    "finding_observations",
    "reasons",
    "warnings",
)
ANALYSIS_TABLES = (
    "incidents",
    "incident_findings",
    "campaigns",
    "campaign_incidents",
    "links",
    "attributions",
    "mitigations",
)
