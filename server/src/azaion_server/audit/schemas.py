"""`GET /audit`: its filters and its page of events."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_PAGE = 500


class AuditQuery(BaseModel):
    """Filters (all optional, combined with AND) and the page: newest first, `before` an id."""

    action: str | None = Field(default=None, max_length=32)
    actor: str | None = Field(default=None, max_length=64)
    device: str | None = Field(default=None, max_length=64)
    folder: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=255)
    mode: str | None = Field(default=None, max_length=16)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = Field(default=None, ge=1, le=2**31 - 1)
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_8601(cls, value: object) -> object:
        # pydantic would read "0.5" as seconds since 1970; the schema says an ISO 8601 date and
        # time (found by schemathesis).
        if isinstance(value, (int, float)) or (isinstance(value, str) and _is_number(value)):
            raise ValueError("an ISO 8601 date and time")
        return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class AuditEventOut(BaseModel):
    """One audit row."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    action: str
    actor: str | None
    actor_name: str | None
    device: str | None
    folder: str | None
    name: str | None
    version: str | None
    address: str | None
    mode: str | None
    detail: str | None


class AuditPage(BaseModel):
    """A page of `GET /audit`; `next` is the `before` of the following page (null at the end)."""

    results: list[AuditEventOut]
    next: int | None = None
