"""The pool's signing keys as the authorizer uses them: fetched once and kept, not fetched
for every token with a made-up kid, and a fetch that fails is a 503 the client may retry,
never a token called invalid and never an authorizer crash."""

from __future__ import annotations

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

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT_ID = "client-1"


def _token(kid: str = "dummy") -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "token_use": "id", "iat": now, "exp": now + 600,
              "custom:userId": "0123456789", "custom:role": "patient"}  # fmt: skip
    return jwt.encode(claims, jwt.PyJWK(moto_signing_key()).key, "RS256", headers={"kid": kid})


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
