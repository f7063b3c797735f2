"""Signed releases: the statement a publisher signs, and the checks a device makes before use.

A release statement is an OpenSSF model-signing bundle (docs/formats.md, section "Release
statements"): a Sigstore bundle v0.3 in JSON, without transparency log entries, whose DSSE
envelope carries an in-toto Statement v1 with the model-signing predicate
``https://model_signing/signature/v1.0``. Its one resource descriptor is the plaintext's
SHA-256, so ``model_signing``'s own key verifier accepts the pulled file with the publisher's
P-256 public key. The predicate's ``azaion_release`` object adds what the delivery path needs:
folder, name, the server-assigned version number, size and time.

This module protects no secret (a publisher's private key stays in the caller's hands and is
only used here to sign); it is plain Python on ``cryptography``. The device's checks are in
:class:`TrustedPublishers` (whose statement, for what) and :func:`check_rollback` (not older
than what this device accepted before).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Optional, Union

from azaion.errors import (
    ConfigurationError,
    DigestMismatch,
    PublisherNotAllowed,
    RollbackError,
    SignatureError,
    SignatureRequired,
    StatementMismatch,
    UntrustedPublisher,
)

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
RELEASE_FIELD = "azaion_release"
STATE_VERSION = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Release:
    """A verified release: what the statement says, and who signed it."""

    folder: str
    name: str
    version_number: int
    size: int
    sha256: str
    signed_at: str
    publisher: str
    key_id: str

    def as_dict(self) -> dict[str, Any]:
        """The release as plain data (what ``azaion pull`` and ``azaion verify`` print)."""
        return dict(self.__dict__)

    def describe(self) -> str:
        """One line for a person: what, which version, signed by whom and when."""
        return (
            f"{self.folder}/{self.name} version {self.version_number} ({self.size} bytes, sha256 "
            f"{self.sha256[:16]}…) signed by {self.publisher} (key {self.key_id[:16]}…) at {self.signed_at}"
        )


# -- keys ----------------------------------------------------------------------------------


def _check_key_type(key: Any, private: bool) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    public = key.public_key() if private else key
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1":
        return key
    if isinstance(public, ed25519.Ed25519PublicKey):
        return key
    raise ConfigurationError("a publisher key must be ECDSA P-256 or Ed25519")


def load_signing_key(source: Any) -> Any:
    """A publisher's private key: a ``cryptography`` key object, PEM bytes or text, or a PEM file's path.

    The PEM must not be encrypted (decrypt it with ``cryptography`` and pass the key object).
    """
    from cryptography.hazmat.primitives import serialization

    if hasattr(source, "sign") and hasattr(source, "public_key"):
        return _check_key_type(source, True)
    if isinstance(source, str) and "-----BEGIN" in source:
        # PEM text, not a path: never echoed into the "cannot read the file" message below.
        source = source.encode("ascii", "replace")
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as f:
                source = f.read()
        except OSError as e:
            raise ConfigurationError(
                f"cannot read the signing key file {os.fspath(source)!r} ({e.strerror})"
            ) from None
    if not isinstance(source, bytes):
        raise ConfigurationError("signing_key must be a private key, PEM bytes or the path of a PEM file")
    failure = None
    try:
        key = serialization.load_pem_private_key(source, password=None)
    except (ValueError, TypeError) as e:
        failure = type(e).__name__
    if failure is not None:
        raise ConfigurationError(
            f"the signing key is not an unencrypted PEM private key ({failure}); "
            "write it with `openssl genpkey -algorithm ed25519` "
            "or `-algorithm EC -pkeyopt ec_paramgen_curve:P-256`"
        ) from None
    return _check_key_type(key, True)


def load_public_key(pem: Union[str, bytes]) -> Any:
    """A publisher's public key from PEM (SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization

    data = pem.encode("ascii") if isinstance(pem, str) else pem
    failure = None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnicodeEncodeError) as e:
        failure = type(e).__name__
    if failure is not None:
        raise ConfigurationError(
            f"a trusted publisher's public_key is not a PEM public key ({failure})"
        ) from None
    return _check_key_type(key, False)


def public_key_pem(key: Any) -> str:
    """The PEM SubjectPublicKeyInfo of a public (or private) key."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "sign") else key
    pem: bytes = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode()


def key_id(key: Any) -> str:
    """The key's id: SHA-256 (hex) of its PEM SubjectPublicKeyInfo, model-signing's key hint."""
    return hashlib.sha256(public_key_pem(key).encode("ascii")).hexdigest()


# -- statements ----------------------------------------------------------------------------


def pae(payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of an in-toto payload (what is signed)."""
    return b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)


def statement_payload(
    *, folder: str, name: str, version_number: int, data: bytes, signed_at: Optional[str] = None
) -> bytes:
    """The in-toto statement (JSON bytes) of one release of ``data`` as ``folder``/``name``."""
    digest = hashlib.sha256(data).hexdigest()
    if signed_at is None:
        signed_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    statement = {
        "_type": STATEMENT_TYPE,
        # model-signing's root digest: SHA-256 over the resource digests, in name order.
        "subject": [{"name": name, "digest": {"sha256": hashlib.sha256(bytes.fromhex(digest)).hexdigest()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": False,
                "ignore_paths": [],
            },
            "resources": [{"name": name, "algorithm": "sha256", "digest": digest}],
            RELEASE_FIELD: {
                "folder": folder,
                "name": name,
                "version_number": version_number,
                "size": len(data),
                "sha256": digest,
                "signed_at": signed_at,
            },
        },
    }
    return json.dumps(statement, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign_payload(signing_key: Any, payload: bytes) -> bytes:
    """The bundle (JSON bytes) holding ``payload`` signed with ``signing_key``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = load_signing_key(signing_key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(pae(payload), ec.ECDSA(hashes.SHA256()))
    else:
        signature = key.sign(pae(payload))
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_id(key)}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode("ascii"), "keyid": ""}],
        },
    }
    return json.dumps(bundle, separators=(",", ":")).encode("utf-8")


def sign_release(signing_key: Any, *, folder: str, name: str, version_number: int, data: bytes) -> bytes:
    """A signed release statement for ``data`` as version ``version_number`` of ``folder``/``name``."""
    payload = statement_payload(folder=folder, name=name, version_number=version_number, data=data)
    return sign_payload(signing_key, payload)


def _malformed() -> SignatureError:
    return SignatureError(
        "the release statement is malformed or its signature does not verify; "
        "the server or the storage may be compromised: do not use this resource"
    )


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _malformed()
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        pass
    raise _malformed()


def read_bundle(raw: bytes) -> tuple[str, bytes, bytes]:
    """``(key id, payload, signature)`` of a statement; nothing verified yet."""
    try:
        bundle = json.loads(raw)
        hint = bundle["verificationMaterial"]["publicKey"]["hint"]
        envelope = bundle["dsseEnvelope"]
        signatures = envelope["signatures"]
        ok = (
            bundle.get("mediaType") == BUNDLE_MEDIA_TYPE
            and envelope.get("payloadType") == PAYLOAD_TYPE
            and isinstance(hint, str)
            and _HEX64.match(hint) is not None
            and isinstance(signatures, list)
            and len(signatures) == 1
            and isinstance(signatures[0], dict)
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise _malformed()
    return hint, _b64(envelope["payload"]), _b64(signatures[0].get("sig"))


def _release_of(payload: bytes, publisher: str, signer: str) -> Release:
    try:
        statement = json.loads(payload)
        fields = statement["predicate"][RELEASE_FIELD]
        release = Release(
            folder=fields["folder"],
            name=fields["name"],
            version_number=fields["version_number"],
            size=fields["size"],
            sha256=fields["sha256"],
            signed_at=fields["signed_at"],
            publisher=publisher,
            key_id=signer,
        )
        resources = statement["predicate"]["resources"]
        ok = (
            statement.get("_type") == STATEMENT_TYPE
            and statement.get("predicateType") == PREDICATE_TYPE
            and all(
                isinstance(v, str) for v in (release.folder, release.name, release.sha256, release.signed_at)
            )
            and all(type(v) is int and v >= 0 for v in (release.version_number, release.size))
            and _HEX64.match(release.sha256) is not None
            # The model-signing view must say the same as ours.
            and resources == [{"name": release.name, "algorithm": "sha256", "digest": release.sha256}]
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise _malformed()
    return release


# -- the device's trust --------------------------------------------------------------------


@dataclass(frozen=True)
class Publisher:
    """A trusted publisher: a name, a public key, the folders it may sign for."""

    name: str
    key: Any
    folders: frozenset[str]

    @property
    def key_id(self) -> str:
        """SHA-256 (hex) of the PEM public key."""
        return key_id(self.key)


class TrustedPublishers:
    """The publishers a device trusts, and the folders where it accepts nothing unsigned.

    Built from the document of ``GET /publishers/trust`` (``azaion admin publishers export``),
    handed to the device out of band: the server that serves models is not the one that says
    whom to trust. A folder that any trusted publisher may sign for requires a signature, as
    does every folder in ``signed_folders``.
    """

    def __init__(self, publishers: list[Publisher], signed_folders: frozenset[str] = frozenset()) -> None:
        self.publishers = {p.key_id: p for p in publishers}
        self.signed_folders = frozenset(signed_folders) | frozenset(f for p in publishers for f in p.folders)

    def __repr__(self) -> str:
        names = sorted(p.name for p in self.publishers.values())
        return f"TrustedPublishers(publishers={names!r}, signed_folders={sorted(self.signed_folders)!r})"

    @classmethod
    def from_document(cls, document: Any) -> TrustedPublishers:
        """From the parsed JSON document: ``{publishers: [{name, public_key, folders}], signed_folders}``."""
        try:
            entries = document.get("publishers") or []
            signed = frozenset(str(f) for f in document.get("signed_folders") or [])
            publishers = []
            for entry in entries:
                if entry.get("revoked"):
                    continue
                publishers.append(
                    Publisher(
                        str(entry["name"]),
                        load_public_key(entry["public_key"]),
                        frozenset(str(f) for f in entry.get("folders") or []),
                    )
                )
        except (AttributeError, KeyError, TypeError):
            raise ConfigurationError(
                "the trusted publishers document must be "
                "{publishers: [{name, public_key, folders}], signed_folders: [...]}"
            ) from None
        return cls(publishers, signed)

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike[str]]) -> TrustedPublishers:
        """From a JSON file (what ``AZAION_TRUSTED_PUBLISHERS`` names)."""
        failure = None
        try:
            with open(path, "rb") as f:
                document = json.loads(f.read())
        except OSError as e:
            failure = f"cannot read it ({e.strerror})"
        except ValueError:
            failure = "it is not JSON"
        if failure is not None:
            raise ConfigurationError(f"the trusted publishers file {os.fspath(path)!r}: {failure}") from None
        return cls.from_document(document)

    @classmethod
    def of(cls, value: Any) -> Optional[TrustedPublishers]:
        """``value`` as trusted publishers: None, an instance, a parsed document, or a file path."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls.from_document(value)
        if isinstance(value, (str, os.PathLike)):
            return cls.from_file(value)
        raise ConfigurationError("trusted_publishers must be a TrustedPublishers, a dict or a file path")

    def requires_signature(self, folder: str) -> bool:
        """Whether this device refuses unsigned resources of ``folder``."""
        return folder in self.signed_folders

    def verify_statement(self, statement: Optional[bytes], folder: str, name: str) -> Optional[Release]:
        """The release ``statement`` names, checked: a trusted key allowed for ``folder``, a valid
        signature, and this folder and name. None for an unsigned resource where that is allowed."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        if statement is None:
            if self.requires_signature(folder):
                raise SignatureRequired(
                    f"{folder}/{name} comes without a release statement, and this device "
                    f"accepts only signed releases in {folder!r}; ask its publisher to sign it"
                )
            return None
        signer, payload, signature = read_bundle(statement)
        publisher = self.publishers.get(signer)
        if publisher is None:
            raise UntrustedPublisher(
                f"the release statement of {folder}/{name} is signed by key {signer[:16]}…, "
                "which this device does not trust; update AZAION_TRUSTED_PUBLISHERS if it should"
            )
        if folder not in publisher.folders:
            raise PublisherNotAllowed(
                f"{publisher.name} signed {folder}/{name}, but this device trusts "
                f"{publisher.name} only for {sorted(publisher.folders)}"
            )
        failed = False
        try:
            if isinstance(publisher.key, ec.EllipticCurvePublicKey):
                publisher.key.verify(signature, pae(payload), ec.ECDSA(hashes.SHA256()))
            else:
                publisher.key.verify(signature, pae(payload))
        except InvalidSignature:
            failed = True
        if failed:
            raise _malformed()
        release = _release_of(payload, publisher.name, signer)
        if release.folder != folder or release.name != name:
            raise StatementMismatch(
                f"the release statement served for {folder}/{name} is the one of "
                f"{release.folder}/{release.name}; the server may be compromised"
            )
        return release

    def verify(self, statement: Optional[bytes], folder: str, name: str, data: bytes) -> Optional[Release]:
        """:meth:`verify_statement`, then the plaintext ``data`` against the statement's size and digest."""
        release = self.verify_statement(statement, folder, name)
        if release is not None and (
            len(data) != release.size or hashlib.sha256(data).hexdigest() != release.sha256
        ):
            raise DigestMismatch(
                f"{folder}/{name} does not match its release statement (version "
                f"{release.version_number}): the bytes served are not the ones its publisher signed"
            )
        return release


# -- rollback ------------------------------------------------------------------------------


def check_rollback(state: bytes, release: Release) -> Optional[bytes]:
    """The new state file contents after accepting ``release``, or None when nothing changes.

    ``state`` maps ``folder/name`` to the highest version number (and its digest) this device
    accepted. A lower number is a rollback; the same number with other bytes is a fork; both raise
    :class:`~azaion.errors.RollbackError`.
    """
    try:
        document = json.loads(state) if state else {}
        seen = document.get("highest", {}) if isinstance(document, dict) else None
        if not isinstance(seen, dict):
            raise ValueError
    except ValueError:
        seen = None
    if seen is None:
        raise RollbackError(
            "the release state file is damaged; it cannot tell which versions this device "
            "accepted. Remove it only if no one tampered with this device"
        )
    key = f"{release.folder}/{release.name}"
    entry = seen.get(key)
    if isinstance(entry, dict):
        highest = entry.get("version_number", 0)
        if release.version_number < highest:
            raise RollbackError(
                f"{key} version {release.version_number} is older than version {highest}, which "
                "this device accepted before: refused as a rollback. A publisher who wants the old "
                "model back publishes its bytes again as a new version"
            )
        if release.version_number == highest:
            if entry.get("sha256") != release.sha256:
                raise RollbackError(
                    f"{key} version {highest} now has other bytes than when this device accepted "
                    "it: refused (two releases under one version number)"
                )
            return None
    seen[key] = {"version_number": release.version_number, "sha256": release.sha256}
    return json.dumps({"format": STATE_VERSION, "highest": seen}, sort_keys=True, indent=1).encode("utf-8")


__all__ = [
    "Publisher",
    "Release",
    "TrustedPublishers",
    "check_rollback",
    "key_id",
    "load_public_key",
    "load_signing_key",
    "public_key_pem",
    "sign_payload",
    "sign_release",
    "statement_payload",
]
