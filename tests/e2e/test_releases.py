"""Signed releases end to end (issue 15): publisher keys, statements, verification, rollback.

The attacks are played against the real server, the S3 emulator and the compiled client: the
test edits the server's database, its small-part files and the bucket the way a compromised
server (or anyone who can write the bucket) would, and the device must refuse each with its own
error, return nothing, and still load the newest release afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

import azaion
from azaion import releases


def _folder() -> str:
    return f"signed-{uuid.uuid4().hex[:8]}"


def _p256():
    return ec.generate_private_key(ec.SECP256R1())


def _register(live, name, key, folders):
    body = {"name": name, "public_key": releases.public_key_pem(key), "folders": folders}
    return live.admin("POST", "/publishers", json=body).json()


def _trust(path: Path, publishers, signed_folders=()) -> Path:
    """A device's trusted publishers file: [(name, key, folders)]."""
    document = {
        "publishers": [
            {"name": n, "public_key": releases.public_key_pem(k), "folders": list(f)}
            for n, k, f in publishers
        ],
        "signed_folders": list(signed_folders),
    }
    path.write_text(json.dumps(document))
    return path


_RESOURCES = sa.table(
    "resources",
    sa.column("folder"),
    sa.column("name"),
    sa.column("checksum"),
    sa.column("size"),
    sa.column("statement", sa.LargeBinary),
    sa.column("version_number"),
)


@dataclass
class Snapshot:
    """One version of a resource as the server and the bucket hold it."""

    row: dict
    small: bytes
    small_path: Path
    objects: dict


class Server:
    """The server's storage, edited as an attacker who holds the server (or the bucket) would."""

    def __init__(self, live, s3_endpoint, database_url):
        self.engine = sa.create_engine(database_url)
        self.storage = Path(live.env["AZAION_STORAGE_DIR"])
        self.bucket = live.env["AZAION_S3_BUCKET"]
        self.s3 = s3_endpoint.client()

    def row(self, folder, name) -> dict:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT id, checksum, size, statement, version_number FROM resources "
                    "WHERE folder = :f AND name = :n"
                ),
                {"f": folder, "n": name},
            ).one()
        return dict(found._mapping)

    def set_row(self, folder, name, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(_RESOURCES)
                .where(_RESOURCES.c.folder == folder, _RESOURCES.c.name == name)
                .values(**values)
            )

    def snapshot(self, folder, name) -> Snapshot:
        row = self.row(folder, name)
        path = self.storage / str(row["id"]) / row["checksum"]
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{folder}/").get("Contents", [])
        objects = {
            o["Key"]: self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed
        }
        return Snapshot(row=row, small=path.read_bytes(), small_path=path, objects=objects)

    def serve(self, folder, name, snapshot: Snapshot, *, statement=True, objects=True) -> None:
        """Make the server answer `snapshot`'s small part (and statement), the bucket hold its big part."""
        snapshot.small_path.parent.mkdir(exist_ok=True)
        snapshot.small_path.write_bytes(snapshot.small)
        values = {"checksum": snapshot.row["checksum"], "size": snapshot.row["size"]}
        if statement:
            values.update(statement=snapshot.row["statement"], version_number=snapshot.row["version_number"])
        self.set_row(folder, name, **values)
        if objects:
            for key, data in snapshot.objects.items():
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)


@pytest.fixture
def server(live, s3_endpoint, e2e_database_url):
    found = Server(live, s3_endpoint, e2e_database_url)
    yield found
    found.engine.dispose()


@pytest.fixture
def device(connect, make_account, monkeypatch, tmp_path):
    """A loader on its own device that trusts the publishers file it is given."""

    def make(folder, trust: Path, *, cache="device"):
        monkeypatch.setenv("AZAION_TRUSTED_PUBLISHERS", str(trust))
        return connect(make_account("Operator", folders=[folder]), device=f"dev-{cache}", cache=cache)

    return make


@pytest.fixture
def uploader(connect, make_account, monkeypatch):
    monkeypatch.delenv("AZAION_TRUSTED_PUBLISHERS", raising=False)
    return connect(make_account("ResourceUploader"), cache="uploader")


# -- the release path ----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_a_signed_upload_verifies_on_the_device(live, uploader, device, tmp_path, algorithm):
    folder = _folder()
    key = _p256() if algorithm == "ecdsa-p256" else ed25519.Ed25519PrivateKey.generate()
    registered = _register(live, f"team-{uuid.uuid4().hex[:6]}", key, [folder])
    assert registered["algorithm"] == algorithm and registered["key_id"] == releases.key_id(key)
    data = os.urandom(200_000)
    info = uploader.upload_big_small_resource(data, "detector.onnx", folder, signing_key=key)
    assert info["version_number"] == 1 and info["signed"] is True
    client = device(folder, _trust(tmp_path / "trust.json", [(registered["name"], key, [folder])]))
    assert client.load_big_small_resource("detector.onnx", folder) == data
    release = client.last_release
    assert (release.folder, release.name, release.version_number) == (folder, "detector.onnx", 1)
    assert release.sha256 == hashlib.sha256(data).hexdigest() and release.publisher == registered["name"]
    # A second upload gets the next number, and the device moves on to it.
    uploader.upload_big_small_resource(data[::-1], "detector.onnx", folder, signing_key=key)
    assert client.load_big_small_resource("detector.onnx", folder) == data[::-1]
    assert client.last_release.version_number == 2


def test_the_model_signing_verifier_accepts_the_pulled_file(live, uploader, device, server, tmp_path):
    import model_signing

    folder, key = _folder(), _p256()
    _register(live, f"team-{uuid.uuid4().hex[:6]}", key, [folder])
    data = os.urandom(50_000)
    uploader.upload_big_small_resource(data, "m.onnx", folder, signing_key=key)
    client = device(folder, _trust(tmp_path / "trust.json", [("team", key, [folder])]))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "m.onnx").write_bytes(client.load_big_small_resource("m.onnx", folder))
    served = uploader.resource_info("m.onnx", folder)
    assert served["signed"]
    (tmp_path / "pub.pem").write_text(releases.public_key_pem(key))
    (tmp_path / "m.onnx.sig").write_bytes(server.row(folder, "m.onnx")["statement"])
    verifier = model_signing.verifying.Config().use_elliptic_key_verifier(public_key=tmp_path / "pub.pem")
    verifier.verify(model_dir, tmp_path / "m.onnx.sig")
    (model_dir / "m.onnx").write_bytes(data + b"!")
    with pytest.raises(ValueError, match="Signature mismatch"):
        verifier.verify(model_dir, tmp_path / "m.onnx.sig")


def _forged(statement: bytes) -> bytes:
    """`statement` with another (well-formed) signature."""
    bundle = json.loads(statement)
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(b"\x30" * 70).decode()
    return json.dumps(bundle).encode()


# -- what the server refuses ---------------------------------------------------------------


def test_the_server_refuses_unsigned_uploads_where_required_and_foreign_keys(live, uploader):
    folder, key, stranger = _folder(), _p256(), _p256()
    _register(live, f"team-{uuid.uuid4().hex[:6]}", key, [folder])
    live.admin("PUT", f"/publishers/folders/{folder}", json={"signatures_required": True})
    with pytest.raises(azaion.SignatureRequired):
        uploader.upload_big_small_resource(b"x" * 5000, "a.bin", folder)
    with pytest.raises(azaion.PublisherNotAllowed):
        uploader.upload_big_small_resource(b"x" * 5000, "a.bin", folder, signing_key=stranger)
    other = _folder()
    with pytest.raises(azaion.PublisherNotAllowed):  # registered, but not for `other`
        uploader.upload_big_small_resource(b"x" * 5000, "a.bin", other, signing_key=key)
    uploader.upload_big_small_resource(b"x" * 5000, "a.bin", folder, signing_key=key)
    assert uploader.resource_info("a.bin", folder)["version_number"] == 1


def test_the_server_refuses_a_statement_for_another_version_or_resource(live, uploader, server):
    folder, key = _folder(), _p256()
    _register(live, f"team-{uuid.uuid4().hex[:6]}", key, [folder])
    uploader.upload_big_small_resource(b"y" * 5000, "b.bin", folder, signing_key=key)
    for statement, error in [
        (
            releases.sign_release(key, folder=folder, name="b.bin", version_number=1, data=b"z"),
            "VERSION_CONFLICT",
        ),
        (
            releases.sign_release(key, folder=folder, name="c.bin", version_number=2, data=b"z"),
            "SIGNATURE_INVALID",
        ),
        (
            _forged(releases.sign_release(key, folder=folder, name="b.bin", version_number=2, data=b"z")),
            "SIGNATURE_INVALID",
        ),
    ]:
        answer = live.http.post(
            f"{live.url}/resources/{folder}",
            headers={"Authorization": f"Bearer {live.login(live.admin_email, live.admin_password)}"},
            files={"data": ("b.bin", b"small", "application/octet-stream")},
            data={"statement": statement.decode()},
            timeout=30,
        )
        assert answer.status_code in (400, 409) and answer.json()["code"] == error, answer.text
    assert server.row(folder, "b.bin")["version_number"] == 1


# -- what the device refuses ---------------------------------------------------------------


@pytest.fixture
def signed_release(live, uploader, tmp_path):
    """A folder with one publisher, a resource at versions 1 and 2 (snapshots kept), a trust file."""
    folder, key = _folder(), _p256()
    name = f"team-{uuid.uuid4().hex[:6]}"
    _register(live, name, key, [folder])
    return folder, key, _trust(tmp_path / "trust.json", [(name, key, [folder])])


def _refused(client, folder, name, error):
    with pytest.raises(error) as caught:
        client.load_big_small_resource(name, folder)
    assert caught.value.code == error.code
    return caught.value


def test_rollback_by_the_server_and_the_bucket_is_refused(signed_release, uploader, device, server):
    folder, key, trust = signed_release
    old, new = os.urandom(30_000), os.urandom(30_000)
    uploader.upload_big_small_resource(old, "r.bin", folder, signing_key=key)
    first = server.snapshot(folder, "r.bin")
    uploader.upload_big_small_resource(new, "r.bin", folder, signing_key=key)
    second = server.snapshot(folder, "r.bin")
    client = device(folder, trust)
    assert client.load_big_small_resource("r.bin", folder) == new
    server.serve(folder, "r.bin", first)  # version 1, validly signed, big part back in the bucket
    error = _refused(client, folder, "r.bin", azaion.RollbackError)
    assert "version 1 is older than version 2" in str(error)
    # The state survives the process: a new client on the same device refuses as well.
    again = device(folder, trust)
    _refused(again, folder, "r.bin", azaion.RollbackError)
    server.serve(folder, "r.bin", second)
    assert client.load_big_small_resource("r.bin", folder) == new
    assert again.load_big_small_resource("r.bin", folder) == new


def test_an_older_small_part_under_the_newer_statement_is_refused(signed_release, uploader, device, server):
    folder, key, trust = signed_release
    uploader.upload_big_small_resource(b"1" * 30_000, "d.bin", folder, signing_key=key)
    first = server.snapshot(folder, "d.bin")
    uploader.upload_big_small_resource(b"2" * 30_000, "d.bin", folder, signing_key=key)
    server.serve(folder, "d.bin", first, statement=False)
    _refused(device(folder, trust), folder, "d.bin", azaion.DigestMismatch)


def test_an_older_big_part_in_the_bucket_is_refused(signed_release, uploader, device, server):
    folder, key, trust = signed_release
    uploader.upload_big_small_resource(b"1" * 30_000, "e.bin", folder, signing_key=key)
    first = server.snapshot(folder, "e.bin")
    uploader.upload_big_small_resource(b"2" * 30_000, "e.bin", folder, signing_key=key)
    second = server.snapshot(folder, "e.bin")
    # The old big part's bytes under the new version's key: the resource format refuses it.
    [(key_now, _)] = second.objects.items()
    [(_, old_bytes)] = first.objects.items()
    server.s3.put_object(Bucket=server.bucket, Key=key_now, Body=old_bytes)
    _refused(device(folder, trust), folder, "e.bin", azaion.IntegrityError)


def test_a_statement_of_another_resource_is_refused(signed_release, uploader, device, server):
    folder, key, trust = signed_release
    uploader.upload_big_small_resource(b"f" * 9000, "f.bin", folder, signing_key=key)
    uploader.upload_big_small_resource(b"g" * 9000, "g.bin", folder, signing_key=key)
    server.set_row(folder, "g.bin", statement=server.row(folder, "f.bin")["statement"])
    _refused(device(folder, trust), folder, "g.bin", azaion.StatementMismatch)


def test_an_edited_statement_is_refused(signed_release, uploader, device, server):
    folder, key, trust = signed_release
    uploader.upload_big_small_resource(b"h" * 9000, "h.bin", folder, signing_key=key)
    bundle = json.loads(server.row(folder, "h.bin")["statement"])
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["predicate"]["azaion_release"]["version_number"] = 99
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    server.set_row(folder, "h.bin", statement=json.dumps(bundle).encode())
    _refused(device(folder, trust), folder, "h.bin", azaion.SignatureError)


def test_a_missing_statement_where_one_is_required_is_refused(signed_release, uploader, device, server):
    folder, key, trust = signed_release
    uploader.upload_big_small_resource(b"i" * 9000, "i.bin", folder, signing_key=key)
    server.set_row(folder, "i.bin", statement=None)
    _refused(device(folder, trust), folder, "i.bin", azaion.SignatureRequired)


def test_a_key_the_device_does_not_trust_is_refused(live, uploader, device, tmp_path):
    folder, key, trusted = _folder(), _p256(), _p256()
    _register(live, f"team-{uuid.uuid4().hex[:6]}", key, [folder])  # the server knows it...
    uploader.upload_big_small_resource(b"j" * 9000, "j.bin", folder, signing_key=key)
    client = device(
        folder, _trust(tmp_path / "trust.json", [("other", trusted, [folder])])
    )  # ...the device not
    _refused(client, folder, "j.bin", azaion.UntrustedPublisher)


def test_a_key_not_allowed_for_the_folder_on_the_device_is_refused(live, uploader, device, tmp_path):
    folder, elsewhere, key = _folder(), _folder(), _p256()
    _register(live, f"team-{uuid.uuid4().hex[:6]}", key, [folder, elsewhere])  # a server that allows too much
    uploader.upload_big_small_resource(b"k" * 9000, "k.bin", folder, signing_key=key)
    client = device(folder, _trust(tmp_path / "trust.json", [("team", key, [elsewhere])]))
    _refused(client, folder, "k.bin", azaion.PublisherNotAllowed)


def test_refused_loads_return_nothing_and_leave_the_state_alone(signed_release, uploader, device, server):
    folder, key, trust = signed_release
    uploader.upload_big_small_resource(b"l" * 9000, "l.bin", folder, signing_key=key)
    client = device(folder, trust)
    assert client.load_big_small_resource("l.bin", folder) == b"l" * 9000
    state = (Path(client.data_dir) / ".releases.json").read_bytes()
    server.set_row(folder, "l.bin", statement=None)
    _refused(client, folder, "l.bin", azaion.SignatureRequired)
    assert client.last_release is None
    assert (Path(client.data_dir) / ".releases.json").read_bytes() == state
