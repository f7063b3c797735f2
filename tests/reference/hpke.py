"""RFC 9180 base mode with DHKEM(P-256, HKDF-SHA256) and HKDF-SHA256, written from the RFC's
pseudocode over `cryptography`'s primitives (ECDH, HMAC, AES-GCM).

It takes the Diffie-Hellman output as an input, so that it is also what a device does when the
ECDH runs inside a TPM and the rest of RFC 9180 in software. Checked against the RFC's own
vector (A.3.1, AES-128-GCM) and then used to check `cryptography`'s `hpke.Suite` for the suite
azaion uses (AES-256-GCM), for which the RFC has no vector.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEM_P256 = 0x0010
KDF_HKDF_SHA256 = 0x0001
AEAD_IDS = {16: 0x0001, 32: 0x0002}  # AES-128-GCM, AES-256-GCM by key length
N_SECRET = 32
N_NONCE = 12


def i2osp(value: int, length: int) -> bytes:
    """RFC 8017 I2OSP."""
    return value.to_bytes(length, "big")


def extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869) with SHA-256."""
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869) with SHA-256."""
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    """RFC 9180 section 4."""
    return extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """RFC 9180 section 4."""
    return expand(prk, i2osp(length, 2) + b"HPKE-v1" + suite_id + label + info, length)


def kem_shared_secret(dh: bytes, enc: bytes, pk_rm: bytes) -> bytes:
    """DHKEM's ExtractAndExpand over `dh` and kem_context = enc || pkRm (RFC 9180 section 4.1)."""
    suite_id = b"KEM" + i2osp(KEM_P256, 2)
    eae_prk = labeled_extract(suite_id, b"", b"eae_prk", dh)
    return labeled_expand(suite_id, eae_prk, b"shared_secret", enc + pk_rm, N_SECRET)


def key_schedule(shared_secret: bytes, info: bytes, key_length: int) -> tuple[bytes, bytes]:
    """(key, base_nonce) of base mode (RFC 9180 section 5.1), no PSK."""
    suite_id = b"HPKE" + i2osp(KEM_P256, 2) + i2osp(KDF_HKDF_SHA256, 2) + i2osp(AEAD_IDS[key_length], 2)
    psk_id_hash = labeled_extract(suite_id, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(suite_id, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(suite_id, shared_secret, b"secret", b"")
    key = labeled_expand(suite_id, secret, b"key", context, key_length)
    base_nonce = labeled_expand(suite_id, secret, b"base_nonce", context, N_NONCE)
    return key, base_nonce


def point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """SerializePublicKey: the uncompressed point (65 bytes)."""
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def open_with_dh(
    dh: bytes,
    enc: bytes,
    pk_rm: bytes,
    info: bytes,
    ciphertext: bytes,
    aad: bytes = b"",
    key_length: int = 32,
) -> bytes:
    """Open the first message of a base-mode context given the ECDH output `dh`."""
    key, nonce = key_schedule(kem_shared_secret(dh, enc, pk_rm), info, key_length)
    return AESGCM(key).decrypt(nonce, ciphertext, aad)


def open_(
    sk_r: ec.EllipticCurvePrivateKey, sealed: bytes, info: bytes, aad: bytes = b"", key_length: int = 32
) -> bytes:
    """Single-shot open of enc || ciphertext with the recipient's private key."""
    enc, ciphertext = sealed[:65], sealed[65:]
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), enc)
    dh = sk_r.exchange(ec.ECDH(), peer)
    return open_with_dh(dh, enc, point(sk_r.public_key()), info, ciphertext, aad, key_length)


def seal(
    pk_r: ec.EllipticCurvePublicKey,
    sk_e: ec.EllipticCurvePrivateKey,
    plaintext: bytes,
    info: bytes,
    aad: bytes = b"",
    key_length: int = 32,
) -> bytes:
    """Single-shot seal with a given ephemeral key (for vectors): enc || ciphertext."""
    enc = point(sk_e.public_key())
    dh = sk_e.exchange(ec.ECDH(), pk_r)
    key, nonce = key_schedule(kem_shared_secret(dh, enc, point(pk_r)), info, key_length)
    return enc + AESGCM(key).encrypt(nonce, plaintext, aad)


def private_key(scalar_hex: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from its scalar in hex."""
    return ec.derive_private_key(int(scalar_hex, 16), ec.SECP256R1())


def lp(data: bytes) -> bytes:
    """u32 length prefix."""
    return struct.pack(">I", len(data)) + data
