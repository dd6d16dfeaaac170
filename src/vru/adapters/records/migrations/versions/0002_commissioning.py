"""The commissioning framework: intervention catalogue, funding rounds and their places,
applications, conflicts of interest, assessors' scores, moderation, awards and payments.

Revision ID: 0002_commissioning
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Registers the commissioning models on the records Base's metadata wherever migrations are
# loaded, so autogenerate (and the test that models and migrations agree) sees them.
import vru.adapters.records.commissioning_models  # noqa: F401

revision: str = "0002_commissioning"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPLICATIONS = "commissioning_applications.id"


def upgrade() -> None:
    op.create_table(
        "commissioning_interventions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(60), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("impact", sa.String(16), nullable=False),
        sa.Column("evidence_quality", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("source_url", sa.String(300), nullable=False),
        sa.Column("checked", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "commissioning_rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference", sa.String(60), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("fund_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("min_award", sa.Integer(), nullable=False),
        sa.Column("max_award", sa.Integer(), nullable=False),
        sa.Column("quality_threshold", sa.Float(), nullable=False),
        sa.Column("criterion_gap", sa.Integer(), nullable=False),
        sa.Column("total_gap", sa.Float(), nullable=False),
        sa.Column("min_assessors", sa.Integer(), nullable=False),
        sa.Column("partial_awards", sa.Boolean(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=True),
        sa.Column("decision_on", sa.Date(), nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("funder", sa.JSON(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("allocation", sa.JSON(), nullable=True),
        sa.Column("allocation_sha256", sa.String(64), nullable=True),
        sa.Column("allocated_at", sa.DateTime(), nullable=True),
        sa.Column("published_package", sa.JSON(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_commissioning_rounds_status", "commissioning_rounds", ["status"])
    op.create_table(
        "commissioning_places",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("commissioning_rounds.id"),
                  nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_name", sa.String(200), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("count", sa.Float(), nullable=True),
        sa.Column("population", sa.Float(), nullable=True),
        sa.Column("need_points", sa.Float(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=True),
        sa.UniqueConstraint("round_id", "code", name="uq_commissioning_places"),
    )
    op.create_index("ix_commissioning_places_round_id", "commissioning_places", ["round_id"])
    op.create_table(
        "commissioning_applications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("commissioning_rounds.id"),
                  nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("organisation_name", sa.String(200), nullable=False),
        sa.Column("organisation_id", sa.String(120), nullable=False),
        sa.Column("charity_number", sa.String(20), nullable=False),
        sa.Column("company_number", sa.String(20), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("place_code", sa.String(20), nullable=False),
        sa.Column("intervention_key", sa.String(60), nullable=False),
        sa.Column("amount_requested", sa.Integer(), nullable=False),
        sa.Column("minimum_amount", sa.Integer(), nullable=False),
        sa.Column("duration_months", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("entered_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("round_id", "reference", name="uq_commissioning_applications"),
    )
    op.create_index("ix_commissioning_applications_round_id", "commissioning_applications",
                    ["round_id"])
    op.create_index("ix_commissioning_applications_organisation_id",
                    "commissioning_applications", ["organisation_id"])
    op.create_table(
        "commissioning_conflicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("commissioning_rounds.id"),
                  nullable=False),
        sa.Column("person", sa.String(120), nullable=False),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey(APPLICATIONS), nullable=True),
        sa.Column("organisation_id", sa.String(120), nullable=True),
        sa.Column("nature", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_commissioning_conflicts_round_id", "commissioning_conflicts",
                    ["round_id"])
    op.create_table(
        "commissioning_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey(APPLICATIONS),
                  nullable=False),
        sa.Column("assessor", sa.String(120), nullable=False),
        sa.Column("assessor_user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("application_id", "assessor", name="uq_commissioning_scores"),
    )
    op.create_index("ix_commissioning_scores_application_id", "commissioning_scores",
                    ["application_id"])
    op.create_table(
        "commissioning_moderations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey(APPLICATIONS),
                  nullable=False, unique=True),
        sa.Column("moderator", sa.String(120), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("moderated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "commissioning_awards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("commissioning_rounds.id"),
                  nullable=False),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey(APPLICATIONS),
                  nullable=False, unique=True),
        sa.Column("grant_id", sa.String(200), nullable=False, unique=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agreement_signed_on", sa.Date(), nullable=True),
        sa.Column("agreement_reference", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_commissioning_awards_round_id", "commissioning_awards", ["round_id"])
    op.create_table(
        "commissioning_payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("award_id", sa.Integer(), sa.ForeignKey("commissioning_awards.id"),
                  nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_commissioning_payments_award_id", "commissioning_payments",
                    ["award_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_commissioning_payments_award_id", "commissioning_payments"),
        ("ix_commissioning_awards_round_id", "commissioning_awards"),
        ("ix_commissioning_scores_application_id", "commissioning_scores"),
        ("ix_commissioning_conflicts_round_id", "commissioning_conflicts"),
        ("ix_commissioning_applications_organisation_id", "commissioning_applications"),
        ("ix_commissioning_applications_round_id", "commissioning_applications"),
        ("ix_commissioning_places_round_id", "commissioning_places"),
        ("ix_commissioning_rounds_status", "commissioning_rounds"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("commissioning_payments", "commissioning_awards", "commissioning_moderations",
                  "commissioning_scores", "commissioning_conflicts",
                  "commissioning_applications", "commissioning_places", "commissioning_rounds",
                  "commissioning_interventions"):
        op.drop_table(table)
