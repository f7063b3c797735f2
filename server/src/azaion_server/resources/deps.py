"""Role requirements of the resource routes, and the services they use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.auth.deps import require_roles
from azaion_server.deps import provide
from azaion_server.resources.bigparts import BigPartStore
from azaion_server.resources.cdn import CdnDocuments
from azaion_server.resources.keycache import EnvelopeKeyCache
from azaion_server.resources.settings import ResourceSettings
from azaion_server.resources.storage import Storage
from azaion_server.vocabulary import ADMIN_ROLES, UPLOADER_ROLES, Caller

Uploader = Annotated[Caller, Depends(require_roles(*UPLOADER_ROLES))]
ResourceAdmin = Annotated[Caller, Depends(require_roles(*ADMIN_ROLES))]

KeyCache = Annotated[EnvelopeKeyCache, Depends(provide(EnvelopeKeyCache))]
Stored = Annotated[Storage, Depends(provide(Storage))]
Cdn = Annotated[CdnDocuments, Depends(provide(CdnDocuments))]
BigParts = Annotated[BigPartStore, Depends(provide(BigPartStore))]
ResourceLimits = Annotated[ResourceSettings, Depends(provide(ResourceSettings))]
