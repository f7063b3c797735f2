"""`GET /audit` (ApiAdmin): the audit trail, filtered and paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from azaion_server.audit import models
from azaion_server.audit.schemas import AuditPage, AuditQuery
from azaion_server.auth.deps import ApiAdmin
from azaion_server.deps import SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def audit(query: Annotated[AuditQuery, Query()], _admin: ApiAdmin, session: SessionDep) -> AuditPage:
    """Audit rows, newest first: filter by action, actor, device, folder, name, mode and time;
    page with `limit` (at most 500) and `before` (the `next` of the previous page)."""
    return models.search(session, query)
