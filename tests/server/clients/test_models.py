"""Client logic below the routes: the registration race, what reprs show, claims of clients."""

from __future__ import annotations

import pytest
from azaion_server.clients import models
from azaion_server.clients.exceptions import ClientNameTaken
from azaion_server.jwt.schemas import TokenClaims
from azaion_server.resources.cdn import CdnDocuments
from azaion_server.resources.entities import Resource
from azaion_server.resources.policy import owner_nameid
from azaion_server.resources.settings import ResourceSettings
from azaion_server.vocabulary import Role
from sqlalchemy import false


def test_two_registrations_of_one_name_race(api, monkeypatch: pytest.MonkeyPatch) -> None:
    context = api.client.app.state.context
    api.machine("Operator", name="racer", login=False)
    real_select = models.select

    def stale_select(*entities):
        # The look for the name finds nothing, as if the other registration had not committed.
        return real_select(*entities).where(false())

    monkeypatch.setattr(models, "select", stale_select)
    with context.sessions() as session, pytest.raises(ClientNameTaken):
        models.create_client(session, context.key_vault, name="racer", role=Role.OPERATOR)


def test_reprs_show_no_secret(api) -> None:
    context = api.client.app.state.context
    drone = api.machine("Operator", login=False)
    with context.sessions() as session:
        client = models.get_client(session, drone.name)
        challenge = context.handshake.challenge(session, drone.name, None)
        from azaion_server.clients.entities import AuthChallenge

        row = session.get(AuthChallenge, challenge.id)
        assert row is not None
        for text in (repr(client), repr(row), repr(context.handshake)):
            assert drone.key.hex() not in text and challenge.text not in text
        assert drone.name in repr(client) and "max_session=3600s" in repr(context.handshake)
    assert "configured=False" in repr(CdnDocuments(ResourceSettings()))


def test_client_claims() -> None:
    claims = TokenClaims(
        nameid="client:3", unique_name="drone", role="Operator", exp=2, iat=1, iss="i", aud="a", jti="j"
    )
    assert (claims.kind, claims.subject_id) == ("client", 3)
    with pytest.raises(ValueError, match="not a user id"):
        claims.user_id  # noqa: B018


def test_owner_of_a_resource() -> None:
    assert owner_nameid(Resource(owner_id=4)) == "4"
    assert owner_nameid(Resource(owner_client_id=5)) == "client:5"
    assert owner_nameid(Resource()) is None
