"""initial case store schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 18:09:32.112768
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("id", name=op.f("uq_campaigns_id")),
    )
    op.create_table(
        "evidence",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("added", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_evidence")),
        sa.UniqueConstraint("id", name=op.f("uq_evidence_id")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_sha256"), ["sha256"], unique=False)

    op.create_table(
        "findings",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("detector", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("group_key", sa.Text(), nullable=True),
        sa.Column("victim", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_findings")),
        sa.UniqueConstraint("id", name=op.f("uq_findings_id")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_findings_detector"), ["detector"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_sha256"), ["sha256"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("victim", sa.Text(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_incidents")),
        sa.UniqueConstraint("id", name=op.f("uq_incidents_id")),
    )
    op.create_table(
        "mitigations",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mitigation_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_mitigations")),
    )
    op.create_table(
        "observations",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_observations")),
        sa.UniqueConstraint("id", name=op.f("uq_observations_id")),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_observations_kind_value_sha256"), ["kind", "value_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_observations_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_observations_value_sha256"), ["value_sha256"], unique=False
        )

    op.create_table(
        "warnings",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("where", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_warnings")),
        sa.UniqueConstraint("id", name=op.f("uq_warnings_id")),
    )
    op.create_table(
        "attributions",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("campaign_id", sa.String(length=100), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("attack_id", sa.String(length=16), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("attributed", sa.Boolean(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_attributions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_attributions")),
        sa.UniqueConstraint("id", name=op.f("uq_attributions_id")),
    )
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attributions_actor"), ["actor"], unique=False)

    op.create_table(
        "campaign_incidents",
        sa.Column("campaign_id", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=100), nullable=False),
        sa.Column("membership", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_incidents_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_campaign_incidents_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "incident_id", name=op.f("pk_campaign_incidents")),
    )
    with op.batch_alter_table("campaign_incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_incidents_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "finding_observations",
        sa.Column("finding_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("observation_id", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_finding_observations_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["observation_id"],
            ["observations.id"],
            name=op.f("fk_finding_observations_observation_id_observations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finding_id", "position", name=op.f("pk_finding_observations")),
    )
    with op.batch_alter_table("finding_observations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_finding_observations_observation_id"), ["observation_id"], unique=False
        )

    op.create_table(
        "incident_findings",
        sa.Column("incident_id", sa.String(length=100), nullable=False),
        sa.Column("finding_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_incident_findings_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_findings_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "finding_id", name=op.f("pk_incident_findings")),
    )
    with op.batch_alter_table("incident_findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_findings_finding_id"), ["finding_id"], unique=False
        )

    op.create_table(
        "links",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_links_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_links")),
    )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_links_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_links_target"), ["target"], unique=False)

    op.create_table(
        "reasons",
        sa.Column("finding_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("technique", sa.String(length=16), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_reasons_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finding_id", "position", name=op.f("pk_reasons")),
    )
    with op.batch_alter_table("reasons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reasons_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_reasons_technique"), ["technique"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reasons_technique"))
        batch_op.drop_index(batch_op.f("ix_reasons_code"))

    op.drop_table("reasons")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_links_target"))
        batch_op.drop_index(batch_op.f("ix_links_source"))

    op.drop_table("links")
    with op.batch_alter_table("incident_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_findings_finding_id"))

    op.drop_table("incident_findings")
    with op.batch_alter_table("finding_observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_observations_observation_id"))

    op.drop_table("finding_observations")
    with op.batch_alter_table("campaign_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_incidents_incident_id"))

    op.drop_table("campaign_incidents")
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attributions_actor"))

    op.drop_table("attributions")
    op.drop_table("warnings")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observations_value_sha256"))
        batch_op.drop_index(batch_op.f("ix_observations_sha256"))
        batch_op.drop_index(batch_op.f("ix_observations_kind_value_sha256"))

    op.drop_table("observations")
    op.drop_table("mitigations")
    op.drop_table("incidents")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_sha256"))
        batch_op.drop_index(batch_op.f("ix_findings_detector"))

    op.drop_table("findings")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_sha256"))

    op.drop_table("evidence")
    op.drop_table("campaigns")
