"""Who may read what, reading a resource into its envelope, storing uploads, soft deletes."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from azaion_server.auth.exceptions import InvalidCredentials
from azaion_server.db import utcnow
from azaion_server.envelope import seal, user_keys
from azaion_server.errors import BadRequest, Forbidden
from azaion_server.licenses.models import check_license, get_license
from azaion_server.names import RESERVED_FOLDER, check_name
from azaion_server.resources.cdn import CDN_FILE, cdn_yaml
from azaion_server.resources.entities import Resource
from azaion_server.resources.exceptions import ResourceNotFound
from azaion_server.resources.multipart import UploadForm
from azaion_server.resources.schemas import ResourceQuery
from azaion_server.users.entities import ADMIN_ROLES, Role, User
from azaion_server.users.models import bind_hardware

if TYPE_CHECKING:
    from azaion_server.context import AppContext

log = logging.getLogger(__name__)

_ADMIN_ROLE_VALUES = frozenset(role.value for role in ADMIN_ROLES)
MAX_LIST_COUNT = 1000
MAX_PATTERN_LENGTH = 128
# A group holding a quantifier, itself quantified; or a back-reference.
_COSTLY_PATTERN = re.compile(r"\((?:[^()\\]|\\.)*[+*?}](?:[^()\\]|\\.)*\)\s*[+*{?]|\\[1-9]")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def can_read(user: User, resource: Resource) -> bool:
    """The read policy of DESIGN.md's roles table (licences are checked before this).

    Admins read anything; uploaders what they uploaded (dead or alive) and live published
    resources; Validators live resources, published or not; Operators live published ones.
    Unknown roles: nothing.
    """
    if user.role in _ADMIN_ROLE_VALUES:
        return True
    if user.role == Role.RESOURCE_UPLOADER.value and resource.owner_id == user.id:
        return True
    if not resource.alive:
        return False
    if user.role == Role.VALIDATOR.value:
        return True
    if user.role in (Role.RESOURCE_UPLOADER.value, Role.OPERATOR.value):
        return resource.published
    return False


def visible_to(user: User, folders: list[str] | None) -> ColumnElement[bool]:
    """`can_read` as a SQL condition, for listings; `folders` is an Operator's licence."""
    if user.role in _ADMIN_ROLE_VALUES:
        return true()
    if user.role == Role.VALIDATOR.value:
        return Resource.alive.is_(True)
    if user.role == Role.RESOURCE_UPLOADER.value:
        live_published = and_(Resource.alive.is_(True), Resource.published.is_(True))
        return or_(Resource.owner_id == user.id, live_published)
    if user.role == Role.OPERATOR.value:
        return and_(
            Resource.alive.is_(True), Resource.published.is_(True), Resource.folder.in_(folders or [])
        )
    return Resource.id.is_(None)  # unknown role: nothing


def check_pattern(pattern: str) -> str:
    """A `name` filter that is a valid regular expression and not an obviously costly one.

    The database runs it (PostgreSQL's engine; Python's `re` on SQLite, which backtracks): a
    quantified group that holds a quantifier, like `(a+)+`, or a back-reference can take
    exponential time, so they are refused along with anything over 128 characters.
    """
    if len(pattern) > MAX_PATTERN_LENGTH or _COSTLY_PATTERN.search(pattern):
        raise BadRequest("name: pattern too long or too costly")
    try:
        re.compile(pattern)
    except re.error as e:
        raise BadRequest("name is not a valid regular expression") from e
    return pattern


def _timestamp(value: float) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    except (OverflowError, OSError, ValueError) as e:
        raise BadRequest("timestamp out of range") from e


def list_resources(context: AppContext, session: Session, user: User, query: ResourceQuery) -> list[Resource]:
    """The resources `user` may read that match `query`, newest modification first."""
    folders = None
    if user.role == Role.OPERATOR.value:
        licence = check_license(get_license(session, user.id), context.settings.licenses, query.folder)
        folders = licence.folders
    conditions = [visible_to(user, folders)]
    if query.id is not None:
        conditions.append(Resource.id == query.id)
    if query.folder is not None:
        conditions.append(Resource.folder == query.folder)
    if query.category is not None:
        conditions.append(Resource.category == query.category)
    if query.published is not None:
        conditions.append(Resource.published.is_(query.published))
    if query.alive is not None:
        conditions.append(Resource.alive.is_(query.alive))
    if query.since is not None:
        conditions.append(Resource.modified >= _timestamp(query.since))
    if query.uploaded is not None:
        conditions.append(Resource.uploaded >= _timestamp(query.uploaded))
    if query.name is not None:
        # Run by the database: PostgreSQL's engine, or Python's `re` (search) on SQLite.
        conditions.append(Resource.name.regexp_match(check_pattern(query.name)))
    statement = (
        select(Resource)
        .where(*conditions)
        .order_by(Resource.modified.desc(), Resource.id.desc())
        .limit(max(1, min(MAX_LIST_COUNT, query.count)))
    )
    try:
        return list(session.scalars(statement))
    except DataError as e:  # a pattern PostgreSQL's dialect of regular expressions refuses
        session.rollback()
        raise BadRequest("name is not a valid regular expression") from e


def resource_info(context: AppContext, session: Session, user: User, *, folder: str, name: str) -> Resource:
    """One resource's metadata, under the same licence and visibility rules as its bytes."""
    check_name(folder)
    check_name(name)
    if user.role == Role.OPERATOR.value:
        check_license(get_license(session, user.id), context.settings.licenses, folder)
    resource = session.scalar(select(Resource).where(Resource.folder == folder, Resource.name == name))
    if resource is None or not can_read(user, resource):
        raise ResourceNotFound()
    return resource


def check_password(
    context: AppContext, session: Session, user: User, password: str, address: str | None
) -> None:
    """InvalidCredentials unless `password` is the user's; failures count towards throttling."""
    if context.passwords.is_cached(user, password):
        return
    context.throttle.check(session, user.email, address)
    if not context.passwords.verify_user(user, password):
        context.throttle.record_failure(session, user.email, address)
        raise InvalidCredentials("wrong password")


def load_resource(
    context: AppContext,
    session: Session,
    user: User,
    *,
    folder: str,
    file_name: str,
    password: str,
    hardware: str,
    address: str | None,
) -> bytes:
    """The resource's bytes sealed in the user+hardware envelope (docs/formats.md, section 1).

    Order matters: names, then the password, then the machine (binding it on first use), then
    the licence, and only then whether the resource exists, so that nothing about the catalogue
    leaks to a caller who fails an earlier check.
    """
    check_name(folder)
    check_name(file_name)
    check_password(context, session, user, password, address)
    bind_hardware(session, user, hardware)
    if folder == RESERVED_FOLDER:
        if file_name != CDN_FILE:
            raise ResourceNotFound()
        plaintext = cdn_yaml(context.settings.resources, user.role)
    else:
        if user.role == Role.OPERATOR.value:
            check_license(get_license(session, user.id), context.settings.licenses, folder)
        resource = session.scalar(
            select(Resource).where(Resource.folder == folder, Resource.name == file_name)
        )
        if resource is None or not can_read(user, resource):
            raise ResourceNotFound()
        plaintext = context.storage.read(session, resource)
    return seal(user_keys(user.email, password, hardware), plaintext)


def _parse_draft(value: str | None) -> bool:
    if value is None:
        return False
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest("draft must be true or false")


def store_upload(context: AppContext, *, user_id: int, role: str, folder: str, form: UploadForm) -> Resource:
    """Store an upload as a new resource or a new version of an existing one.

    A new version keeps `uploaded`, the owner and (unless given) the category; it changes
    `modified`, and revives a soft-deleted resource. ResourceUploaders may only replace their
    own resources.
    """
    name = check_name(form.filename)
    category = form.fields.get("category") or None
    if category is not None and len(category) > 255:
        raise BadRequest("category is too long")
    draft = _parse_draft(form.fields.get("draft"))
    # Two first uploads of one name may race: the loser's INSERT fails on the unique
    # constraint and it goes again as an update.
    for attempt in (1, 2):
        with context.sessions() as session:
            resource: Resource | None = session.scalar(
                select(Resource).where(Resource.folder == folder, Resource.name == name).with_for_update()
            )
            now = utcnow()
            if resource is None:
                resource = Resource(folder=folder, name=name, uploaded=now, owner_id=user_id)
                session.add(resource)
            elif role == Role.RESOURCE_UPLOADER.value and resource.owner_id != user_id:
                raise Forbidden("this resource belongs to another uploader")
            resource.size = form.buffer.size
            resource.checksum = form.buffer.checksum
            resource.modified = now
            resource.published = not draft
            resource.alive = True
            if category is not None:
                resource.category = category
            try:
                session.flush()
            except IntegrityError:
                if attempt == 2:
                    raise
                continue
            context.storage.save(session, resource, form.buffer)
            session.commit()
        context.storage.after_commit(resource)
        log.info("stored %s/%s (%d bytes) as resource %s", folder, name, resource.size, resource.id)
        return resource
    raise AssertionError("unreachable")  # pragma: no cover


def soft_delete(session: Session, *, folder: str, name: str) -> Resource:
    """Mark a resource dead (`alive = false`); its bytes stay."""
    check_name(folder)
    check_name(name)
    resource = session.scalar(select(Resource).where(Resource.folder == folder, Resource.name == name))
    if resource is None:
        raise ResourceNotFound()
    resource.alive = False
    resource.modified = utcnow()
    session.commit()
    log.info("resource %s (%s/%s) deleted", resource.id, folder, name)
    return resource
