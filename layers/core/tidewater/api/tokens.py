"""Session tokens: Cognito ID tokens (RS256 JWTs), verified against the pool's JWKS by the
authorizer (the one place a token is verified: the functions read what it found in its
context), and read as issued when a function has just been given one by Cognito itself.

PyJWT (and cryptography under it) is imported by the first verification: only the
authorizer verifies, and no other function pays for the import on its cold start."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, NamedTuple

from tidewater.domain.errors import Unavailable
from tidewater.domain.identity import Caller, Via, role_of_groups
from tidewater.settings import Settings

JwksLoader = Callable[[], dict[str, Any]]
# Cognito rotates its keys rarely and publishes a new one before it signs with it.
KEYS_LIFESPAN: Final = 3600.0  # seconds the key set is kept
# A token with a kid not in the set may cause one fetch of the set, and then no other fetch
# for this long, whatever kids come: tokens with made-up kids cannot make requests fetches.
REFETCH_COOLDOWN: Final = 60.0
# After a fetch that failed, requests that need the keys are answered 503 at once for this
# long instead of each waiting for its own fetch to time out.
FAILED_FETCH_BACKOFF: Final = 5.0
FETCH_TIMEOUT: Final = 3.0  # the authorizer has 10 s in all


# What a fetch may raise when Cognito cannot be reached or answers something else than a key
# set: PyJWKClientConnectionError (URLError, timeout, HTTP errors), PyJWKClientError (not a
# JSON object), ValueError (not JSON), PyJWKSetError (no usable key), OSError.
def _fetch_failures() -> tuple[type[Exception], ...]:
    import jwt

    return (jwt.PyJWKClientError, jwt.PyJWKSetError, OSError, ValueError)


class InvalidToken(Exception):
    """The token is not one of ours, or no longer valid. The reason is for our logs only."""


class PoolKeys:
    """The pool's signing keys by kid: the set is fetched on first use, kept for
    KEYS_LIFESPAN, fetched again for an unknown kid at most once per REFETCH_COOLDOWN (one
    cooldown for all kids: a negative cache that made-up kids cannot get around), and after a
    failed fetch not fetched again for FAILED_FETCH_BACKOFF. Keys that could be read once are
    used past their lifespan while fetches fail. Thread-safe (the local stack's threads)."""

    def __init__(self, load: JwksLoader, clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # the last fetch that worked
        self._tried_at: float | None = None  # the last fetch, whatever came of it
        self._failed = False  # did the last fetch fail?
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        """The public key `kid` names; InvalidToken for a kid the pool has not, Unavailable
        when the set cannot be read."""
        with self._lock:
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < KEYS_LIFESPAN
            if not fresh or kid not in self._keys:
                self._maybe_fetch(now, needed=not self._keys)
            found = self._keys.get(kid)
        if found is None:
            raise InvalidToken("unknown signing key")
        return found

    def _maybe_fetch(self, now: float, *, needed: bool) -> None:
        wait = FAILED_FETCH_BACKOFF if self._failed else REFETCH_COOLDOWN
        if self._tried_at is not None and now - self._tried_at < wait:
            if needed:  # no keys at all, and a fetch failed a moment ago
                raise Unavailable("the sign-in keys could not be read; try again")
            return
        self._tried_at = now
        try:
            keys = _signing_keys(self._load())
        except _fetch_failures() as error:
            self._failed = True
            # Nothing wrong with the token: the keys could not be read. The client sends it
            # again (503), rather than being told it is signed out.
            raise Unavailable("the sign-in keys could not be read; try again") from error
        self._failed = False
        self._keys, self._fetched_at = keys, now


def _signing_keys(data: Any) -> dict[str, Any]:
    import jwt

    if not isinstance(data, dict):
        raise ValueError("the JWKS endpoint did not answer a JSON object")
    return {
        k.key_id: k.key
        for k in jwt.PyJWKSet.from_dict(data).keys
        if k.key_id and k.public_key_use in ("sig", None)
    }


class Verified(NamedTuple):
    caller: Caller
    session_id: str | None
    email: str


@dataclass
class TokenVerifier:
    issuer: str
    client_id: str
    load_jwks: JwksLoader
    clock: Callable[[], float] = time.time
    key_clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._keys = PoolKeys(self.load_jwks, self.key_clock)

    def verify(self, token: str) -> Caller:
        """The caller a valid ID token names; InvalidToken if it is not one, Unavailable when
        the pool's keys cannot be read."""
        return self.verify_session(token).caller

    def verify_session(self, token: str) -> Verified:
        """The caller, the session the token belongs to (Cognito's `origin_jti`, kept
        through refreshes; None for a token that names none) and the account's email."""
        claims = self.claims(token)
        session_id, email = claims.get("origin_jti"), claims.get("email")
        return Verified(
            caller_of(claims),
            session_id if isinstance(session_id, str) else None,
            email if isinstance(email, str) else "",
        )

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid ID token of our pool; InvalidToken otherwise, Unavailable
        when the pool's keys cannot be read."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise InvalidToken("wrong algorithm")
            claims = jwt.decode(
                token,
                self._keys.key(str(header.get("kid", ""))),
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


def caller_of(claims: dict[str, Any]) -> Caller:
    """The caller an ID token's claims name; InvalidToken when they name no account."""
    user_id = claims.get("custom:userId")
    if not user_id:
        raise InvalidToken("no platform identity")
    # The role is the operator's grant (a Cognito group only an administrator adds to),
    # never the `custom:role` attribute that older accounts declared themselves.
    role = role_of_groups(claims.get("cognito:groups"))
    return Caller(str(user_id), role.value, Via.SESSION)


def issued_claims(token: str) -> dict[str, Any]:
    """The claims of an ID token Cognito has just issued to this function, in the answer to
    its own request over TLS (a sign-in). As OpenID Connect Core 1.0 (3.1.3.7, 6) allows for
    a token received straight from the token endpoint, TLS stands for the signature: it is
    not checked again. Never for a token a client sent (the authorizer verifies those)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidToken("not a JWT") from None
    if not isinstance(claims, dict):
        raise InvalidToken("not a JWT")
    return claims


def issued_caller(token: str) -> Caller:
    """The caller an ID token just issued by Cognito names (`issued_claims`)."""
    return caller_of(issued_claims(token))


def http_jwks(url: str) -> JwksLoader:
    """The key set fetched over HTTPS by PyJWT (no redirects, http(s) only; the URL comes
    from our own settings: Cognito's, or the local stack's endpoint)."""
    import jwt

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
