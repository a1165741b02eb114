"""Accounts, sessions and the authorizer, against moto's Cognito and DynamoDB."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import load_event, moto_jwks, moto_signing_key
from tidewater.api.authorizer import authorize
from tidewater.api.tokens import (
    InvalidToken,
    TokenVerifier,
    issued_caller,
    issued_claims,
    session_token,
)
from tidewater.domain.errors import Conflict, InvalidData, NotFound, Unauthorized
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import utcnow
from tidewater.services import auth
from tidewater.store.repos import repositories

PASSWORD = "Correct-horse-9-battery"


def _sign_up(email: str, role: str = "patient") -> str:
    body = {"email": email, "password": PASSWORD, "fullName": "Pat Example", "role": role}
    return auth.sign_up(body, repositories(), utcnow()).user_id


def _basic(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


def _http(method: str, path: str, body: Any = None, headers: dict | None = None) -> dict:
    event = load_event("status.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["headers"] = {**event["headers"], **{k.lower(): v for k, v in (headers or {}).items()}}
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def _verifier() -> TokenVerifier:
    settings = repositories().settings
    return TokenVerifier(settings.token_issuer, settings.user_pool_client_id, moto_jwks)


def _claims(**overrides: Any) -> dict[str, Any]:
    settings = repositories().settings
    now = int(time.time())
    claims = {
        "iss": settings.token_issuer,
        "aud": settings.user_pool_client_id,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "sub": "s",
        "custom:userId": "0123456789",
        "custom:role": "patient",
    }
    claims.update(overrides)
    return claims


def _moto_signed(claims: dict[str, Any]) -> str:
    key = moto_signing_key()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


# ------------------------------------------------------------------ sign-up and login
def test_login_round_trip_gives_a_token_for_the_account(aws, lambda_context) -> None:
    from functions.auth import app

    user_id = _sign_up("pat@example.org")
    event = _http(
        "POST", "/auth/login", headers={"Authorization": _basic("PAT@example.org", PASSWORD)}
    )
    response = app.handler(event, lambda_context)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    # Tidepool's user (shoreline), and `userId` as Tidewater's clients read it.
    assert body == {
        "userid": user_id,
        "userId": user_id,
        "username": "pat@example.org",
        "emails": ["pat@example.org"],
        "roles": [],
        "termsAccepted": body["createdTime"],
        "emailVerified": True,
        "createdTime": body["createdTime"],
    }
    token = response["headers"]["X-Tidepool-Session-Token"]
    assert _verifier().verify(token) == Caller(user_id, "patient", Via.SESSION)


def test_sign_up_over_http_answers_201_with_a_session(aws, lambda_context) -> None:
    from functions.auth import app

    body = {"email": "new@example.org", "password": PASSWORD, "fullName": "New One"}
    response = app.handler(_http("POST", "/v1/users", body), lambda_context)
    assert response["statusCode"] == 201
    data = json.loads(response["body"])["data"]
    assert data["role"] == "patient" and len(data["userId"]) == 10
    assert (
        _verifier().verify(response["headers"]["X-Tidepool-Session-Token"]).user_id
        == data["userId"]
    )
    again = app.handler(_http("POST", "/v1/users", body), lambda_context)
    assert again["statusCode"] == 409


@pytest.mark.parametrize("role", ["clinician", "researcher", "admin", [], {}])
def test_a_self_declared_role_is_refused_with_a_pointer(aws, lambda_context, role) -> None:
    from functions.auth import app

    body = {"email": "dr@example.org", "password": PASSWORD, "fullName": "Dr Who", "role": role}
    response = app.handler(_http("POST", "/v1/users", body), lambda_context)
    assert response["statusCode"] == 400
    errors = json.loads(response["body"])["errors"]
    assert [(e["source"]["pointer"], e["code"]) for e in errors] == [("/role", "role-not-allowed")]
    with pytest.raises(Unauthorized):  # and no account was made
        repositories().identity.authenticate("dr@example.org", PASSWORD)


def test_patient_as_the_role_is_what_everyone_gets(aws) -> None:
    user_id = _sign_up("pat@example.org", "patient")
    assert repositories().accounts.profile(user_id).role == "patient"
    token = repositories().identity.authenticate("pat@example.org", PASSWORD)
    assert _verifier().verify(token) == Caller(user_id, "patient", Via.SESSION)


def _login(email: str, lambda_context: Any) -> str:
    from functions.auth import app

    event = _http("POST", "/auth/login", headers={"Authorization": _basic(email, PASSWORD)})
    response = app.handler(event, lambda_context)
    assert response["statusCode"] == 200
    return str(response["headers"]["X-Tidepool-Session-Token"])


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_a_granted_role_counts_from_the_next_login_and_patient_takes_it_away(
    aws, lambda_context, role
) -> None:
    repos = repositories()
    user_id = _sign_up("pat@example.org")
    before = _login("pat@example.org", lambda_context)
    assert auth.grant_role("Pat@Example.org ", role, repos) == user_id
    assert _verifier().verify(before).role == "patient"  # a token keeps what it said
    after = _login("pat@example.org", lambda_context)
    assert _verifier().verify(after) == Caller(user_id, role, Via.SESSION)
    assert repos.accounts.profile(user_id).role == role
    auth.grant_role("pat@example.org", "patient", repos)
    assert _verifier().verify(_login("pat@example.org", lambda_context)).role == "patient"
    assert repos.accounts.profile(user_id).role == "patient"


def test_a_role_granted_in_cognito_alone_reaches_the_profile_at_login(aws, lambda_context) -> None:
    """In AWS the operator adds the user to the group (the admin API, no tool of ours): the
    next login brings the profile (what add_clinician checks) to that role."""
    repos = repositories()
    user_id = _sign_up("doc@example.org")
    repos.identity.client.admin_add_user_to_group(
        UserPoolId=repos.identity.user_pool_id, Username="doc@example.org", GroupName="clinician"
    )
    assert repos.accounts.profile(user_id).role == "patient"
    _login("doc@example.org", lambda_context)
    assert repos.accounts.profile(user_id).role == "clinician"


def test_a_grant_to_one_role_replaces_the_other(aws) -> None:
    repos = repositories()
    _sign_up("pat@example.org")
    auth.grant_role("pat@example.org", "researcher", repos)
    auth.grant_role("pat@example.org", "clinician", repos)
    groups = repos.identity.client.admin_list_groups_for_user(
        UserPoolId=repos.identity.user_pool_id, Username="pat@example.org"
    )["Groups"]
    assert [g["GroupName"] for g in groups] == ["clinician"]


@pytest.mark.parametrize(
    ("email", "role", "pointers"),
    [
        ("pat@example.org", "admin", ["/role"]),
        ("nope", "clinician", ["/email"]),
        (None, None, ["/email", "/role"]),
    ],
)
def test_a_grant_needs_an_email_and_a_role(aws, email, role, pointers) -> None:
    with pytest.raises(InvalidData) as raised:
        auth.grant_role(email, role, repositories())
    assert [p.pointer for p in raised.value.errors] == pointers


def test_a_grant_to_an_unknown_email_is_not_found(aws) -> None:
    with pytest.raises(NotFound):
        auth.grant_role("nobody@example.org", "clinician", repositories())


def test_a_role_an_old_account_declared_itself_is_not_honoured(aws) -> None:
    """Accounts made before roles were granted carry `custom:role` in their tokens: the
    verifier ignores it (and a self-declared researcher no longer reads the slices)."""
    token = _moto_signed(_claims(**{"custom:role": "researcher"}))
    assert _verifier().verify(token).role == "patient"
    granted = _moto_signed(_claims(**{"cognito:groups": ["researcher"]}))
    assert _verifier().verify(granted).role == "researcher"
    both = _moto_signed(_claims(**{"cognito:groups": ["researcher", "clinician"]}))
    assert _verifier().verify(both).role == "patient"


def test_sign_up_points_at_every_bad_field(aws) -> None:
    with pytest.raises(InvalidData) as raised:
        auth.sign_up(
            {"email": "no", "password": "short", "fullName": "", "role": "admin"},
            repositories(),
            utcnow(),
        )
    assert [p.pointer for p in raised.value.errors] == ["/email", "/password", "/fullName", "/role"]
    assert "short" not in json.dumps([p.detail for p in raised.value.errors])


def test_weak_password_is_refused_and_leaves_no_account(aws) -> None:
    body = {
        "email": "weak@example.org",
        "password": "alllowercase-no-digits",
        "fullName": "W",
        "role": "patient",
    }
    with pytest.raises(InvalidData) as raised:
        auth.sign_up(body, repositories(), utcnow(), user_id="abcdef0123")
    assert raised.value.errors[0].pointer == "/password"
    with pytest.raises(Exception):  # noqa: B017 - any lookup failure: the account is gone
        repositories().accounts.profile("abcdef0123")
    _sign_up("weak@example.org")  # the email is free again


def test_an_email_the_identity_service_refuses_is_a_400_at_email_with_no_account(
    aws, lambda_context
) -> None:
    from functions.auth import app

    # RFC 5322 allows `#` as a whole local part; Cognito's username check does not.
    body = {"email": "#@host.example", "password": PASSWORD, "fullName": "Hash"}
    answer = app.handler(_http("POST", "/v1/users", body), lambda_context)
    assert answer["statusCode"] == 400
    (error,) = json.loads(answer["body"])["errors"]
    assert error["source"] == {"pointer": "/email"} and error["code"] == "value-not-valid"
    _sign_up("hash@host.example")  # nothing half-made is left in the way


def test_a_taken_id_is_a_conflict_not_an_overwrite(aws) -> None:
    body = {"email": "a@example.org", "password": PASSWORD, "fullName": "A", "role": "patient"}
    auth.sign_up(body, repositories(), utcnow(), user_id="abcdef0123")
    with pytest.raises(Conflict):
        auth.sign_up(
            {**body, "email": "b@example.org"}, repositories(), utcnow(), user_id="abcdef0123"
        )
    assert repositories().accounts.profile("abcdef0123").full_name == "A"


def test_wrong_password_and_unknown_email_look_the_same(aws, lambda_context) -> None:
    from functions.auth import app

    _sign_up("pat@example.org")
    wrong = app.handler(
        _http("POST", "/auth/login", headers={"Authorization": _basic("pat@example.org", "nope")}),
        lambda_context,
    )
    unknown = app.handler(
        _http("POST", "/auth/login", headers={"Authorization": _basic("who@example.org", "nope")}),
        lambda_context,
    )
    assert wrong["statusCode"] == unknown["statusCode"] == 401
    assert wrong["body"] == unknown["body"]
    assert json.loads(wrong["body"])["errors"][0]["code"] == "login-failed"


def test_a_failed_login_always_takes_the_same_minimum_time(aws) -> None:
    _sign_up("pat@example.org")
    slept: list[float] = []
    ticks = iter([0.0, 0.05])  # Cognito answered in 50 ms
    with pytest.raises(Unauthorized):
        auth.login(
            _basic("pat@example.org", "nope"),
            repositories().identity,
            _verifier().verify,
            clock=lambda: next(ticks),
            sleep=slept.append,
        )
    assert slept == [pytest.approx(auth.LOGIN_FAILURE_FLOOR_S - 0.05)]


@pytest.mark.parametrize(
    "header", [None, "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()]
)
def test_login_without_basic_credentials_is_401(aws, header) -> None:
    with pytest.raises(Unauthorized):
        auth.login(header, repositories().identity, _verifier().verify, sleep=lambda s: None)


# ------------------------------------------------------------------ token checks
def test_a_genuine_token_is_accepted(aws) -> None:
    assert _verifier().verify(_moto_signed(_claims())).user_id == "0123456789"


def test_wrong_signature_is_refused(aws) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims(), forger, algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(InvalidToken):
        _verifier().verify(forged)


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-client"},
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"},
        {"token_use": "access"},
        {"custom:userId": None},
        {"exp": int(time.time()) - 1},
    ],
    ids=["wrong-audience", "wrong-issuer", "access-token", "no-user-id", "expired"],
)
def test_tokens_not_meant_for_us_are_refused(aws, overrides) -> None:
    claims = {k: v for k, v in _claims(**overrides).items() if v is not None}
    with pytest.raises(InvalidToken):
        _verifier().verify(_moto_signed(claims))


def test_expiry_follows_the_injected_clock(aws) -> None:
    token = _moto_signed(_claims())
    settings = repositories().settings
    later = TokenVerifier(
        settings.token_issuer,
        settings.user_pool_client_id,
        moto_jwks,
        clock=lambda: time.time() + 601,
    )
    with pytest.raises(InvalidToken):
        later.verify(token)


def test_an_unsigned_token_is_refused(aws) -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    with pytest.raises(InvalidToken):
        _verifier().verify(unsigned)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Tidepool-Session-Token": "t1"}, "t1"),
        ({"x-tidepool-session-token": "t2"}, "t2"),
        ({"Authorization": "Bearer t3"}, "t3"),
        ({"authorization": "bearer t4"}, "t4"),
        ({"Authorization": "Basic t5"}, None),
        ({}, None),
    ],
)
def test_the_token_is_read_from_either_header_in_any_case(headers, expected) -> None:
    assert session_token(headers) == expected


# ------------------------------------------------------------------ the authorizer
def test_authorizer_puts_the_caller_their_email_and_session_in_the_context(aws) -> None:
    token = _moto_signed(_claims(email="pat@example.org", origin_jti="session-1"))
    event = _http("GET", "/v1/users/0123456789", headers={"Authorization": "Bearer " + token})
    answer = authorize(event, _verifier(), lambda digest: None)
    context = {"userId": "0123456789", "role": "patient", "via": "session",
               "email": "pat@example.org", "sessionId": "session-1"}  # fmt: skip
    assert answer == {"isAuthorized": True, "context": context}
    # A token of an account that is gone (or a session ended) names nobody, and no email.
    gone = authorize(event, _verifier(), lambda digest: None, lambda user, session: False)
    assert gone["context"] == {"userId": "", "role": "", "via": "anonymous"}


@pytest.mark.parametrize(
    "token", ["", "junk", "a.b", "a.!!!.c", "a." + base64.urlsafe_b64encode(b"[1]").decode() + ".c"]
)
def test_a_token_that_is_not_a_jwt_is_refused_where_an_issued_one_is_read(token) -> None:
    with pytest.raises(InvalidToken):
        issued_claims(token)


def test_an_issued_token_is_read_as_cognito_wrote_it() -> None:
    token = _moto_signed(_claims(email="pat@example.org", origin_jti="session-1"))
    assert issued_claims(token)["origin_jti"] == "session-1"
    assert issued_caller(token) == Caller("0123456789", "patient", Via.SESSION)


def test_authorizer_passes_a_bad_token_on_as_anonymous(aws) -> None:
    event = _http("GET", "/v1/users/0123456789", headers={"Authorization": "Bearer junk"})
    assert authorize(event, _verifier(), lambda d: None)["context"]["via"] == "anonymous"


NS_SECRET = "my-nightscout-secret"
NS_SHA1 = hashlib.sha1(NS_SECRET.encode()).hexdigest()


@pytest.mark.parametrize(
    "header",
    [NS_SHA1, NS_SHA1.upper(), NS_SECRET],
    ids=["sha1-lower", "sha1-upper", "raw-secret"],
)
def test_api_secret_opens_nightscout_routes_of_its_owner(aws, header) -> None:
    user_id = _sign_up("ns@example.org")
    caller = Caller(user_id, "patient", Via.SESSION)
    auth.set_nightscout_secret(caller, user_id, {"secret": NS_SECRET}, repositories())
    lookup = repositories().accounts.nightscout_owner
    answer = authorize(
        _http("GET", "/api/v1/entries.json", headers={"api-secret": header}), _verifier(), lookup
    )
    assert answer["context"] == {"userId": user_id, "role": "", "via": "nightscout"}
    elsewhere = authorize(
        _http("GET", f"/v1/users/{user_id}", headers={"api-secret": header}), _verifier(), lookup
    )
    assert elsewhere["context"]["via"] == "anonymous"


def test_a_replaced_nightscout_secret_stops_working_and_only_a_digest_is_stored(aws) -> None:
    import boto3

    user_id = _sign_up("ns@example.org")
    caller = Caller(user_id, "patient", Via.SESSION)
    auth.set_nightscout_secret(caller, user_id, {"secret": NS_SECRET}, repositories())
    auth.set_nightscout_secret(caller, user_id, {"secret": "a-brand-new-secret"}, repositories())
    lookup = repositories().accounts.nightscout_owner
    old = authorize(
        _http("GET", "/api/v1/entries.json", headers={"api-secret": NS_SECRET}), _verifier(), lookup
    )
    assert old["context"]["via"] == "anonymous"
    table = repositories().settings.accounts_table
    dump = json.dumps(boto3.client("dynamodb").scan(TableName=table)["Items"])
    assert NS_SECRET not in dump and "a-brand-new-secret" not in dump
    assert hashlib.sha1(b"a-brand-new-secret").hexdigest() not in dump


def test_nightscout_secret_is_set_by_its_owner_only(aws) -> None:
    owner, other = _sign_up("o@example.org"), _sign_up("x@example.org")
    from tidewater.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        auth.set_nightscout_secret(
            Caller(other, "patient", Via.SESSION), owner, {"secret": NS_SECRET}, repositories()
        )
