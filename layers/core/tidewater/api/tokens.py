"""Verifies session tokens: Cognito ID tokens (RS256 JWTs) against the pool's JWKS."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt

from tidewater.domain.identity import Caller, Via
from tidewater.settings import Settings

JwksLoader = Callable[[], dict[str, Any]]


class InvalidToken(Exception):
    """The token is not one of ours, or no longer valid. The reason is for our logs only."""


@dataclass
class TokenVerifier:
    issuer: str
    client_id: str
    load_jwks: JwksLoader
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._keys: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _key(self, kid: str) -> Any:
        if kid not in self._keys:
            with self._lock:  # keys rotate: on an unknown kid, fetch the set again, once
                jwks = jwt.PyJWKSet.from_dict(self.load_jwks())
                self._keys = {k.key_id: k.key for k in jwks.keys if k.key_id}
        if kid not in self._keys:
            raise InvalidToken("unknown signing key")
        return self._keys[kid]

    def verify(self, token: str) -> Caller:
        claims = self.claims(token)
        return Caller(str(claims["custom:userId"]), str(claims["custom:role"]), Via.SESSION)

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid ID token of ours (InvalidToken otherwise)."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise InvalidToken("wrong algorithm")
            claims = jwt.decode(
                token,
                self._key(str(header.get("kid", ""))),
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                # Expiry is checked below against our clock (injectable, for tests).
                options={
                    "require": ["exp", "iat", "iss", "aud", "token_use"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except (jwt.PyJWTError, jwt.PyJWKSetError, ValueError) as error:
            raise InvalidToken(type(error).__name__) from None
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
        if claims["exp"] <= self.clock():
            raise InvalidToken("expired")
        user_id, role = claims.get("custom:userId"), claims.get("custom:role")
        if not user_id or not role:
            raise InvalidToken("no platform identity")
        return dict(claims)


def http_jwks(url: str) -> JwksLoader:
    def load() -> dict[str, Any]:
        # The URL comes from our own settings (Cognito's, or the local stack's endpoint).
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            loaded: dict[str, Any] = json.loads(response.read())
            return loaded

    return load


def session_token(headers: dict[str, str]) -> str | None:
    """The token from `X-Tidepool-Session-Token` or `Authorization: Bearer` (any case)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    token = lowered.get("x-tidepool-session-token", "").strip()
    if token:
        return token
    scheme, _, value = lowered.get("authorization", "").strip().partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


@cache
def verifier_for(settings: Settings) -> TokenVerifier:
    """The process's verifier for the pool `settings` names (its keys cached with it)."""
    return TokenVerifier(
        settings.token_issuer, settings.user_pool_client_id, http_jwks(settings.jwks_url)
    )
