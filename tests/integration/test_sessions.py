"""Sessions in the store: sealed at rest, listed on the account, ended at logout."""

from __future__ import annotations

import json

import boto3
import jwt

from tests.conftest import sign_up_as
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import utcnow
from tidewater.services import auth
from tidewater.store.repos import repositories

PASSWORD = "Session-test-pass-9"


def _claims(token: str) -> dict:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _signed_up(email: str) -> tuple[str, auth.Session]:
    profile = sign_up_as({"email": email, "password": PASSWORD, "fullName": "S"})
    tokens = repositories().identity.sign_in(email, PASSWORD)
    return profile.user_id, auth.Session(tokens.id_token, profile.user_id, tokens.refresh_token)


def test_the_refresh_token_is_stored_sealed_with_a_ttl(aws) -> None:
    repos = repositories()
    user_id, session = _signed_up("sealed@example.org")
    auth.keep_session(session, _claims, repos, utcnow())
    session_id = _claims(session.token)["origin_jti"]
    item = boto3.client("dynamodb").get_item(
        TableName=repos.settings.accounts_table, Key={"userId": {"S": f"session#{session_id}"}}
    )["Item"]
    assert session.refresh_token not in json.dumps(item)
    assert item["owner"] == {"S": user_id}
    ttl = int(item["expiresAt"]["N"]) - int(utcnow().timestamp())
    assert 29 * 86_400 < ttl <= 30 * 86_400
    assert repos.accounts.active(user_id, session_id)
    assert not repos.accounts.active(user_id, "another-session")


def test_a_session_kept_without_a_refresh_token_is_open_and_ends_at_logout(aws) -> None:
    repos = repositories()
    user_id, signed_in = _signed_up("plain@example.org")
    session = auth.Session(signed_in.token, user_id, "")  # an identity service gives none
    auth.keep_session(session, _claims, repos, utcnow())
    session_id = _claims(session.token)["origin_jti"]
    assert repos.accounts.active(user_id, session_id)
    caller = Caller(user_id, "patient", Via.SESSION)
    assert (
        auth.refresh_session(caller, session.token, _claims(session.token), repos) == session.token
    )
    auth.end_session(_claims(session.token), repos)
    assert not repos.accounts.active(user_id, session_id)
    assert repos.sessions.of(user_id) == []
