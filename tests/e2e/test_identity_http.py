"""Sign-up, login and sessions over real HTTP against the local stack (moto's Cognito)."""

from __future__ import annotations

import base64
import uuid

from tests.e2e.conftest import login


def _basic(email: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def test_demo_login_round_trip(stack, alice) -> None:
    assert alice.user_id == "de00000001"
    for headers in (alice.headers, {"Authorization": f"Bearer {alice.token}"}):
        reply = stack.request("GET", f"/v1/users/{alice.user_id}", headers=headers)
        assert reply.status == 200
        assert reply.json()["data"]["fullName"] == "Alice Patient"


def test_sign_up_then_log_in(stack) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.org"
    body = {
        "email": email,
        "password": "Another-good-pw-7",
        "fullName": "New Person",
        "role": "patient",
    }
    created = stack.request("POST", "/v1/users", body)
    assert created.status == 201
    assert login(stack, email, "Another-good-pw-7").user_id == created.json()["data"]["userId"]


def test_wrong_password_and_unknown_email_get_the_same_401(stack) -> None:
    wrong = stack.request("POST", "/auth/login", headers=_basic("alice@tidewater.test", "nope"))
    unknown = stack.request("POST", "/auth/login", headers=_basic("nobody@tidewater.test", "nope"))
    assert wrong.status == unknown.status == 401
    assert wrong.body == unknown.body
    assert wrong.json()["errors"][0]["status"] == "401"


def test_no_token_bad_token_and_someone_elses_data(stack, alice, bob) -> None:
    path = f"/v1/users/{alice.user_id}"
    assert stack.request("GET", path).status == 401
    bad = stack.request(
        "GET", path, headers={"X-Tidepool-Session-Token": alice.token[:-4] + "AAAA"}
    )
    assert bad.status == 401 and bad.json()["errors"][0]["code"] == "unauthorized"
    assert stack.request("GET", path, headers=bob.headers).status == 403


def _claims(token: str) -> dict:
    import json

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_session_is_refreshed_until_logout_ends_it(stack) -> None:
    # A session of its own: the shared fixtures' sessions stay open for the other tests.
    first = login(stack, "bob@tidewater.test")
    refreshed = stack.request("GET", "/auth/login", headers=first.headers)
    assert refreshed.status == 200 and refreshed.json()["userid"] == first.user_id
    second = refreshed.headers["X-Tidepool-Session-Token"]
    assert second != first.token
    assert _claims(second)["exp"] >= _claims(first.token)["exp"]
    assert _claims(second)["origin_jti"] == _claims(first.token)["origin_jti"]
    fresh = {"X-Tidepool-Session-Token": second}
    assert stack.request("GET", "/auth/user", headers=fresh).status == 200

    assert stack.request("POST", "/auth/logout", headers=fresh).status == 200
    # Every token of the session is refused at once, though each is good for its hour,
    # and the session can no longer be refreshed.
    for token in (first.token, second):
        headers = {"X-Tidepool-Session-Token": token}
        assert stack.request("GET", "/auth/user", headers=headers).status == 401
        assert stack.request("GET", "/auth/login", headers=headers).status == 401
    # Bob's other sessions are his own: a new login works, and so does the old fixture's.
    again = login(stack, "bob@tidewater.test")
    assert stack.request("GET", "/auth/user", headers=again.headers).status == 200


def test_logout_without_a_valid_token_is_accepted_and_ends_nothing(stack, alice) -> None:
    for headers in ({}, {"X-Tidepool-Session-Token": "not-a-token"}):
        assert stack.request("POST", "/auth/logout", headers=headers).status == 200
    assert stack.request("GET", "/auth/user", headers=alice.headers).status == 200
