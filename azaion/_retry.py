"""The client's one retry policy: urllib3's ``Retry`` with three changes.

* the backoff doubles from ``AZAION_BACKOFF`` with full jitter, capped at 30 s, the same on
  urllib3 1.26 (which botocore needs on Python 3.9) and 2.x;
* an unparsable ``Retry-After`` falls back to that backoff instead of failing;
* a ``Retry-After`` above ``AZAION_RETRY_AFTER_MAX`` ends the retries at once: the caller gets
  the answer, and the error says when to come back, instead of a loader hanging for hours.
"""

from __future__ import annotations

import random
from itertools import takewhile
from typing import Any, Optional

from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

BACKOFF_CAP = 30.0


class CappedRetry(Retry):
    """``Retry`` with jittered, capped backoff and a ceiling on ``Retry-After``."""

    def get_backoff_time(self) -> float:
        consecutive = len(
            list(takewhile(lambda item: item.redirect_location is None, reversed(self.history)))
        )
        if consecutive <= 1 or not self.backoff_factor:
            return 0.0
        base = self.backoff_factor * (2 ** (consecutive - 1))
        return min(BACKOFF_CAP, base + random.uniform(0, self.backoff_factor))  # noqa: S311 - jitter, not crypto

    def parse_retry_after(self, retry_after: str) -> Optional[float]:  # type: ignore[override]
        try:
            return super().parse_retry_after(retry_after)
        except Exception:
            return None

    def increment(
        self,
        method: Optional[str] = None,
        url: Optional[str] = None,
        response: Any = None,
        error: Optional[Exception] = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        if response is not None and response.headers.get("Retry-After"):
            from azaion import constants

            wait = self.parse_retry_after(response.headers["Retry-After"])
            if wait is not None and wait > constants.retry_after_max():
                raise MaxRetryError(_pool, url, error)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def after_broken_answer(retry: Retry, method: str, url: str) -> Optional[Retry]:
    """The policy's next state after an answer broke off mid-body, or None when it says stop.

    urllib3 retries only until an answer's headers arrive; a body cut later is asked of the same
    ``Retry`` as a read error, so it is retried where a refused connection would be (idempotent
    calls) and counted against the same numbers, with the same backoff.
    """
    from urllib3.exceptions import ProtocolError

    try:
        return retry.increment(method=method, url=url, error=ProtocolError("the answer broke off"))
    except (MaxRetryError, ProtocolError):
        return None
