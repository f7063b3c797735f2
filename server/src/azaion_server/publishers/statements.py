"""Release statements as the server reads them: an OpenSSF model-signing bundle (docs/formats.md).

A Sigstore bundle (v0.3, JSON) without transparency log entries, holding a DSSE envelope whose
payload is an in-toto Statement v1 with the model-signing predicate
`https://model_signing/signature/v1.0`; the predicate's `azaion_release` object names the
release (folder, name, version number, size, SHA-256, time). The server checks the signature
against the registered key and that the statement names this upload; only the device can check
the digest, since only it sees the plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from azaion_server.publishers.exceptions import InvalidPublicKey, InvalidStatement

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
RELEASE_FIELD = "azaion_release"
MAX_STATEMENT_BYTES = 16 * 1024
ECDSA_P256 = "ecdsa-p256"
ED25519 = "ed25519"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class Release:
    """What a verified statement says."""

    folder: str
    name: str
    version_number: int
    size: int
    sha256: str
    signed_at: str


def load_public_key(pem: str) -> tuple[PublicKey, str, str]:
    """The key, its algorithm name and its key id (SHA-256 of its PEM SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as e:
        raise InvalidPublicKey() from e
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        algorithm = ECDSA_P256
    elif isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = ED25519
    else:
        raise InvalidPublicKey()
    return key, algorithm, key_id(key)


def key_id(key: PublicKey) -> str:
    """The model-signing public key hint: SHA-256 (hex) of the PEM SubjectPublicKeyInfo."""
    spki = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def pae(payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of an in-toto payload."""
    return b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidStatement()
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidStatement() from e


def signer_key_id(raw: bytes) -> str:
    """The key id a statement names (its public key hint); nothing verified yet."""
    hint = _bundle(raw)["verificationMaterial"]["publicKey"]["hint"]
    return str(hint)


def _bundle(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_STATEMENT_BYTES:
        raise InvalidStatement("the release statement is too long")
    try:
        bundle = json.loads(raw)
        envelope = bundle["dsseEnvelope"]
        hint = bundle["verificationMaterial"]["publicKey"]["hint"]
        signatures = envelope["signatures"]
        payload = envelope["payload"]
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidStatement() from e
    if (
        not isinstance(payload, str)
        or bundle.get("mediaType") != BUNDLE_MEDIA_TYPE
        or envelope.get("payloadType") != PAYLOAD_TYPE
        or not isinstance(hint, str)
        or not _HEX64.match(hint)
        or not isinstance(signatures, list)
        or len(signatures) != 1
        or not isinstance(signatures[0], dict)
    ):
        raise InvalidStatement()
    return bundle  # type: ignore[no-any-return]


def verify(raw: bytes, key: PublicKey) -> Release:
    """The release a statement names, once its signature verifies with `key`."""
    envelope = _bundle(raw)["dsseEnvelope"]
    payload = _b64(envelope["payload"])
    signature = _b64(envelope["signatures"][0].get("sig"))
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, pae(payload))
        else:
            key.verify(signature, pae(payload), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise InvalidStatement() from e
    try:
        statement = json.loads(payload)
        release = statement["predicate"][RELEASE_FIELD]
        result = Release(
            folder=release["folder"],
            name=release["name"],
            version_number=release["version_number"],
            size=release["size"],
            sha256=release["sha256"],
            signed_at=release["signed_at"],
        )
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidStatement() from e
    if (
        statement.get("_type") != STATEMENT_TYPE
        or statement.get("predicateType") != PREDICATE_TYPE
        or not all(isinstance(v, str) for v in (result.folder, result.name, result.sha256, result.signed_at))
        or not all(type(v) is int and v >= 0 for v in (result.version_number, result.size))
        or not _HEX64.match(result.sha256)
    ):
        raise InvalidStatement()
    return result
