"""The services of the machine client routes: the key vault and the handshake."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.clients.keys import KeyVault
from azaion_server.clients.models import Handshake
from azaion_server.deps import provide

Vault = Annotated[KeyVault, Depends(provide(KeyVault))]
Handshakes = Annotated[Handshake, Depends(provide(Handshake))]
