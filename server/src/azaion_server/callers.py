"""Who makes a request: a user (email and password) or a machine client (name and key).

Both have an `id`, a `role`, a `hardware_hash`, a `kind` ("user" or "client"), a `nameid` (the
token's claim: `12` or `client:3`) and an `identity` (email or client name).
"""

from __future__ import annotations

from azaion_server.clients.entities import Client
from azaion_server.users.entities import User

Caller = User | Client

__all__ = ["Caller", "Client", "User"]
