"""Resource routes: download in an envelope, upload, replace, list, describe, publish, soft-delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from azaion_server.auth.deps import CurrentCaller, PasswordChecks
from azaion_server.clients.deps import Vault
from azaion_server.deps import Changes, ClientAddress, SessionDep, Sessions
from azaion_server.jwt.deps import ClaimsDep, Leases
from azaion_server.jwt.leases import LEASE_HEADER
from azaion_server.licenses.deps import Licensing
from azaion_server.metrics import OptionalMetrics
from azaion_server.names import check_upload_folder
from azaion_server.resources import models
from azaion_server.resources.bigparts import check_writable
from azaion_server.resources.deps import (
    BigParts,
    Cdn,
    KeyCache,
    ResourceAdmin,
    ResourceLimits,
    Stored,
    Uploader,
)
from azaion_server.resources.multipart import read_upload
from azaion_server.resources.schemas import (
    UPLOAD_OPENAPI,
    BigUploadComplete,
    BigUploadGrant,
    BigUploadRequest,
    GetRequest,
    PublishRequest,
    ResourceList,
    ResourceOut,
    ResourceQuery,
    ResourceResponse,
    Success,
)
from azaion_server.vocabulary import Caller

router = APIRouter(prefix="/resources", tags=["resources"])


@router.get("", response_model=ResourceList)
def list_resources(
    query: Annotated[ResourceQuery, Query()],
    caller: CurrentCaller,
    licences: Licensing,
    session: SessionDep,
) -> ResourceList:
    """The resources the caller may read, filtered as in the registry API."""
    results = [ResourceOut.of(r) for r in models.list_resources(licences, session, caller, query)]
    return ResourceList(results=results, count=len(results))


@router.post(
    "/get/{folder}",
    response_class=Response,
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "the envelope, and an `Azaion-Lease` header when the licence allows offline use",
        }
    },
)
def get_resource(
    folder: str,
    body: GetRequest,
    address: ClientAddress,
    claims: ClaimsDep,
    caller: CurrentCaller,
    cache: KeyCache,
    check: PasswordChecks,
    vault: Vault,
    storage: Stored,
    cdn: Cdn,
    licences: Licensing,
    session: SessionDep,
    metrics: OptionalMetrics,
    settings: ResourceLimits,
    leases: Leases,
) -> Response:
    """A resource sealed to the caller's enrolled device (HPKE), or, only with
    AZAION_LEGACY_ENVELOPE=true and a token bound to no device, in its user+hardware envelope.

    Sealed to a device under a licence with `offline_hours`, a resource comes with a lease in
    the `Azaion-Lease` header: an offline lease (the byte formats, section 8)."""
    issued = models.load_resource(
        session,
        caller,
        cache=cache,
        check=check,
        vault=vault,
        storage=storage,
        cdn=cdn,
        licences=licences,
        folder=folder,
        file_name=body.file_name,
        password=body.password,
        hardware=body.hardware,
        token_expires_at=float(claims.exp),
        address=address,
        jkt=claims.jkt,
        legacy=settings.legacy_envelope,
        leases=leases,
    )
    if metrics is not None:
        metrics.issued.labels(caller.kind).inc()
    # The release statement rides in headers, so the body stays the sealed small part alone.
    headers = models.release_headers(session)
    if issued.lease is not None:
        headers[LEASE_HEADER] = issued.lease.token
    return Response(issued.body, media_type="application/octet-stream", headers=headers)


@dataclass(frozen=True)
class Uploads:
    """What storing an upload needs: sessions of its own, the store, the limits, the change log."""

    sessions: Sessions
    storage: Stored
    limits: ResourceLimits
    changes: Changes
    big_parts: BigParts


async def _upload(
    folder: str,
    request: Request,
    caller: Caller,
    uploads: Uploads,
    session: SessionDep,
    *,
    replace_only: bool,
) -> ResourceResponse:
    check_upload_folder(folder)
    # The body may take long to arrive: give the connection back to the pool meanwhile (the
    # caller's loaded attributes stay readable).
    await run_in_threadpool(session.close)
    limit = uploads.limits.max_upload_bytes
    form = await read_upload(
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        request.stream(),
        lambda: uploads.storage.new_buffer(limit),
        limit,
    )
    try:
        head = await run_in_threadpool(form.buffer.read_head, 26)
        resource = await run_in_threadpool(
            models.store_upload,
            uploads.sessions,
            uploads.storage,
            uploads.changes,
            caller=caller,
            folder=folder,
            form=form,
            replace_only=replace_only,
        )
    finally:
        form.buffer.discard()
    # The big parts of earlier versions: no small part refers to them any more.
    await run_in_threadpool(uploads.big_parts.remove_older_versions, folder, resource.name, head)
    return ResourceResponse(resource=ResourceOut.of(resource))


@router.post("/{folder}", status_code=201, response_model=ResourceResponse, openapi_extra=UPLOAD_OPENAPI)
async def upload(
    folder: str,
    request: Request,
    caller: Uploader,
    uploads: Annotated[Uploads, Depends()],
    session: SessionDep,
) -> ResourceResponse:
    """Upload a resource (multipart: file part `data`, optional `category` and `draft`).

    An existing name gets a new version, as with `PUT`.
    """
    return await _upload(folder, request, caller, uploads, session, replace_only=False)


@router.put("/{folder}", response_model=ResourceResponse, openapi_extra=UPLOAD_OPENAPI)
async def replace(
    folder: str,
    request: Request,
    caller: Uploader,
    uploads: Annotated[Uploads, Depends()],
    session: SessionDep,
) -> ResourceResponse:
    """Replace the bytes of an existing resource (multipart as for `POST`); 404 when there is none."""
    return await _upload(folder, request, caller, uploads, session, replace_only=True)


@router.post("/{folder}/{name}/big", response_model=BigUploadGrant)
def grant_big_upload(
    folder: str, name: str, body: BigUploadRequest, caller: Uploader, big_parts: BigParts, session: SessionDep
) -> BigUploadGrant:
    """Signed URLs to upload one version's big part of a resource the caller may write.

    403 when another uploader owns the name; the bucket's keys stay on the server.
    """
    check_writable(session, caller, folder, name)
    next_version = models.next_version_number(session, folder, name)
    session.close()
    return BigUploadGrant(
        **big_parts.grant(folder, name, body.version, body.size), next_version_number=next_version
    )


@router.post("/{folder}/{name}/big/complete", response_model=Success)
def complete_big_upload(
    folder: str,
    name: str,
    body: BigUploadComplete,
    caller: Uploader,
    big_parts: BigParts,
    session: SessionDep,
) -> Success:
    """Complete a multipart upload that `POST .../big` started, from its parts' ETags in order."""
    check_writable(session, caller, folder, name)
    session.close()
    big_parts.complete(folder, name, body.version, body.upload_id, body.etags)
    return Success()


@router.get("/{folder}/{name}", response_model=ResourceResponse)
def get_resource_info(
    folder: str, name: str, caller: CurrentCaller, licences: Licensing, session: SessionDep
) -> ResourceResponse:
    """One resource's metadata (404 when the caller may not read it)."""
    resource = models.resource_info(licences, session, caller, folder=folder, name=name)
    return ResourceResponse(resource=ResourceOut.of(resource))


@router.post("/{folder}/{name}/publish", response_model=ResourceResponse)
def publish(
    folder: str, name: str, body: PublishRequest, caller: Uploader, changes: Changes, session: SessionDep
) -> ResourceResponse:
    """Publish (`true`) or withdraw (`false`) a resource: its uploader, Admins, ApiAdmins."""
    resource = models.set_published(
        session, changes, caller, folder=folder, name=name, published=body.published
    )
    return ResourceResponse(resource=ResourceOut.of(resource))


@router.delete("/{folder}/{name}", response_model=ResourceResponse)
def delete_resource(
    folder: str, name: str, _admin: ResourceAdmin, changes: Changes, session: SessionDep
) -> ResourceResponse:
    """Soft delete: the resource is marked dead (`alive = false`), its bytes are kept."""
    resource = models.soft_delete(session, changes, folder=folder, name=name)
    return ResourceResponse(resource=ResourceOut.of(resource))
