"""Licence errors (403, with the codes of docs/protocol.md)."""

from __future__ import annotations

from azaion_server.errors import ApiError


class LicenseRequired(ApiError):
    """No licence at all."""

    status = 403
    code = "LICENSE_REQUIRED"
    message = "this account has no licence; ask an administrator for one"


class LicenseExpired(ApiError):
    """The licence's `expires_at` is past."""

    status = 403
    code = "LICENSE_EXPIRED"
    message = "the licence of this account has expired"


class FolderNotLicensed(ApiError):
    """The folder is outside the licence's folders."""

    status = 403
    code = "FOLDER_NOT_LICENSED"
    message = "the licence of this account does not cover this folder"
