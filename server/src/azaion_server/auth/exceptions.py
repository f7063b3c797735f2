"""Authentication errors: credentials, throttling, the machine a caller is bound to."""

from __future__ import annotations

from azaion_server.errors import ApiError


class InvalidCredentials(ApiError):
    """Unknown email or wrong password: one answer for both, so emails cannot be probed."""

    status = 401
    code = "INVALID_CREDENTIALS"
    message = "wrong email or password"


class TooManyAttempts(ApiError):
    """Login throttled; `Retry-After` says for how many seconds."""

    status = 429
    code = "TOO_MANY_ATTEMPTS"
    message = "too many failed attempts: wait before trying again"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(headers={"Retry-After": str(self.retry_after)})


class HardwareMismatch(ApiError):
    """The account is bound to another machine."""

    status = 403
    code = "HARDWARE_MISMATCH"
    message = "this account is bound to another device; ask an administrator to reset it"
