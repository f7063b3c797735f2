"""Bodies shared by the administration routes of `users` and `clients`."""

from __future__ import annotations

from pydantic import BaseModel


class Success(BaseModel):
    """An action that has nothing else to say."""

    success: bool = True
