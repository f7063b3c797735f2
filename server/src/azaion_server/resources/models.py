"""Who may read what, reading a resource into its envelope, storing uploads, publishing, soft deletes.

Every change of a resource records its event (`events.models`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from azaion_server.auth.exceptions import InvalidCredentials
from azaion_server.callers import Caller
from azaion_server.clients.keys import SealedKeyError
from azaion_server.db import utcnow
from azaion_server.envelope import EnvelopeKeys, derive_keys, seal, user_keys
from azaion_server.errors import BadRequest, Forbidden, Internal
from azaion_server.events.models import (
    RESOURCE_CREATED,
    RESOURCE_DELETED,
    RESOURCE_PUBLISHED,
    RESOURCE_UPDATED,
    record_resource_event,
)
from azaion_server.licenses.models import check_license, get_license
from azaion_server.names import RESERVED_FOLDER, check_name
from azaion_server.resources.cdn import CDN_FILE
from azaion_server.resources.entities import Resource
from azaion_server.resources.exceptions import ResourceNotFound
from azaion_server.resources.multipart import UploadForm
from azaion_server.resources.patterns import check_pattern, deadline, first_matches
from azaion_server.resources.policy import can_read, is_owner
from azaion_server.resources.schemas import ResourceQuery
from azaion_server.users.entities import ADMIN_ROLE_VALUES, Role, User
from azaion_server.users.models import bind_hardware

if TYPE_CHECKING:
    from azaion_server.context import AppContext

log = logging.getLogger(__name__)

MAX_LIST_COUNT = 1000
# Rows fetched at a time while the `name` filter looks for matches.
_NAME_BATCH = 500
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})

__all__ = ["can_read", "check_pattern", "list_resources", "load_resource", "store_upload", "visible_to"]


def visible_to(caller: Caller, folders: list[str] | None) -> ColumnElement[bool]:
    """`can_read` as a SQL condition, for listings; `folders` is an Operator's licence."""
    if caller.role in ADMIN_ROLE_VALUES:
        return true()
    if caller.role == Role.VALIDATOR.value:
        return Resource.alive.is_(True)
    if caller.role == Role.RESOURCE_UPLOADER.value:
        live_published = and_(Resource.alive.is_(True), Resource.published.is_(True))
        owner = Resource.owner_client_id if caller.kind == "client" else Resource.owner_id
        return or_(owner == caller.id, live_published)
    if caller.role == Role.OPERATOR.value:
        return and_(
            Resource.alive.is_(True), Resource.published.is_(True), Resource.folder.in_(folders or [])
        )
    return Resource.id.is_(None)  # unknown role: nothing


def _timestamp(value: float) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    except (OverflowError, OSError, ValueError) as e:
        raise BadRequest("timestamp out of range") from e


def _licence_for(
    context: AppContext, session: Session, caller: Caller, folder: str | None
) -> list[str] | None:
    """An Operator's licensed folders (checked: current, covering `folder`); None for other roles."""
    if caller.role != Role.OPERATOR.value:
        return None
    return check_license(get_license(session, caller), context.settings.licenses, folder).folders


def list_resources(
    context: AppContext, session: Session, caller: Caller, query: ResourceQuery
) -> list[Resource]:
    """The resources `caller` may read that match `query`, newest modification first."""
    conditions = [visible_to(caller, _licence_for(context, session, caller, query.folder))]
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
    count = max(1, min(MAX_LIST_COUNT, query.count))
    order = (Resource.modified.desc(), Resource.id.desc())
    if query.name is None:
        return list(session.scalars(select(Resource).where(*conditions).order_by(*order).limit(count)))
    # The pattern is matched here, in linear time (resources/patterns.py), on what the caller
    # may see; the database streams ids and names newest first until `count` have matched.
    pattern = check_pattern(query.name)
    with deadline(session):
        names = select(Resource.id, Resource.name).where(*conditions).order_by(*order)
        rows = session.execute(names.execution_options(yield_per=_NAME_BATCH))
        ids = first_matches(rows, pattern, count)
        rows.close()
        found = (
            {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(ids)))} if ids else {}
        )
    return [found[i] for i in ids if i in found]


def _find(session: Session, folder: str, name: str, *, for_update: bool = False) -> Resource | None:
    statement = select(Resource).where(Resource.folder == folder, Resource.name == name)
    return session.scalar(statement.with_for_update() if for_update else statement)


def resource_info(
    context: AppContext, session: Session, caller: Caller, *, folder: str, name: str
) -> Resource:
    """One resource's metadata, under the same licence and visibility rules as its bytes."""
    check_name(folder)
    check_name(name)
    _licence_for(context, session, caller, folder)
    resource = _find(session, folder, name)
    if resource is None or not can_read(caller, resource):
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


def envelope_keys(
    context: AppContext,
    session: Session,
    caller: Caller,
    *,
    password: str | None,
    hardware: str,
    token_expires_at: float,
    address: str | None,
) -> EnvelopeKeys:
    """The caller's envelope keys on `hardware`, from the cache when a download made them already.

    A user proves its password (argon2, throttled) on a miss; a machine client proved its key
    in the handshake, and the server opens its stored copy.
    """
    cache = context.envelope_keys
    if isinstance(caller, User):
        if password is None:
            raise BadRequest("password: field required")
        slot = cache.slot(
            b"user",
            caller.nameid.encode(),
            caller.password_hash.encode(),
            password.encode(),
            hardware.encode(),
        )
        keys = cache.get(slot)
        if keys is None:
            check_password(context, session, caller, password, address)
            keys = user_keys(caller.email, password, hardware)
            cache.put(slot, keys, token_expires_at)
        return keys
    slot = cache.slot(b"client", caller.nameid.encode(), caller.sealed_key, hardware.encode())
    keys = cache.get(slot)
    if keys is None:
        try:
            secret = context.key_vault.open(caller.name, caller.sealed_key)
        except SealedKeyError as e:
            log.error(
                "the key of machine client %s does not open: AZAION_CLIENT_KEY_SECRET changed?", caller.id
            )
            raise Internal() from e
        keys = derive_keys(caller.name.encode("utf-8"), secret, hardware)
        cache.put(slot, keys, token_expires_at)
    return keys


def load_resource(
    context: AppContext,
    session: Session,
    caller: Caller,
    *,
    folder: str,
    file_name: str,
    password: str | None,
    hardware: str,
    token_expires_at: float,
    address: str | None,
) -> bytes:
    """The resource's bytes sealed in the caller's envelope (docs/formats.md, section 1).

    Order matters: names, then the password, then the machine (binding it on first use), then
    the licence, and only then whether the resource exists, so that nothing about the catalogue
    leaks to a caller who fails an earlier check.
    """
    check_name(folder)
    check_name(file_name)
    keys = envelope_keys(
        context,
        session,
        caller,
        password=password,
        hardware=hardware,
        token_expires_at=token_expires_at,
        address=address,
    )
    bind_hardware(session, caller, hardware)
    if folder == RESERVED_FOLDER:
        if file_name != CDN_FILE:
            raise ResourceNotFound()
        plaintext = context.cdn.document(caller.role)
    else:
        _licence_for(context, session, caller, folder)
        resource = _find(session, folder, file_name)
        if resource is None or not can_read(caller, resource):
            raise ResourceNotFound()
        plaintext = context.storage.read(session, resource)
    return seal(keys, plaintext)


def _parse_draft(value: str | None) -> bool:
    if value is None:
        return False
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest("draft must be true or false")


def store_upload(
    context: AppContext, *, caller: Caller, folder: str, form: UploadForm, replace_only: bool = False
) -> Resource:
    """Store an upload as a new resource or a new version of an existing one.

    A new version keeps `uploaded`, the owner and (unless given) the category; it changes
    `modified`, and revives a soft-deleted resource. ResourceUploaders may only replace their
    own resources. `replace_only` (`PUT`) answers 404 rather than create a resource.
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
            resource = _find(session, folder, name, for_update=True)
            now = utcnow()
            created = resource is None
            was_published: bool | None = None
            was_alive: bool | None = None
            if resource is None:
                if replace_only:
                    raise ResourceNotFound()
                resource = Resource(folder=folder, name=name, uploaded=now)
                if caller.kind == "client":
                    resource.owner_client_id = caller.id
                else:
                    resource.owner_id = caller.id
                session.add(resource)
            elif caller.role == Role.RESOURCE_UPLOADER.value and not is_owner(caller, resource):
                raise Forbidden("this resource belongs to another uploader")
            else:
                was_published, was_alive = resource.published, resource.alive
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
            record_resource_event(
                session,
                RESOURCE_CREATED if created else RESOURCE_UPDATED,
                resource,
                was_published=was_published,
                was_alive=was_alive,
            )
            session.commit()
        context.storage.after_commit(resource)
        log.info("stored %s/%s (%d bytes) as resource %s", folder, name, resource.size, resource.id)
        return resource
    raise AssertionError("unreachable")  # pragma: no cover


def set_published(session: Session, caller: Caller, *, folder: str, name: str, published: bool) -> Resource:
    """Publish or withdraw a resource: its uploader, Admins and ApiAdmins may.

    A resource the caller cannot read is not found; one it can read but did not upload is
    forbidden. Publishing what is published already changes nothing and records no event.
    """
    check_name(folder)
    check_name(name)
    resource = _find(session, folder, name, for_update=True)
    if resource is None or not can_read(caller, resource):
        raise ResourceNotFound()
    if caller.role not in ADMIN_ROLE_VALUES and not is_owner(caller, resource):
        raise Forbidden("only the uploader of a resource or an admin may publish it")
    if resource.published != published:
        resource.published = published
        resource.modified = utcnow()
        session.flush()
        record_resource_event(
            session, RESOURCE_PUBLISHED, resource, was_published=not published, was_alive=resource.alive
        )
        log.info("resource %s %s", resource.id, "published" if published else "withdrawn")
    session.commit()
    return resource


def soft_delete(session: Session, *, folder: str, name: str) -> Resource:
    """Mark a resource dead (`alive = false`); its bytes stay."""
    check_name(folder)
    check_name(name)
    resource = _find(session, folder, name, for_update=True)
    if resource is None:
        raise ResourceNotFound()
    if resource.alive:
        resource.alive = False
        resource.modified = utcnow()
        session.flush()
        record_resource_event(
            session, RESOURCE_DELETED, resource, was_published=resource.published, was_alive=True
        )
        log.info("resource %s (%s/%s) deleted", resource.id, folder, name)
    session.commit()
    return resource
