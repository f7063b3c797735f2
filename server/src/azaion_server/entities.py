"""Every table of every module, gathered so that Alembic sees one metadata."""

from azaion_server.audit.entities import AuditEvent
from azaion_server.auth.entities import LoginFailure
from azaion_server.clients.entities import AuthChallenge, Client
from azaion_server.db import Base
from azaion_server.devices.entities import Device
from azaion_server.events.entities import Event, EventStream
from azaion_server.jwt.entities import RevokedToken, SigningKey, UsedProof
from azaion_server.licenses.entities import ClientLicense, License
from azaion_server.publishers.entities import FolderPolicy, Publisher
from azaion_server.resources.entities import Resource, ResourceBlob
from azaion_server.users.entities import User

metadata = Base.metadata

__all__ = [
    "AuditEvent",
    "AuthChallenge",
    "Client",
    "ClientLicense",
    "Device",
    "Event",
    "EventStream",
    "FolderPolicy",
    "License",
    "LoginFailure",
    "Publisher",
    "Resource",
    "ResourceBlob",
    "RevokedToken",
    "SigningKey",
    "UsedProof",
    "User",
    "metadata",
]
