"""Bodies of the publisher routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from azaion_server.publishers.entities import Publisher

PUBLISHER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$"
KEY_ID_PATTERN = r"^[0-9a-f]{64}$"


class PublisherCreate(BaseModel):
    """`POST /publishers`: a name, a PEM public key (ECDSA P-256 or Ed25519), its folders."""

    name: str = Field(pattern=PUBLISHER_NAME_PATTERN)
    public_key: str = Field(min_length=1, max_length=4096)
    folders: list[str] = Field(max_length=1000)


class FoldersUpdate(BaseModel):
    """`PUT /publishers/{key_id}/folders`: the folders the key may sign for from now on."""

    folders: list[str] = Field(max_length=1000)


class PublisherOut(BaseModel):
    """A publisher as the routes describe it."""

    name: str
    key_id: str
    algorithm: str
    public_key: str
    folders: list[str]
    revoked: bool

    @classmethod
    def of(cls, publisher: Publisher) -> PublisherOut:
        """The public view of a publisher row."""
        return cls(
            name=publisher.name,
            key_id=publisher.key_id,
            algorithm=publisher.algorithm,
            public_key=publisher.public_key,
            folders=list(publisher.folders),
            revoked=publisher.revoked,
        )


class FolderPolicyBody(BaseModel):
    """`PUT /publishers/folders/{folder}`: whether uploads there must carry a statement."""

    signatures_required: bool = Field(strict=True)


class FolderPolicyOut(FolderPolicyBody):
    """A folder's policy."""

    folder: str


class TrustDocument(BaseModel):
    """`GET /publishers/trust`: the file a device names in AZAION_TRUSTED_PUBLISHERS."""

    publishers: list[PublisherOut]
    signed_folders: list[str]
