"""Resource errors."""

from __future__ import annotations

from azaion_server.errors import BadRequest, Internal, NotFound, TooLarge


class ResourceNotFound(NotFound):
    """No such resource, or not visible to this caller (dead, unpublished, someone else's)."""

    message = "no such resource"


class UploadTooLarge(TooLarge):
    """The file part (or the whole body) is above AZAION_MAX_UPLOAD_BYTES."""


class MalformedUpload(BadRequest):
    """Not a multipart body with one file part named `data`."""

    message = "expected multipart/form-data with one file part named 'data'"


class StorageCorrupt(Internal):
    """Stored bytes that no longer match their checksum (logged; the client sees INTERNAL)."""
