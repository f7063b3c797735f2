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


def render() -> dict[str, str]:
    return {
        "release.json": json.dumps({"vectors": release_vectors()}, indent=1) + "\n",
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
