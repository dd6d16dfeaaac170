"""The commissioning framework's tables: the intervention catalogue, funding rounds and
their places, applications, conflict declarations, assessors' scores, moderation, awards
and payments.

They share the records service's ``Base``, so every write goes through
``Records.writing`` and is audited in the same transaction (``dal._audit_flush``). Amounts
are whole pounds (``Integer``). A round's criteria, its decision record summary, funder and
allocation are JSON: they are published and hashed as a whole, never queried by part.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vru.adapters.records.models import Base, UTCDateTime


class InterventionEntry(Base):
    """An approach in the intervention catalogue, with its evidence ratings and source."""

    __tablename__ = "commissioning_interventions"
    __audit_entity__ = "intervention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    impact: Mapped[str] = mapped_column(String(16))
    evidence_quality: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    source_url: Mapped[str] = mapped_column(String(300))
    checked: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class FundingRound(Base):
    """A funding round: terms, published criteria, the decision its places come from, its
    stage, and (once run) its allocation and published package."""

    __tablename__ = "commissioning_rounds"
    __audit_entity__ = "funding_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    fund_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    budget: Mapped[int] = mapped_column(Integer)
    min_award: Mapped[int] = mapped_column(Integer)
    max_award: Mapped[int] = mapped_column(Integer)
    quality_threshold: Mapped[float] = mapped_column(Float)
    criterion_gap: Mapped[int] = mapped_column(Integer)
    total_gap: Mapped[float] = mapped_column(Float)
    min_assessors: Mapped[int] = mapped_column(Integer)
    partial_awards: Mapped[bool] = mapped_column(Boolean)
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    decision_on: Mapped[date | None] = mapped_column(Date)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    funder: Mapped[dict[str, Any]] = mapped_column(JSON)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    allocation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    allocation_sha256: Mapped[str | None] = mapped_column(String(64))
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_package: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class RoundPlace(Base):
    """An eligible place of a round: its areas (GSS codes), need figures, floor and cap,
    the decision's explanation and (optionally) a simplified outline for the public map."""

    __tablename__ = "commissioning_places"
    __audit_entity__ = "round_place"
    __table_args__ = (UniqueConstraint("round_id", "code", name="uq_commissioning_places"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("commissioning_rounds.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    parent_name: Mapped[str] = mapped_column(String(200))
    areas: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    count: Mapped[float | None] = mapped_column(Float)
    population: Mapped[float | None] = mapped_column(Float)
    need_points: Mapped[float] = mapped_column(Float)
    floor: Mapped[int] = mapped_column(Integer)
    cap: Mapped[int | None] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Application(Base):
    """An application from an organisation, for a place and an intervention."""

    __tablename__ = "commissioning_applications"
    __audit_entity__ = "application"
    __table_args__ = (UniqueConstraint("round_id", "reference",
                                       name="uq_commissioning_applications"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("commissioning_rounds.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    organisation_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str] = mapped_column(String(120), index=True)
    charity_number: Mapped[str] = mapped_column(String(20))
    company_number: Mapped[str] = mapped_column(String(20))
    postcode: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    place_code: Mapped[str] = mapped_column(String(20))
    intervention_key: Mapped[str] = mapped_column(String(60))
    amount_requested: Mapped[int] = mapped_column(Integer)
    minimum_amount: Mapped[int] = mapped_column(Integer)
    duration_months: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    eligibility: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    entered_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class ConflictOfInterest(Base):
    """A declared conflict of interest: a person with an application or an organisation."""

    __tablename__ = "commissioning_conflicts"
    __audit_entity__ = "conflict_of_interest"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("commissioning_rounds.id"), index=True)
    person: Mapped[str] = mapped_column(String(120))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("commissioning_applications.id"))
    organisation_id: Mapped[str | None] = mapped_column(String(120))
    nature: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssessorScoreRow(Base):
    """One assessor's rubric points for one application (``points``: criterion -> 0..4)."""

    __tablename__ = "commissioning_scores"
    __audit_entity__ = "assessor_score"
    __table_args__ = (UniqueConstraint("application_id", "assessor",
                                       name="uq_commissioning_scores"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("commissioning_applications.id"),
                                                index=True)
    assessor: Mapped[str] = mapped_column(String(120))
    assessor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    points: Mapped[dict[str, int]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class Moderation(Base):
    """The points a moderator settled for an application whose scores differed."""

    __tablename__ = "commissioning_moderations"
    __audit_entity__ = "moderation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("commissioning_applications.id"), unique=True)
    moderator: Mapped[str] = mapped_column(String(120))
    points: Mapped[dict[str, int]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    moderated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class Award(Base):
    """An award from an allocation, with its grant agreement."""

    __tablename__ = "commissioning_awards"
    __audit_entity__ = "award"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("commissioning_rounds.id"), index=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("commissioning_applications.id"), unique=True)
    grant_id: Mapped[str] = mapped_column(String(200), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    agreement_signed_on: Mapped[date | None] = mapped_column(Date)
    agreement_reference: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class Payment(Base):
    """A payment made against an award."""

    __tablename__ = "commissioning_payments"
    __audit_entity__ = "payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("commissioning_awards.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
