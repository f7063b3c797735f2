"""Signing keys: RFC 8037's own Ed25519 vector, RFC 7638 kids, our vectors, sealing at rest."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jwt as pyjwt
import pytest
from azaion_server.jwt.keys import (
    KeySealer,
    SealedSigningKeyError,
    b64url,
    jws_signing_input,
    public_jwk,
    raw_public,
    sign_jwks,
    thumbprint,
)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "signing_keys.json").read_text())


def _d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_rfc8037_ed25519_vector() -> None:
    # RFC 8037, appendix A.1-A.5: the key, its thumbprint, and the JWS of "Example of Ed25519 signing".
    rfc = VECTORS["rfc8037"]
    private = Ed25519PrivateKey.from_private_bytes(_d(rfc["d"]))
    public = raw_public(private.public_key())
    assert b64url(public) == rfc["x"]
    assert thumbprint(public) == rfc["thumbprint"]
    header, payload, signature = rfc["jws"].split(".")
    assert _d(payload) == rfc["payload"].encode()
    assert b64url(private.sign(f"{header}.{payload}".encode())) == signature  # Ed25519 is deterministic
    assert (
        pyjwt.api_jws.decode(rfc["jws"], private.public_key(), algorithms=["EdDSA"])
        == rfc["payload"].encode()
    )
    tampered = f"{header}.{b64url(b'Example of Ed25519 signinG')}.{signature}"
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.api_jws.decode(tampered, private.public_key(), algorithms=["EdDSA"])


def _keys() -> list[tuple[str, Ed25519PrivateKey]]:
    return [
        (v["jwk"]["kid"], Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed_hex"])))
        for v in VECTORS["keys"]
    ]


def test_our_key_vectors() -> None:
    for vector, (_kid, private) in zip(VECTORS["keys"], _keys()):
        assert public_jwk(raw_public(private.public_key())) == vector["jwk"]


def test_our_token_vector() -> None:
    vector = VECTORS["token"]
    kid, private = _keys()[0]
    token = pyjwt.encode(vector["claims"], private, algorithm="EdDSA", headers={"kid": kid})
    assert token == vector["jwt"]
    assert pyjwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": kid, "typ": "JWT"}


def test_our_signed_jwks_vector() -> None:
    vector = VECTORS["signed_jwks"]
    by_kid = dict(_keys())
    jwks = [VECTORS["keys"][1]["jwk"], VECTORS["keys"][0]["jwk"]]
    signed = sign_jwks(jwks, vector["iat"], [(kid, by_kid[kid]) for kid in vector["signers"]])
    assert signed == vector["jws"]
    assert json.loads(_d(signed["payload"])) == {"keys": jwks, "iat": vector["iat"]}
    for entry, kid in zip(signed["signatures"], vector["signers"]):
        assert json.loads(_d(entry["protected"])) == {"alg": "EdDSA", "kid": kid, "typ": "jwk-set+json"}
        signing_input = f"{entry['protected']}.{signed['payload']}".encode()
        by_kid[kid].public_key().verify(_d(entry["signature"]), signing_input)
        with pytest.raises(InvalidSignature):
            by_kid[kid].public_key().verify(_d(entry["signature"]), signing_input + b" ")


def test_signing_input_is_rfc7515() -> None:
    header, body, signing_input = jws_signing_input({"alg": "EdDSA"}, b"Example of Ed25519 signing")
    assert (header, body) == ("eyJhbGciOiJFZERTQSJ9", "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
    assert signing_input == b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"


def test_sealed_keys_open_only_under_their_secret_and_kid() -> None:
    sealer = KeySealer("s" * 40)
    raw = bytes(range(32))
    sealed = sealer.seal("kid-a", raw)
    assert sealer.open("kid-a", sealed) == raw and raw not in sealed
    assert sealer.seal("kid-a", raw) != sealed  # a fresh nonce each time
    for bad in (
        lambda: KeySealer("t" * 40).open("kid-a", sealed),  # another secret
        lambda: sealer.open("kid-b", sealed),  # copied onto another key's row
        lambda: sealer.open("kid-a", sealed[:-1]),  # truncated
        lambda: sealer.open("kid-a", sealed[:20] + bytes([sealed[20] ^ 1]) + sealed[21:]),  # a bit flipped
        lambda: sealer.open("kid-a", b"\x02" + sealed[1:]),  # another version
    ):
        with pytest.raises(SealedSigningKeyError):
            bad()
    assert "s" * 40 not in repr(sealer)


def test_kid_is_the_thumbprint_of_the_public_key() -> None:
    public = Ed25519PrivateKey.generate().public_key()
    jwk = public_jwk(raw_public(public))
    assert jwk["kid"] == thumbprint(raw_public(public))
    assert Ed25519PublicKey.from_public_bytes(_d(jwk["x"])) == public
