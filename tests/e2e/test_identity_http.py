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
