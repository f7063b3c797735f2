"""Small parts and `cdn.yaml` sealed to one device: HPKE base mode (RFC 9180) with
DHKEM(P-256, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, from `cryptography` (docs/formats.md,
section 3). The server only seals; the device opens with its private sealing key.
"""

from __future__ import annotations

import struct
from typing import Any

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ec

from azaion_server.jwt.jwk import b64url_decode

FORMAT = 0x02
SUITE = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_INFO = b"azaion sealed v2"
MAX_VERSION_LENGTH = 64


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def info(*, folder: str, name: str, version: str, device_id: int) -> bytes:
    """HPKE `info`: what the ciphertext is (folder, name, version) and whom it is for (device id)."""
    return (
        _INFO
        + _lp(folder.encode("utf-8"))
        + _lp(name.encode("utf-8"))
        + _lp(version.encode("ascii"))
        + _lp(str(device_id).encode("ascii"))
    )


def public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a (checked) JWK; ValueError for a point not on the curve."""
    x = int.from_bytes(b64url_decode(jwk["x"]), "big")
    y = int.from_bytes(b64url_decode(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def seal(
    sealing_key: dict[str, Any], plaintext: bytes, *, folder: str, name: str, version: str, device_id: int
) -> bytes:
    """`0x02 || u8(len(version)) || version || enc || ciphertext` for the device's sealing key."""
    label = version.encode("ascii")
    if len(label) > MAX_VERSION_LENGTH:
        raise ValueError("version too long")
    sealed = SUITE.encrypt(
        plaintext,
        public_key(sealing_key),
        info=info(folder=folder, name=name, version=version, device_id=device_id),
    )
    return bytes([FORMAT, len(label)]) + label + sealed
