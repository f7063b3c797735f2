"""Bodies of the resource routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from azaion_server.licenses.schemas import HARDWARE_PATTERN
from azaion_server.resources.entities import Resource
from azaion_server.vocabulary import MAX_ID


class GetRequest(BaseModel):
    """`POST /resources/get/{folder}`: which file, the password again (users only), the machine."""

    model_config = ConfigDict(populate_by_name=True)

    # Lengths here only stop absurd bodies; the name rules answer INVALID_NAME in the logic.
    file_name: str = Field(alias="fileName", max_length=4096)
    # Required of users (400 without it); a machine client has none and any given is ignored.
    password: str | None = Field(default=None, min_length=1, max_length=65536)
    hardware: str = Field(pattern=HARDWARE_PATTERN)


class PublishRequest(BaseModel):
    """`POST /resources/{folder}/{name}/publish`; `true` or `false`, nothing that looks like one."""

    published: bool = Field(strict=True)


class ResourceOut(BaseModel):
    """A resource as the registry describes it; times are Unix timestamps (float seconds)."""

    id: int
    folder: str
    name: str
    size: int
    checksum: str
    category: str | None
    published: bool
    alive: bool
    uploaded: float
    modified: float
    owner_id: int | None
    version_number: int
    signed: bool

    @classmethod
    def of(cls, resource: Resource) -> ResourceOut:
        """The public view of a resource row."""
        return cls(
            id=resource.id,
            folder=resource.folder,
            name=resource.name,
            size=resource.size,
            checksum=resource.checksum,
            category=resource.category,
            published=resource.published,
            alive=resource.alive,
            uploaded=resource.uploaded.timestamp(),
            modified=resource.modified.timestamp(),
            owner_id=resource.owner_id,
            version_number=resource.version_number,
            signed=resource.statement is not None,
        )


class ResourceQuery(BaseModel):
    """`GET /resources` filters (the registry's); times are Unix timestamps."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = Field(default=None, ge=1, le=MAX_ID)
    folder: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, description="a regular expression searched in the name")
    since: float | None = Field(default=None, description="modified at or after this time")
    uploaded: float | None = Field(default=None, description="uploaded at or after this time")
    category: str | None = Field(default=None, max_length=255)
    published: bool | None = None
    alive: bool | None = None
    count: int = Field(default=100, description="at most this many (clamped to 1..1000)")


class ResourceList(BaseModel):
    """`GET /resources`: newest modification first."""

    success: bool = True
    results: list[ResourceOut]
    count: int


class ResourceResponse(BaseModel):
    """An upload, a publish or a delete: `{"success": true, "resource": {...}}`."""

    success: bool = True
    resource: ResourceOut


# The multipart body, described for /docs (the route reads it as a stream, not through a model).
UPLOAD_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {
                            "type": "string",
                            "format": "binary",
                            "description": "the bytes; the part's filename is the resource name",
                        },
                        # Form fields are text: any text is a category, and `draft` is read
                        # leniently, so no JSON type is claimed for either.
                        "category": {"description": "free text, at most 255 characters"},
                        "draft": {"description": "true, 1, yes or on keeps it unpublished"},
                    },
                }
            }
        },
    }
}


class BigUploadRequest(BaseModel):
    """`POST /resources/{folder}/{name}/big`: which version (the small part's salt, hex) and its size."""

    version: str = Field(pattern="^[0-9a-f]{32}$")
    size: int = Field(ge=0, strict=True)


class BigUploadGrant(BaseModel):
    """Signed URLs for one big part: `url` (one PUT) or `parts` (multipart, `part_size` each)."""

    success: bool = True
    key: str
    expires_in: int
    url: str | None
    upload_id: str | None
    part_size: int
    parts: list[str]
    abort_url: str | None = None
    delete_url: str
    # What a release statement for this upload must name, unless another upload comes first.
    next_version_number: int = 1


class BigUploadComplete(BaseModel):
    """`POST /resources/{folder}/{name}/big/complete`: the multipart upload and its parts' ETags, in order."""

    version: str = Field(pattern="^[0-9a-f]{32}$")
    upload_id: str = Field(min_length=1, max_length=1024)
    etags: list[str] = Field(min_length=1, max_length=10000)


class Success(BaseModel):
    """`{"success": true}`."""

    success: bool = True
