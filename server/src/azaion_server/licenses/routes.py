"""`POST /license/validate` and `GET /license/info`."""

from __future__ import annotations

from fastapi import APIRouter

from azaion_server.auth.deps import CurrentCaller
from azaion_server.auth.models import check_hardware
from azaion_server.licenses import models
from azaion_server.licenses.deps import CallerLicense, Licensing
from azaion_server.licenses.schemas import LicenseInfo, ValidateRequest, ValidateResponse

router = APIRouter(prefix="/license", tags=["license"])


@router.post("/validate", response_model=ValidateResponse)
def validate(
    body: ValidateRequest, caller: CurrentCaller, licence: CallerLicense, settings: Licensing
) -> ValidateResponse:
    """Check that the caller's licence is current, from the machine it is bound to.

    Checking binds nothing: the first download binds the machine.
    """
    check_hardware(caller, body.hardware)
    current = models.check_license(licence, settings)
    return ValidateResponse(
        plan=current.plan,
        expires_at=current.expires_at,
        folders=current.folders,
        offline_hours=current.offline_hours,
    )


@router.get("/info", response_model=LicenseInfo)
def license_info(_caller: CurrentCaller, licence: CallerLicense) -> LicenseInfo:
    """The caller's plan, expiry and folders (nulls without a licence)."""
    return models.info(licence)
