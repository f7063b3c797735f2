"""A streaming reader for the upload body: `data` (the file), `category` and `draft`.

Starlette's form parser spools every file part, however large, before the route sees it; this
one feeds the file part into an `UploadBuffer` chunk by chunk, so that a body above the limit is
refused as soon as it passes the limit, and nothing unbounded is held.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from azaion_server.resources.exceptions import MalformedUpload, UploadTooLarge
from azaion_server.resources.storage import UploadBuffer

FILE_FIELD = b"data"
# Each text field and the most bytes it may hold; `statement` is a release statement (JSON).
TEXT_FIELDS = {b"category": 1024, b"draft": 1024, b"statement": 16 * 1024}
# Part headers, boundaries and the small text fields: what a body may carry beyond the file.
OVERHEAD_BYTES = 64 * 1024


@dataclass
class UploadForm:
    """What the body carried: the file's name and bytes, and the text fields."""

    filename: str
    buffer: UploadBuffer
    fields: dict[str, str] = field(default_factory=dict)


class _Reader:
    def __init__(self, new_buffer: Callable[[], UploadBuffer]) -> None:
        self._new_buffer = new_buffer
        self.buffer: UploadBuffer | None = None
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._target: UploadBuffer | bytearray | None = None
        self._field_name = b""

    def on_part_begin(self) -> None:
        self._headers = {}
        self._target = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        name = options.get(b"name")
        filename = options.get(b"filename")
        if name == FILE_FIELD:
            if self.buffer is not None or filename is None:
                raise MalformedUpload()
            try:
                self.filename = filename.decode("utf-8")
            except UnicodeDecodeError as e:
                raise MalformedUpload("the file name is not UTF-8") from e
            self.buffer = self._target = self._new_buffer()
        elif name in TEXT_FIELDS:
            self._field_name = name
            self._target = bytearray()
        # Any other part is read past and dropped.

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if isinstance(self._target, bytearray):
            self._target += data[start:end]
            if len(self._target) > TEXT_FIELDS[self._field_name]:
                raise MalformedUpload("a form field is too long")
        elif self._target is not None:
            self._target.write(data[start:end])

    def on_part_end(self) -> None:
        if isinstance(self._target, bytearray):
            try:
                self.fields[self._field_name.decode()] = self._target.decode("utf-8")
            except UnicodeDecodeError as e:
                raise MalformedUpload("a form field is not UTF-8") from e
        self._target = None


async def read_upload(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    new_buffer: Callable[[], UploadBuffer],
    max_bytes: int,
) -> UploadForm:
    """Parse a multipart upload, streaming the file part into a fresh buffer.

    UploadTooLarge as soon as the file passes `max_bytes` (or the declared length says it
    will); MalformedUpload for anything but a multipart body with one file part `data`.
    """
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise MalformedUpload()
    limit = max_bytes + OVERHEAD_BYTES
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise UploadTooLarge()
    reader = _Reader(new_buffer)
    callbacks = {
        name: getattr(reader, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge()
            parser.write(chunk)
        parser.finalize()
    except BaseException as e:
        if reader.buffer is not None:
            reader.buffer.discard()
        if isinstance(e, MultipartParseError):  # a body that is not valid multipart
            raise MalformedUpload() from e
        raise
    if reader.buffer is None or reader.filename is None:
        raise MalformedUpload()
    return UploadForm(filename=reader.filename, buffer=reader.buffer, fields=reader.fields)
