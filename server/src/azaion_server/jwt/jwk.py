"""Base64url (RFC 7515, section 2) and JWK thumbprints (RFC 7638), for the server's own signing
keys (Ed25519) and the devices' keys (P-256) alike."""

from __future__ import annotations

import base64
import hashlib
import json


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url text; ValueError when it is not."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_thumbprint(required: dict[str, str]) -> str:
    """RFC 7638: SHA-256 (base64url) of a key's required members, sorted, without whitespace."""
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())
