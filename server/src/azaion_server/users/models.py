"""Users: logging in, creation, roles, hardware resets, deletion and the first ApiAdmin."""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from azaion_server.audit import models as audit
from azaion_server.auth.models import Attempt, PasswordCheck, PasswordService
from azaion_server.jwt.models import TokenService
from azaion_server.licenses.entities import License
from azaion_server.licenses.models import info
from azaion_server.users.entities import User
from azaion_server.users.exceptions import (
    EmailTaken,
    InvalidEmail,
    LastApiAdmin,
    UserNotFound,
    WeakPassword,
)
from azaion_server.users.schemas import UserDetail
from azaion_server.vocabulary import ChangeLog, Role, normalise_email

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def find_user(session: Session, user_id: int) -> User | None:
    """The user with this id, if any (the `CallerDirectory` lookup of kind `user`)."""
    return session.get(User, user_id)


def login(
    session: Session,
    *,
    check: PasswordCheck,
    tokens: TokenService,
    email: str,
    password: str,
    address: str | None,
    jkt: str | None = None,
) -> str:
    """Check email and password and return a signed token (bound to the device key `jkt` when
    given); InvalidCredentials otherwise."""
    email = normalise_email(email)
    found = session.scalar(select(User).where(User.email == email))
    user = check.check(session, Attempt("email", email, address), found, password)
    if check.passwords.needs_rehash(user.password_hash):
        user.password_hash = check.passwords.hash(password)
    audit.record(session, audit.LOGIN, user, address=address)
    session.commit()
    return tokens.issue(user_id=user.id, email=user.email, role=user.role, jkt=jkt)


def valid_email(email: str) -> str:
    """The normalised email, or InvalidEmail."""
    email = normalise_email(email)
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidEmail()
    return email


def create_user(
    session: Session, passwords: PasswordService, *, email: str, password: str, role: Role
) -> User:
    """A new user with an argon2id hash of `password`."""
    email = valid_email(email)
    if not MIN_PASSWORD_LENGTH <= len(password) <= passwords.max_length:
        raise WeakPassword()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken()
    user = User(email=email, password_hash=passwords.hash(password), role=role.value)
    session.add(user)
    try:
        session.commit()
    except IntegrityError as e:  # a concurrent request took the email first
        session.rollback()
        raise EmailTaken() from e
    log.info("user %s created with role %s", user.id, user.role)
    return user


def get_user(session: Session, user_id: int) -> User:
    """The user with this id, or UserNotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


def list_users(session: Session) -> list[UserDetail]:
    """Every user with its binding state and licence, by id."""
    rows = session.execute(
        select(User, License).outerjoin(License, License.user_id == User.id).order_by(User.id)
    ).all()
    return [
        UserDetail(
            id=user.id,
            email=user.email,
            role=Role(user.role),
            hardware_bound=user.hardware_hash is not None,
            license=info(licence),
        )
        for user, licence in rows
    ]


def _other_api_admins(session: Session, user: User) -> int:
    return (
        session.scalar(select(func.count()).where(User.role == Role.API_ADMIN.value, User.id != user.id)) or 0
    )


def set_role(session: Session, user_id: int, role: Role) -> User:
    """Change a user's role; the last ApiAdmin cannot lose it."""
    user = get_user(session, user_id)
    if user.role == Role.API_ADMIN.value and role != Role.API_ADMIN and not _other_api_admins(session, user):
        raise LastApiAdmin()
    user.role = role.value
    session.commit()
    log.info("user %s now has role %s", user.id, user.role)
    return user


def delete_user(session: Session, user_id: int) -> None:
    """Delete a user (its licence goes with it; its resources stay, without owner)."""
    user = get_user(session, user_id)
    if user.role == Role.API_ADMIN.value and not _other_api_admins(session, user):
        raise LastApiAdmin()
    session.delete(user)
    session.commit()
    log.info("user %s deleted", user_id)


def reset_hardware(session: Session, changes: ChangeLog, user_id: int) -> None:
    """Unbind a user from its machine; the next download binds the machine it comes from."""
    user = get_user(session, user_id)
    user.hardware_hash = None
    changes.hardware_reset(session, user)
    session.commit()
    log.info("user %s unbound from its hardware", user_id)


def bootstrap_admin(session: Session, passwords: PasswordService, email: str, password: str) -> bool:
    """Create the first ApiAdmin unless one exists already; True when created."""
    if session.scalar(select(User.id).where(User.role == Role.API_ADMIN.value).limit(1)):
        return False
    try:
        create_user(session, passwords, email=email, password=password, role=Role.API_ADMIN)
    except EmailTaken:  # another instance bootstrapped it a moment ago, or the user exists
        return False
    return True
