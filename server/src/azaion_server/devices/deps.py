"""The enrolment settings, for the device routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.deps import provide
from azaion_server.devices.settings import DeviceSettings

Enrolment = Annotated[DeviceSettings, Depends(provide(DeviceSettings))]
