"""Regenerate tests/vectors/*.json from the reference implementation.

Run from the repository root: ``python -m tests.reference.make_vectors``. The inputs are fixed
(derived from a seed), so the output is the same every run; the tests check that it is.
"""

import hashlib
import json
from pathlib import Path

from tests.reference import envelope, release, resource

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
CDN_YAML = b"""host: http://cdn.example.com:9000
bucket: models-bucket
region: eu-central-1
downloader_access_key: down-key
downloader_access_secret: down-secret
uploader_access_key: up-key
uploader_access_secret: up-secret
"""
# The published test key (docs/formats.md), which the vectors use; never a deployment's key.
SHARED_KEY = resource.TEST_WRAPPING_KEY


def det(label: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes for the fixed inputs of a vector."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def envelope_vectors() -> list[dict]:
    cases = [
        ("user, empty", "user", "Operator@Example.com ", "correct horse battery staple", "fp-a", b""),
        ("user, one byte", "user", "op@example.com", "pässwörd", "fp-b", b"\x00"),
        ("user, one block", "user", "op@example.com", "pw", "fp-c", det("pt16", 16)),
        ("user, several blocks", "user", "uploader@example.com", "pw2", "fp-d", det("pt3072", 3072)),
        ("machine client", "client", "drone-07", det("client-key", 32).hex(), "fp-e", det("pt100", 100)),
        ("user, cdn.yaml", "user", "loader@example.com", "s3cret!", "fp-f", CDN_YAML),
    ]
    vectors = []
    for label, kind, identity, secret, fingerprint, plaintext in cases:
        hw = envelope.hardware_hash(fingerprint)
        if kind == "user":
            keys = envelope.user_keys(identity, secret, hw)
        else:
            keys = envelope.derive_keys(identity.encode(), bytes.fromhex(secret), hw)
        iv = det(label + "/iv", 16)
        vectors.append(
            {
                "label": label,
                "kind": kind,
                "identity": identity,
                "secret": secret if kind == "user" else None,
                "secret_hex": secret if kind == "client" else None,
                "fingerprint": fingerprint,
                "hardware": hw,
                "enc_key": keys[0].hex(),
                "mac_key": keys[1].hex(),
                "iv": iv.hex(),
                "plaintext": plaintext.hex(),
                "envelope": envelope.seal(keys, plaintext, iv).hex(),
            }
        )
    return vectors


def resource_vectors() -> list[dict]:
    cases = [
        ("empty", 4096, 0),
        ("one byte", 4096, 1),
        ("one exact segment", 4096, 4096),
        ("several segments, partial last", 4096, 3 * 4096 + 123),
        ("several exact segments", 4096, 2 * 4096),
        ("default segment size", 1 << 20, 5000),
    ]
    vectors = []
    for label, segment_size, size in cases:
        plaintext = det(label + "/pt", size)
        folder, name = "models", f"vector-{size}.onnx"
        key, salt, prefix = det(label + "/key", 32), det(label + "/salt", 32), det(label + "/np", 7)
        ct = resource.encrypt(
            plaintext,
            shared_key=SHARED_KEY,
            folder=folder,
            name=name,
            resource_key=key,
            salt=salt,
            nonce_prefix=prefix,
            segment_size=segment_size,
        )
        small, big = resource.split(ct)
        vectors.append(
            {
                "label": label,
                "folder": folder,
                "name": name,
                "segment_size": segment_size,
                "resource_key": key.hex(),
                "salt": salt.hex(),
                "nonce_prefix": prefix.hex(),
                "plaintext": plaintext.hex(),
                "ciphertext": ct.hex(),
                "small_len": len(small),
            }
        )
    return vectors


def release_vectors() -> list[dict]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    keys = {
        "ed25519": ed25519.Ed25519PrivateKey.from_private_bytes(det("release/ed25519", 32)),
        "ecdsa-p256": ec.derive_private_key(
            int.from_bytes(det("release/p256", 32), "big") % (2**255), ec.SECP256R1()
        ),
    }
    vectors = []
    for algorithm, key in keys.items():
        for folder, name, version, data in [
            ("models", "detector.onnx", 1, b""),
            ("models", "detector.onnx", 7, det("release/data", 1000)),
        ]:
            statement = release.payload(folder, name, version, data, "2026-12-02T12:00:00Z")
            private = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            vectors.append(
                {
                    "algorithm": algorithm,
                    "private_key": private.decode(),
                    "public_key": release.public_pem(key),
                    "key_id": release.key_id(key),
                    "folder": folder,
                    "name": name,
                    "version_number": version,
                    "signed_at": "2026-12-02T12:00:00Z",
                    "plaintext": data.hex(),
                    "payload": statement.decode(),
                    "bundle": release.bundle(key, statement).decode(),
                }
            )
    return vectors


# RFC 9180, appendix A.3.1: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode,
# sequence number 0 (the values as printed in the RFC).
RFC9180_A31 = {
    "source": "RFC 9180 A.3.1 (DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM), sequence 0",
    "key_length": 16,
    "info": "4f6465206f6e2061204772656369616e2055726e",
    "skRm": "f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2",
    "skEm": "4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb",
    "pkRm": (
        "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f70"
        "6a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0"
    ),
    "enc": (
        "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325"
        "ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4"
    ),
    "shared_secret": "c0d26aeab536609a572b07695d933b589dcf363ff9d93c93adea537aeabb8cb8",
    "key": "868c066ef58aae6dc589b6cfdd18f97e",
    "base_nonce": "4e0bc5018beba4bf004cca59",
    "pt": "4265617574792069732074727574682c20747275746820626561757479",
    "aad": "436f756e742d30",
    "ct": "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f9076ac232e3ab2523f39513434",
}


def scalar(label: str) -> str:
    """A fixed P-256 private scalar (below the group order) for a vector."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return f"{int.from_bytes(det(label, 32), 'big') % (order - 1) + 1:064x}"


def device_vectors() -> dict:
    """A small part sealed to a fixed device key (docs/formats.md, section 3) and a DPoP proof."""
    from tests.reference import device, hpke

    sk_r, sk_e = scalar("device/sealing"), scalar("device/ephemeral")
    small = det("device/small", 121)
    version = small[10:26].hex()
    folder, name, device_id = "models", "detector.onnx", 7
    info = device.sealed_info(folder, name, version, device_id)
    sealed = hpke.seal(hpke.private_key(sk_r).public_key(), hpke.private_key(sk_e), small, info)
    answer = bytes([2, len(version)]) + version.encode() + sealed
    signing = hpke.private_key(scalar("device/signing"))
    jwk = device.jwk_of(signing.public_key())
    token = "eyJhbGciOiJIUzI1NiJ9.eyJ0ZXN0IjoidmVjdG9yIn0.c2lnbmF0dXJl"
    claims = {
        "htm": "POST",
        "htu": "https://api.example.com/resources/get/models",
        "iat": 1767225600,
        "jti": "4f3c2a1b0e9d8c7b6a5f4e3d2c1b0a99",
    }
    proof = device.proof_with(signing, claims, token)
    return {
        "rfc9180": RFC9180_A31,
        "sealed_small_part": {
            "suite": "DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode",
            "skR": sk_r,
            "skE": sk_e,
            "folder": folder,
            "name": name,
            "version": version,
            "device_id": device_id,
            "info": info.hex(),
            "plaintext": small.hex(),
            "answer": answer.hex(),
        },
        "dpop_proof": {
            "signing_key": scalar("device/signing"),
            "jwk": jwk,
            "jkt": device.thumbprint(jwk),
            "access_token": token,
            "ath": claims_ath(token),
            "claims": claims,
            "proof": proof,
        },
    }


def claims_ath(token: str) -> str:
    """`ath` of a token."""
    from tests.reference.device import b64url

    return b64url(hashlib.sha256(token.encode()).digest())


def lease_vectors() -> dict:
    """An offline lease (docs/formats.md, section 8) for the sealed small part of device.json,
    signed by test signing key 1 of signing_keys.json."""
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.reference import lease

    keys = json.loads((VECTORS / "signing_keys.json").read_text())["keys"]
    key = keys[0]
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key["seed_hex"]))
    sealed = device_vectors()["sealed_small_part"]
    jkt = device_vectors()["dpop_proof"]["jkt"]
    plaintext, answer = bytes.fromhex(sealed["plaintext"]), bytes.fromhex(sealed["answer"])
    iat = 1767225600  # 2026-01-01T00:00:00Z
    offline_hours, max_hours, licence_expires_at = 48, 720, "2026-12-31T00:00:00Z"
    licence_expiry = int(dt.datetime.fromisoformat(licence_expires_at.replace("Z", "+00:00")).timestamp())
    exp = min(iat + offline_hours * 3600, licence_expiry, iat + max_hours * 3600)
    claims = {
        "iss": "azaion",
        "sub": "12",
        "device": sealed["device_id"],
        "cnf": {"jkt": jkt},
        "folder": sealed["folder"],
        "name": sealed["name"],
        "version": sealed["version"],
        "sha256": hashlib.sha256(plaintext).hexdigest(),
        "sealed_sha256": hashlib.sha256(answer).hexdigest(),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "jti": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    }
    token = lease.sign(claims, key["jwk"]["kid"], private)
    header, payload, _signature = token.split(".")
    return {
        "description": (
            "An offline lease (docs/formats.md, section 8): the Azaion-Lease header of a "
            "POST /resources/get answer whose body is device.json's sealed_small_part answer. "
            "Signed by test signing key 1 of signing_keys.json (a test value, never a deployment's)."
        ),
        "seed_hex": key["seed_hex"],
        "jwks": {"keys": [key["jwk"]]},
        "inputs": {
            "offline_hours": offline_hours,
            "lease_max_hours": max_hours,
            "licence_expires_at": licence_expires_at,
            "plaintext": sealed["plaintext"],
            "sealed": sealed["answer"],
        },
        "protected_header": {"alg": "EdDSA", "kid": key["jwk"]["kid"], "typ": lease.TYPE},
        "claims": claims,
        "signing_input": f"{header}.{payload}",
        "lease": token,
    }


def render() -> dict[str, str]:
    return {
        "lease.json": json.dumps(lease_vectors(), indent=1) + "\n",
        "release.json": json.dumps({"vectors": release_vectors()}, indent=1) + "\n",
        "device.json": json.dumps(device_vectors(), indent=1) + "\n",
        "envelope.json": json.dumps({"vectors": envelope_vectors()}, indent=1) + "\n",
        "resource.json": json.dumps(
            {
                "shared_key": SHARED_KEY.hex(),
                "key_id": resource.key_id(SHARED_KEY),
                "small_size_kb": 3,
                "vectors": resource_vectors(),
            },
            indent=1,
        )
        + "\n",
    }


if __name__ == "__main__":
    VECTORS.mkdir(exist_ok=True)
    for filename, text in render().items():
        (VECTORS / filename).write_text(text)
        print("wrote", VECTORS / filename)
