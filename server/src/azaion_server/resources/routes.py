"""Resource routes: download in an envelope, upload, list, describe, soft-delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from azaion_server.auth.deps import CurrentUser
from azaion_server.deps import ContextDep, SessionDep
from azaion_server.names import check_upload_folder
from azaion_server.resources import models
from azaion_server.resources.deps import ResourceAdmin, Uploader
from azaion_server.resources.multipart import read_upload
from azaion_server.resources.schemas import (
    UPLOAD_OPENAPI,
    GetRequest,
    ResourceList,
    ResourceOut,
    ResourceQuery,
    ResourceResponse,
)

router = APIRouter(prefix="/resources", tags=["resources"])


@router.get("", response_model=ResourceList)
def list_resources(
    query: Annotated[ResourceQuery, Query()],
    user: CurrentUser,
    context: ContextDep,
    session: SessionDep,
) -> ResourceList:
    """The resources the caller may read, filtered as in the registry API."""
    results = [ResourceOut.of(r) for r in models.list_resources(context, session, user, query)]
    return ResourceList(results=results, count=len(results))


@router.post(
    "/get/{folder}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the envelope"}},
)
def get_resource(
    folder: str,
    body: GetRequest,
    request: Request,
    user: CurrentUser,
    context: ContextDep,
    session: SessionDep,
) -> Response:
    """A resource in the user+hardware envelope; binds the machine on first use."""
    sealed = models.load_resource(
        context,
        session,
        user,
        folder=folder,
        file_name=body.file_name,
        password=body.password,
        hardware=body.hardware,
        address=request.client.host if request.client else None,
    )
    return Response(sealed, media_type="application/octet-stream")


@router.post(
    "/{folder}",
    status_code=201,
    response_model=ResourceResponse,
    openapi_extra=UPLOAD_OPENAPI,
)
async def upload(
    folder: str, request: Request, user: Uploader, context: ContextDep, session: SessionDep
) -> ResourceResponse:
    """Upload a resource (multipart: file part `data`, optional `category` and `draft`)."""
    check_upload_folder(folder)
    user_id, role = user.id, user.role
    # The body may take long to arrive: give the connection back to the pool meanwhile.
    await run_in_threadpool(session.close)
    limit = context.settings.resources.max_upload_bytes
    form = await read_upload(
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        request.stream(),
        lambda: context.storage.new_buffer(limit),
        limit,
    )
    try:
        resource = await run_in_threadpool(
            models.store_upload, context, user_id=user_id, role=role, folder=folder, form=form
        )
    finally:
        form.buffer.discard()
    return ResourceResponse(resource=ResourceOut.of(resource))


@router.get("/{folder}/{name}", response_model=ResourceResponse)
def get_resource_info(
    folder: str, name: str, user: CurrentUser, context: ContextDep, session: SessionDep
) -> ResourceResponse:
    """One resource's metadata (404 when the caller may not read it)."""
    resource = models.resource_info(context, session, user, folder=folder, name=name)
    return ResourceResponse(resource=ResourceOut.of(resource))


@router.delete("/{folder}/{name}", response_model=ResourceResponse)
def delete_resource(folder: str, name: str, _admin: ResourceAdmin, session: SessionDep) -> ResourceResponse:
    """Soft delete: the resource is marked dead (`alive = false`), its bytes are kept."""
    return ResourceResponse(resource=ResourceOut.of(models.soft_delete(session, folder=folder, name=name)))
