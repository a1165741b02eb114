"""Verifies session tokens: Cognito ID tokens (RS256 JWTs) against the pool's JWKS."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import jwt

from tidewater.domain.errors import Unavailable
from tidewater.domain.identity import Caller, Via
from tidewater.settings import Settings

JwksLoader = Callable[[], dict[str, Any]]
# Cognito rotates its keys rarely and publishes a new one before it signs with it.
KEYS_LIFESPAN: Final = 3600.0  # seconds the key set is kept
# After a fetch, a token with a kid not in the set is refused without another fetch for this
# long: tokens with made-up kids cannot make every request a fetch.
REFETCH_COOLDOWN: Final = 60.0
FETCH_TIMEOUT: Final = 3.0  # the authorizer has 10 s in all


class InvalidToken(Exception):
    """The token is not one of ours, or no longer valid. The reason is for our logs only."""


class PoolKeys(jwt.PyJWKClient):
    """The pool's signing keys, kept as PyJWKClient keeps them (the set cached, fetched again
    on an unknown kid, at most once per cooldown); `load` fetches the set."""

    def __init__(self, url: str, load: JwksLoader) -> None:
        super().__init__(
            url, lifespan=KEYS_LIFESPAN, cooldown_duration=REFETCH_COOLDOWN, timeout=FETCH_TIMEOUT
        )
        self._load = load

    def fetch_data(self) -> Any:
        try:
            return self._load()
        except (jwt.PyJWKClientConnectionError, OSError, ValueError) as error:
            # Nothing wrong with the token: the keys could not be read. The client sends it
            # again (503), rather than being told it is signed out.
            raise Unavailable("the sign-in keys could not be read; try again") from error


@dataclass
class TokenVerifier:
    issuer: str
    client_id: str
    load_jwks: JwksLoader
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._keys = PoolKeys(f"{self.issuer}/.well-known/jwks.json", self.load_jwks)

    def _key(self, kid: str) -> Any:
        try:
            return self._keys.get_signing_key(kid).key
        except jwt.PyJWKClientError:
            raise InvalidToken("unknown signing key") from None

    def verify(self, token: str) -> Caller:
        """The caller a valid ID token names; InvalidToken if it is not one, Unavailable when
        the pool's keys cannot be read."""
        claims = self.claims(token)
        user_id, role = claims.get("custom:userId"), claims.get("custom:role")
        if not user_id or not role:
            raise InvalidToken("no platform identity")
        return Caller(str(user_id), str(role), Via.SESSION)

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid ID token of our pool; InvalidToken otherwise, Unavailable
        when the pool's keys cannot be read."""
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
        return dict(claims)


def http_jwks(url: str) -> JwksLoader:
    """The key set fetched over HTTPS by PyJWT (no redirects, http(s) only; the URL comes
    from our own settings: Cognito's, or the local stack's endpoint)."""
    return jwt.PyJWKClient(url, cache_jwk_set=False, timeout=FETCH_TIMEOUT).fetch_data


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
