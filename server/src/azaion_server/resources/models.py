"""Who may read what, reading a resource into its envelope, storing uploads, publishing, soft deletes.

Every change of a resource records its event in the same transaction, through the `ChangeLog`
it is given (`events.models.EventLog`). Every function takes the services it uses.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from azaion_server.audit import models as audit
from azaion_server.auth.models import Attempt, PasswordCheck, bind_hardware
from azaion_server.clients.entities import Client
from azaion_server.clients.keys import KeyVault, SealedKeyError
from azaion_server.db import utcnow
from azaion_server.devices import sealing
from azaion_server.devices.entities import Device
from azaion_server.devices.exceptions import DeviceRequired
from azaion_server.devices.models import active_device
from azaion_server.envelope import EnvelopeKeys, derive_keys, seal, user_keys
from azaion_server.errors import BadRequest, Forbidden, Internal
from azaion_server.jwt.leases import Lease, LeaseIssuer, LeaseSubject
from azaion_server.licenses.models import check_license, get_license
from azaion_server.licenses.settings import LicenseSettings
from azaion_server.names import RESERVED_FOLDER, check_name
from azaion_server.publishers.models import check_release
from azaion_server.resources.cdn import CDN_FILE, CdnDocuments
from azaion_server.resources.entities import Resource
from azaion_server.resources.exceptions import ResourceNotFound
from azaion_server.resources.keycache import EnvelopeKeyCache
from azaion_server.resources.multipart import UploadForm
from azaion_server.resources.patterns import check_pattern, deadline, first_matches
from azaion_server.resources.policy import can_read, is_owner, owner_nameid
from azaion_server.resources.schemas import ResourceOut, ResourceQuery
from azaion_server.resources.storage import Storage
from azaion_server.users.entities import User
from azaion_server.vocabulary import (
    ADMIN_ROLE_VALUES,
    RESOURCE_CREATED,
    RESOURCE_DELETED,
    RESOURCE_PUBLISHED,
    RESOURCE_UPDATED,
    Caller,
    ChangeLog,
    ResourceChange,
    Role,
)

log = logging.getLogger(__name__)

MAX_LIST_COUNT = 1000
# Where the salt starts in a resource header (docs/formats.md, section 2).
_SALT_OFFSET = 10
# Rows fetched at a time while the `name` filter looks for matches.
_NAME_BATCH = 500
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})

__all__ = [
    "Issued",
    "can_read",
    "check_pattern",
    "list_resources",
    "load_resource",
    "store_upload",
    "visible_to",
]


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


def _record(
    changes: ChangeLog,
    session: Session,
    type_: str,
    resource: Resource,
    *,
    was_published: bool | None,
    was_alive: bool | None,
) -> None:
    """Record a change of `resource` (flushed, in its new state); `was_*` is its state before
    (None for a resource that did not exist)."""
    changes.resource_changed(
        session,
        ResourceChange(
            type=type_,
            folder=resource.folder,
            owner=owner_nameid(resource),
            published=resource.published,
            alive=resource.alive,
            was_published=was_published,
            was_alive=was_alive,
            payload={"resource": ResourceOut.of(resource).model_dump()},
        ),
    )


def _licence_for(
    licences: LicenseSettings, session: Session, caller: Caller, folder: str | None
) -> list[str] | None:
    """An Operator's licensed folders (checked: current, covering `folder`); None for other roles."""
    if caller.role != Role.OPERATOR.value:
        return None
    return check_license(get_license(session, caller), licences, folder).folders


def list_resources(
    licences: LicenseSettings, session: Session, caller: Caller, query: ResourceQuery
) -> list[Resource]:
    """The resources `caller` may read that match `query`, newest modification first."""
    conditions = [visible_to(caller, _licence_for(licences, session, caller, query.folder))]
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


# Built once: the download path runs it on every request (values are bound per call).
_LOADED = "azaion.loaded_resource"
_BY_NAME = select(Resource).where(Resource.folder == bindparam("folder"), Resource.name == bindparam("name"))


def _find(session: Session, folder: str, name: str, *, for_update: bool = False) -> Resource | None:
    if for_update:  # writes: rare, and built here so that a test can stage a race through `select`
        statement = select(Resource).where(Resource.folder == folder, Resource.name == name)
        return session.scalar(statement.with_for_update())
    statement = _BY_NAME
    return session.scalar(statement, {"folder": folder, "name": name})


def resource_info(
    licences: LicenseSettings, session: Session, caller: Caller, *, folder: str, name: str
) -> Resource:
    """One resource's metadata, under the same licence and visibility rules as its bytes."""
    check_name(folder)
    check_name(name)
    _licence_for(licences, session, caller, folder)
    resource = _find(session, folder, name)
    if resource is None or not can_read(caller, resource):
        raise ResourceNotFound()
    return resource


def envelope_keys(
    session: Session,
    caller: Caller,
    *,
    cache: EnvelopeKeyCache,
    check: PasswordCheck,
    vault: KeyVault,
    password: str | None,
    hardware: str,
    token_expires_at: float,
    address: str | None,
) -> EnvelopeKeys:
    """The caller's envelope keys on `hardware`, from the cache when a download made them already.

    A user proves its password (the one throttled check) on a miss; a machine client proved its key
    in the handshake, and the server opens its stored copy.
    """
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
            check.check(session, Attempt("email", caller.email, address), caller, password)
            keys = user_keys(caller.email, password, hardware)
            cache.put(slot, keys, token_expires_at)
        return keys
    assert isinstance(caller, Client)  # a caller is a user or a machine client
    slot = cache.slot(b"client", caller.nameid.encode(), caller.sealed_key, hardware.encode())
    keys = cache.get(slot)
    if keys is None:
        try:
            secret = vault.open(caller.name, caller.sealed_key)
        except SealedKeyError as e:
            log.error(
                "the key of machine client %s does not open: AZAION_CLIENT_KEY_SECRET changed?", caller.id
            )
            raise Internal() from e
        keys = derive_keys(caller.name.encode("utf-8"), secret, hardware)
        cache.put(slot, keys, token_expires_at)
    return keys


@dataclass(frozen=True)
class Issued:
    """What `POST /resources/get/{folder}` answers: the sealed body and, when the licence allows
    offline use, the lease that goes with it (`Azaion-Lease`)."""

    body: bytes
    lease: Lease | None = None


def load_resource(
    session: Session,
    caller: Caller,
    *,
    cache: EnvelopeKeyCache,
    check: PasswordCheck,
    vault: KeyVault,
    storage: Storage,
    cdn: CdnDocuments,
    licences: LicenseSettings,
    folder: str,
    file_name: str,
    password: str | None,
    hardware: str,
    token_expires_at: float,
    address: str | None,
    jkt: str | None = None,
    legacy: bool = False,
    leases: LeaseIssuer | None = None,
) -> Issued:
    """The resource's bytes sealed to the caller's device (`jkt`, docs/formats.md, section 3), or
    in the caller's v1 envelope (section 1) when the token names no device and `legacy` is on.

    Sealed to a device, a resource (never `cdn.yaml`) also gets a lease signed by `leases` when
    the caller's licence has `offline_hours` (docs/formats.md, section 8).

    Order matters: names, then the device (or the password, then the machine, binding it on
    first use), then the licence, and only then whether the resource exists, so that nothing
    about the catalogue leaks to a caller who fails an earlier check.
    """
    check_name(folder)
    check_name(file_name)
    if jkt is not None:
        device = active_device(session, caller, jkt)
        plaintext, version = _plaintext(session, caller, storage, cdn, licences, folder, file_name)
        sealed = sealing.seal(
            device.sealing_key, plaintext, folder=folder, name=file_name, version=version, device_id=device.id
        )
        lease = None
        if leases is not None and folder != RESERVED_FOLDER:
            lease = _lease(session, caller, leases, device, folder, file_name, version, plaintext, sealed)
        _audit_issued(session, caller, address, folder, file_name, version, str(device.id), lease)
        return Issued(sealed, lease)
    if not legacy:
        raise DeviceRequired()
    keys = envelope_keys(
        session,
        caller,
        cache=cache,
        check=check,
        vault=vault,
        password=password,
        hardware=hardware,
        token_expires_at=token_expires_at,
        address=address,
    )
    bind_hardware(session, caller, hardware)
    plaintext, version = _plaintext(session, caller, storage, cdn, licences, folder, file_name)
    sealed = seal(keys, plaintext)
    _audit_issued(session, caller, address, folder, file_name, version, None, None)
    return Issued(sealed)


def _lease(
    session: Session,
    caller: Caller,
    leases: LeaseIssuer,
    device: Device,
    folder: str,
    name: str,
    version: str,
    plaintext: bytes,
    sealed: bytes,
) -> Lease | None:
    """The lease of a small part just sealed to `device`, when the caller's licence allows one.

    An Operator's licence was checked already (current, covering the folder); other roles read
    without a licence and get a lease only when they hold one with `offline_hours` too.
    """
    licence = get_license(session, caller)
    if licence is None or licence.offline_hours <= 0:
        return None
    subject = LeaseSubject(
        sub=caller.nameid,
        device_id=device.id,
        jkt=device.jkt,
        folder=folder,
        name=name,
        version=version,
        plaintext=plaintext,
        sealed=sealed,
    )
    return leases.issue(subject, offline_hours=licence.offline_hours, licence_expires_at=licence.expires_at)


def _audit_issued(
    session: Session,
    caller: Caller,
    address: str | None,
    folder: str,
    name: str,
    version: str,
    device: str | None,
    lease: Lease | None,
) -> None:
    """The audit rows of a small part issued online and of its lease, if any (committed here,
    together, with nothing else)."""
    fields: dict[str, Any] = {
        "address": address,
        "device": device,
        "folder": folder,
        "name": name,
        "version": version,
    }
    audit.record(session, audit.SMALL_PART, caller, mode=audit.ONLINE, **fields)
    if lease is not None:
        expires = dt.datetime.fromtimestamp(lease.exp, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        detail = f"jti={lease.jti} exp={expires}"
        audit.record(session, audit.SMALL_PART, caller, mode=audit.LEASE, detail=detail, **fields)
    session.commit()


def version_of(small: bytes) -> str:
    """The version id of a small part: the lowercase hex of the first 16 bytes of its header's
    salt (docs/formats.md, section 2), the name of its big part too. Bytes too short to hold a
    header (not written by the client) get the first 16 bytes of their SHA-256 instead."""
    if len(small) >= _SALT_OFFSET + 16:
        return small[_SALT_OFFSET : _SALT_OFFSET + 16].hex()
    return hashlib.sha256(small).hexdigest()[:32]


def _plaintext(
    session: Session,
    caller: Caller,
    storage: Storage,
    cdn: CdnDocuments,
    licences: LicenseSettings,
    folder: str,
    file_name: str,
) -> tuple[bytes, str]:
    """What `POST /resources/get` serves (a small part, or `cdn.yaml`) and its version id."""
    if folder == RESERVED_FOLDER:
        if file_name != CDN_FILE:
            raise ResourceNotFound()
        document = cdn.document(caller.role)
        return document, hashlib.sha256(document).hexdigest()[:32]
    _licence_for(licences, session, caller, folder)
    resource = _find(session, folder, file_name)
    if resource is None or not can_read(caller, resource):
        raise ResourceNotFound()
    session.info[_LOADED] = resource  # for release_headers, without another query
    small = storage.read(session, resource)
    return small, version_of(small)


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
    sessions: sessionmaker[Any],
    storage: Storage,
    changes: ChangeLog,
    *,
    caller: Caller,
    folder: str,
    form: UploadForm,
    replace_only: bool = False,
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
    statement_text = form.fields.get("statement")
    statement = statement_text.encode("utf-8") if statement_text else None
    # Two first uploads of one name may race: the loser's INSERT fails on the unique
    # constraint and it goes again as an update.
    for attempt in (1, 2):
        with sessions() as session:
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
            # Under the row lock: two uploads of one name never get the same number.
            version_number = (resource.version_number or 0) + 1
            with session.no_autoflush:  # a new row is not complete yet
                check_release(
                    session, folder=folder, name=name, statement=statement, version_number=version_number
                )
            resource.version_number = version_number
            resource.statement = statement
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
            storage.save(session, resource, form.buffer)
            _record(
                changes,
                session,
                RESOURCE_CREATED if created else RESOURCE_UPDATED,
                resource,
                was_published=was_published,
                was_alive=was_alive,
            )
            session.commit()
        storage.after_commit(resource)
        log.info("stored %s/%s (%d bytes) as resource %s", folder, name, resource.size, resource.id)
        return resource
    raise AssertionError("unreachable")  # pragma: no cover


def next_version_number(session: Session, folder: str, name: str) -> int:
    """The version number the next upload of `folder`/`name` gets (what its statement must name)."""
    resource = _find(session, folder, name)
    return 1 if resource is None else resource.version_number + 1


def release_headers(session: Session) -> dict[str, str]:
    """The headers that carry the release statement of what `load_resource` just read.

    The row `load_resource` read is the one whose small part it sealed, so the statement is that
    version's even when an upload commits in between; none for `cdn.yaml`.
    """
    resource = session.info.pop(_LOADED, None)
    if not isinstance(resource, Resource):
        return {}
    headers = {"Azaion-Version-Number": str(resource.version_number)}
    if resource.statement is not None:
        headers["Azaion-Release-Statement"] = base64.b64encode(resource.statement).decode("ascii")
    return headers


def set_published(
    session: Session, changes: ChangeLog, caller: Caller, *, folder: str, name: str, published: bool
) -> Resource:
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
        _record(
            changes,
            session,
            RESOURCE_PUBLISHED,
            resource,
            was_published=not published,
            was_alive=resource.alive,
        )
        log.info("resource %s %s", resource.id, "published" if published else "withdrawn")
    session.commit()
    return resource


def soft_delete(session: Session, changes: ChangeLog, *, folder: str, name: str) -> Resource:
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
        _record(
            changes, session, RESOURCE_DELETED, resource, was_published=resource.published, was_alive=True
        )
        log.info("resource %s (%s/%s) deleted", resource.id, folder, name)
    session.commit()
    return resource
