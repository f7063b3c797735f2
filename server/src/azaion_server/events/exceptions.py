"""Event stream errors."""

from __future__ import annotations

from azaion_server.errors import ApiError


class TooManyStreams(ApiError):
    """The caller has AZAION_SSE_MAX_STREAMS_PER_USER streams open already."""

    status = 429
    code = "TOO_MANY_STREAMS"
    message = "too many event streams open for this account: close one first"

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after))})
