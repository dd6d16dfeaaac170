"""Request and response bodies of the API (they make its OpenAPI description)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vru.services.security.roles import Role


class Message(BaseModel):
    detail: str


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    one_time_code: str | None = Field(default=None, max_length=20,
                                      description="The 6-digit code from an authenticator "
                                                  "app (restricted roles only).")
    csrf_token: str | None = Field(default=None, max_length=200,
                                   description="For form posts: the token from "
                                               "GET /api/auth/csrf.")


class CsrfOut(BaseModel):
    csrf_token: str


class Me(BaseModel):
    username: str | None
    role: str
    borough: str | None
    permissions: list[str]


class SignedInOut(BaseModel):
    csrf_token: str = Field(description="Send it as the X-CSRF-Token header (or csrf_token "
                                        "form field) with every request that changes "
                                        "something.")
    user: Me


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(max_length=40)
    year: int
    borough: str = Field(max_length=80)
    review_type: str
    review_status: str
    incident_date: date | None = None
    ward: str | None = Field(default=None, max_length=80)
    victim_age_band: str = "not_known"
    victim_sex: str = "not_known"
    victim_ethnicity: str = "not_stated"
    suspect_age_band: str | None = None
    suspect_sex: str | None = None
    suspect_ethnicity: str | None = None
    method: str = "not_known"
    relationship: str = "not_known"
    synthetic: bool = False


class CasePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, description="The version you read; the change "
                                                          "is refused if it has moved on.")
    reference: str | None = Field(default=None, max_length=40)
    year: int | None = None
    borough: str | None = Field(default=None, max_length=80)
    review_type: str | None = None
    review_status: str | None = None
    incident_date: date | None = None
    ward: str | None = Field(default=None, max_length=80)
    victim_age_band: str | None = None
    victim_sex: str | None = None
    victim_ethnicity: str | None = None
    suspect_age_band: str | None = None
    suspect_sex: str | None = None
    suspect_ethnicity: str | None = None
    method: str | None = None
    relationship: str | None = None
    synthetic: bool | None = None


class RecommendationOut(BaseModel):
    id: int
    case_id: int
    text: str
    agency: str
    status: str
    due_on: date | None
    closed_on: date | None
    closure_note: str | None
    created_at: datetime
    updated_at: datetime


class CodingOut(BaseModel):
    id: int
    coding_round: str
    coder: str
    coded_at: datetime
    factors: dict[str, bool | None]


class CaseOut(BaseModel):
    """A case. Fields the reader's role may not see are absent and named in ``withheld``."""

    id: int
    reference: str
    year: int
    borough: str
    method: str
    review_type: str
    review_status: str
    synthetic: bool
    version: int
    created_at: datetime
    updated_at: datetime
    incident_date: date | None = None
    ward: str | None = None
    victim_age_band: str | None = None
    victim_sex: str | None = None
    victim_ethnicity: str | None = None
    suspect_age_band: str | None = None
    suspect_sex: str | None = None
    suspect_ethnicity: str | None = None
    relationship: str | None = None
    withheld: list[str]
    recommendations: list[RecommendationOut] | None = None
    codings: list[CodingOut] | None = None


class CaseList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CaseOut]


class CodingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    factors: dict[str, bool | None] = Field(description="Factor code -> true, false or null "
                                                        "(not known).")
    coder: str | None = Field(default=None, max_length=80,
                              description="Defaults to your username.")


class RecommendationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=5000)
    agency: str = Field(max_length=120)
    due_on: date | None = None


class RecommendationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    closed_on: date | None = None
    closure_note: str | None = Field(default=None, max_length=5000)


class TablesOut(BaseModel):
    tables: dict[str, list[dict[str, Any]]]


class SummaryOut(BaseModel):
    threshold: int
    rounding_base: int
    synthetic_cases_included: bool
    notes: list[str]
    tables: dict[str, list[dict[str, Any]]]


class ImportOut(BaseModel):
    file: str
    cases: int
    codings: int


class ProblemOut(BaseModel):
    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    action: str


class InputErrorOut(BaseModel):
    detail: str
    total: int
    problems: list[ProblemOut]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    password: str = Field(max_length=1000)
    role: Role
    borough: str | None = Field(default=None, max_length=80)
    display_name: str | None = Field(default=None, max_length=120)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    borough: str | None
    disabled: bool
    has_totp: bool
    created_at: datetime
    last_login_at: datetime | None


class NewUserOut(BaseModel):
    user: UserOut
    totp_uri: str | None = Field(description="Shown once: add it to an authenticator app.")


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(max_length=1000)
    new_totp: bool = False


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    actor_role: str | None
    client: str | None
    action: str
    entity: str
    entity_id: str | None
    before: str | None
    after: str | None
    hash: str


class ChainOut(BaseModel):
    ok: bool
    entries: int
    anchor: str
    problem: str | None
    bad_seq: int | None


class VocabularyOut(BaseModel):
    vocabularies: dict[str, list[dict[str, str]]]
    factors: list[dict[str, str]]


class Health(BaseModel):
    status: str
    database: str
