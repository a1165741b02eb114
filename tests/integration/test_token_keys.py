"""The pool's signing keys as the authorizer uses them: fetched once and kept, not fetched
for every token with a made-up kid, and a fetch that fails is a 503 the client may retry,
never a token called invalid and never an authorizer crash."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import urllib.error
import uuid
from typing import Any

import jwt
import pytest

from tests.conftest import moto_jwks, moto_signing_key
from tests.integration.ingest_support import event
from tidewater.api.authorizer import authorize
from tidewater.api.tokens import InvalidToken, TokenVerifier
from tidewater.domain.errors import Unavailable
from tidewater.domain.timeutil import utcnow

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT_ID = "client-1"


def _token(kid: str = "dummy") -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "token_use": "id", "iat": now, "exp": now + 600,
              "custom:userId": "0123456789", "custom:role": "patient"}  # fmt: skip
    return jwt.encode(claims, moto_signing_key(), "RS256", headers={"kid": kid})


def _counting() -> tuple[list[int], Any]:
    fetches: list[int] = []

    def load() -> dict[str, Any]:
        fetches.append(1)
        return moto_jwks()

    return fetches, load


def _down() -> dict[str, Any]:
    raise urllib.error.URLError("timed out")


def test_the_key_set_is_fetched_once_for_many_tokens() -> None:
    fetches, load = _counting()
    verifier = TokenVerifier(ISSUER, CLIENT_ID, load)
    for _ in range(20):
        assert verifier.verify(_token()).user_id == "0123456789"
    assert len(fetches) == 1


def test_tokens_with_made_up_kids_do_not_cost_a_fetch_each() -> None:
    fetches, load = _counting()
    verifier = TokenVerifier(ISSUER, CLIENT_ID, load)
    for _ in range(50):
        with pytest.raises(InvalidToken):
            verifier.verify(_token(kid=uuid.uuid4().hex))
    assert len(fetches) <= 2  # the set, and once more for the first unknown kid
    assert verifier.verify(_token()).user_id == "0123456789"


def test_keys_that_cannot_be_fetched_are_unavailable_not_an_invalid_token() -> None:
    with pytest.raises(Unavailable):
        TokenVerifier(ISSUER, CLIENT_ID, _down).verify(_token())


def test_past_an_unreachable_key_set_the_handler_answers_503(aws, lambda_context) -> None:
    from functions.ingest import app

    request = event("POST", "/v1/users/{userId}/datasets", "/v1/users/0123456789/datasets",
                    caller=None, params={"userId": "0123456789"}, body={})  # fmt: skip
    request["headers"]["authorization"] = "Bearer " + _token()
    answer = authorize(request, TokenVerifier(ISSUER, CLIENT_ID, _down), lambda _: None)
    assert answer["isAuthorized"] is True
    request["requestContext"]["authorizer"] = {"lambda": answer["context"]}
    response = app.handler(request, lambda_context)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "2"
    assert '"unavailable"' in response["body"]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_refetch_per_cooldown_whatever_unknown_kids_come() -> None:
    fetches, load = _counting()
    clock = _Clock()
    verifier = TokenVerifier(ISSUER, CLIENT_ID, load, key_clock=clock)
    verifier.verify(_token())  # the first fetch starts the cooldown too
    for second in range(60):  # inside it, no kid, new or seen before, fetches again
        with pytest.raises(InvalidToken):
            verifier.verify(_token(kid=uuid.uuid4().hex if second % 2 else "rotated"))
        clock.now += 0.99
    assert len(fetches) == 1
    clock.now += 1  # the cooldown is over: the next unknown kid fetches, once
    for _ in range(5):
        with pytest.raises(InvalidToken):
            verifier.verify(_token(kid=uuid.uuid4().hex))
    assert len(fetches) == 2
    assert verifier.verify(_token()).user_id == "0123456789"


def test_a_rotated_key_is_fetched_once_the_cooldown_is_over() -> None:
    clock = _Clock()
    published = {"keys": moto_jwks()["keys"]}
    fetches: list[int] = []

    def load() -> dict[str, Any]:
        fetches.append(1)
        return published

    verifier = TokenVerifier(ISSUER, CLIENT_ID, load, key_clock=clock)
    verifier.verify(_token())
    published = {"keys": [{**moto_jwks()["keys"][0], "kid": "rotated"}]}  # Cognito rotates
    clock.now += 61
    assert verifier.verify(_token(kid="rotated")).user_id == "0123456789"
    assert len(fetches) == 2


def _raises(error: Exception) -> Any:
    def load() -> dict[str, Any]:
        raise error

    return load


@pytest.mark.parametrize(
    "load",
    [
        _raises(urllib.error.URLError("connection refused")),
        _raises(TimeoutError("timed out")),
        _raises(json.JSONDecodeError("Expecting value", "<html>", 0)),
        _raises(jwt.PyJWKClientConnectionError("Fail to fetch data from the url")),
        lambda: ["not", "an", "object"],
        lambda: {"keys": []},
        lambda: {"keys": [{"kty": "nonsense"}]},
    ],
    ids=["url-error", "timeout", "bad-json", "http-error", "not-an-object", "no-keys", "bad-key"],
)
def test_every_kind_of_failed_fetch_is_unavailable_and_backs_off(load) -> None:
    clock = _Clock()
    calls: list[int] = []

    def counted() -> Any:
        calls.append(1)
        return load()

    verifier = TokenVerifier(ISSUER, CLIENT_ID, counted, key_clock=clock)
    for _ in range(10):  # a burst of requests while Cognito is out: one fetch, all 503
        with pytest.raises(Unavailable):
            verifier.verify(_token())
    assert len(calls) == 1
    clock.now += 5
    with pytest.raises(Unavailable):  # past the back-off, one more try
        verifier.verify(_token())
    assert len(calls) == 2


def test_keys_read_once_are_used_while_a_refetch_fails() -> None:
    clock = _Clock()
    answers: list[Any] = [moto_jwks()]

    def load() -> dict[str, Any]:
        answer = answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    verifier = TokenVerifier(ISSUER, CLIENT_ID, load, key_clock=clock)
    verifier.verify(_token())
    answers[0] = urllib.error.URLError("down")
    clock.now += 3601  # the set is stale: the refetch fails, the request is 503 ...
    with pytest.raises(Unavailable):
        verifier.verify(_token())
    clock.now += 1  # ... and the requests after it are checked with the keys kept
    assert verifier.verify(_token()).user_id == "0123456789"


class _Serve(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>Service Unavailable</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_http_loader_turns_garbage_and_refusals_into_unavailable() -> None:
    from tidewater.api.tokens import http_jwks

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
        with pytest.raises(Unavailable):
            TokenVerifier(ISSUER, CLIENT_ID, http_jwks(url)).verify(_token())
    finally:
        server.shutdown()
        server.server_close()
    closed = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    with pytest.raises(Unavailable):
        TokenVerifier(ISSUER, CLIENT_ID, http_jwks(closed)).verify(_token())


def test_login_reads_the_token_cognito_issued_and_never_fetches_the_keys(
    aws, lambda_context, monkeypatch
) -> None:
    """The auth function verifies no token (the authorizer does): a sign-in answers with the
    session while the pool's keys cannot be read, and nothing tried to fetch them."""
    from functions.auth import app
    from tidewater.api import tokens
    from tidewater.services import auth
    from tidewater.store.repos import repositories

    body = {"email": "pat@example.org", "password": "Correct-horse-9-battery", "fullName": "P"}
    user_id = auth.sign_up(body, repositories(), utcnow()).user_id
    fetches: list[str] = []
    monkeypatch.setattr(tokens, "http_jwks", lambda url: fetches.append(url) or _down)
    tokens.verifier_for.cache_clear()
    request = event("POST", "/auth/login", "/auth/login", caller=None)
    request["headers"]["authorization"] = (
        "Basic " + base64.b64encode(b"pat@example.org:Correct-horse-9-battery").decode()
    )
    response = app.handler(request, lambda_context)
    tokens.verifier_for.cache_clear()
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["userid"] == user_id
    assert response["headers"]["X-Tidepool-Session-Token"].count(".") == 2
    assert fetches == []
