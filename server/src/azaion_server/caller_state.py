"""The caller's state in one query: token revocation, the user or machine client, its licence.

Every authenticated request asks these three things, one check after the other (the token
check, the caller check, the licence check). `prefetch` asks them in one `SELECT` (the caller
left-joined to its licence, with an `EXISTS` on `revoked_tokens`) and leaves the answers where
the checks find them: the caller and its licence in the session's identity map, the revocation
and a missing licence in `prefetched`. The checks themselves are unchanged and still run in
their order; on PostgreSQL this saves two round trips per request. Nothing is cached beyond the
transaction, so a logout, a deletion or a licence change on any instance applies to the next
request exactly as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from azaion_server.clients.entities import Client
from azaion_server.jwt.entities import RevokedToken
from azaion_server.jwt.schemas import TokenClaims
from azaion_server.licenses.entities import ClientLicense, License
from azaion_server.prefetched import remember
from azaion_server.users.entities import User

REVOKED = "revoked"
LICENCE = "licence"
CALLER = "caller"


def _statement(
    entity: type[User] | type[Client], licence: type[License] | type[ClientLicense]
) -> Select[Any]:
    # Built once: constructing a statement costs more than running this one on SQLite.
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti")).exists().label("revoked")
    owner = ClientLicense.client_id if licence is ClientLicense else License.user_id
    return (
        select(entity, licence, revoked)
        .outerjoin(licence, owner == entity.id)
        .where(entity.id == bindparam("subject_id"))
    )


_USER = _statement(User, License)
_CLIENT = _statement(Client, ClientLicense)


def prefetch(session: Session, claims: TokenClaims) -> None:
    """Read the token's revocation, its caller and the caller's licence in one query."""
    try:
        subject_id = claims.subject_id
    except ValueError:
        return  # the token check refuses it anyway
    statement = _CLIENT if claims.kind == "client" else _USER
    row = session.execute(statement, {"jti": claims.jti, "subject_id": subject_id}).one_or_none()
    if row is None:
        return  # no such caller: the checks ask again and refuse the token
    remember(session, REVOKED, claims.jti, bool(row[2]))
    remember(session, LICENCE, (claims.kind, subject_id), row[1])
    # The identity map holds objects weakly: without a reference of our own the caller could be
    # gone before the caller check asks `session.get` for it.
    remember(session, CALLER, (claims.kind, subject_id), row[0])
