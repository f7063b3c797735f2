"""A reference of the release statement (docs/formats.md §6), written from the document alone.

Independent of `azaion/releases.py` and of the server's `publishers/statements.py`: both are
tested against what this produces.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PAYLOAD_TYPE = b"application/vnd.in-toto+json"


def public_pem(key: Any) -> str:
    """PEM SubjectPublicKeyInfo of a private key's public half."""
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Any) -> str:
    """SHA-256 (hex) of the PEM public key: model-signing's key hint."""
    return hashlib.sha256(public_pem(key).encode()).hexdigest()


def payload(folder: str, name: str, version_number: int, data: bytes, signed_at: str) -> bytes:
    """The in-toto statement: JSON with sorted keys and no whitespace."""
    digest = hashlib.sha256(data).hexdigest()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": hashlib.sha256(bytes.fromhex(digest)).hexdigest()}}],
        "predicateType": "https://model_signing/signature/v1.0",
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": False,
                "ignore_paths": [],
            },
            "resources": [{"name": name, "algorithm": "sha256", "digest": digest}],
            "azaion_release": {
                "folder": folder,
                "name": name,
                "version_number": version_number,
                "size": len(data),
                "sha256": digest,
                "signed_at": signed_at,
            },
        },
    }
    return json.dumps(statement, separators=(",", ":"), sort_keys=True).encode()


def bundle(key: Any, statement: bytes) -> bytes:
    """The Sigstore bundle v0.3 (JSON, no whitespace) holding the DSSE envelope of `statement`.

    ECDSA signs deterministically here (RFC 6979) so that the vectors are reproducible; the
    client signs with random nonces, and verifiers accept both.
    """
    pae = b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE, len(statement), statement)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(pae, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    else:
        signature = key.sign(pae)
    document = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": key_id(key)}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(statement).decode(),
            "payloadType": PAYLOAD_TYPE.decode(),
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()
