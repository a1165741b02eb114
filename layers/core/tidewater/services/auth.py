"""Sign-up, login, profiles and Nightscout secrets."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tidewater.domain import tidepool
from tidewater.domain.accounts import Profile
from tidewater.domain.errors import Conflict, InvalidData, Problem, Unauthorized
from tidewater.domain.identity import (
    MIN_NIGHTSCOUT_SECRET,
    PASSWORD_RULE,
    Action,
    Caller,
    Role,
    nightscout_digest,
)
from tidewater.domain.timeutil import format_utc
from tidewater.services.access import require
from tidewater.store.identity import CognitoIdentity, NewUser
from tidewater.store.repos import Repositories
from tidewater.store.sessions import seal, seal_key, unseal

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A failed login takes at least this long, whether or not the email exists, so that its
# timing does not tell which (Cognito itself is set to answer alike: PreventUserExistenceErrors).
LOGIN_FAILURE_FLOOR_S = 0.4


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str
    refresh_token: str = ""


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("HTTP Basic credentials (email:password) are required")
    try:
        email, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("HTTP Basic credentials (email:password) are required") from None
    if not sep or not email or not password:
        raise Unauthorized("HTTP Basic credentials (email:password) are required")
    return email.strip().lower(), password


def login(
    authorization: str | None,
    identity: CognitoIdentity,
    verify: Callable[[str], Caller],
    *,
    account_active: Callable[[str], bool] | None = None,
    record_role: Callable[[str, str], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Session:
    """A session for a correct email and password. With `account_active` (the HTTP route),
    an account being deleted answers as a wrong password does; with `record_role`, the
    account's profile is brought to the role the operator granted (its Cognito group, in
    the token), so that a grant or a revocation made in Cognito alone shows at the next login."""
    email, password = _basic_credentials(authorization)
    started = clock()
    try:
        signed_in = identity.sign_in(email, password)
        token = signed_in.id_token
        caller = verify(token)
        if account_active is not None and not account_active(caller.user_id):
            raise Unauthorized("wrong email or password", code="login-failed")
    except Unauthorized:
        sleep(max(0.0, LOGIN_FAILURE_FLOOR_S - (clock() - started)))
        raise
    if record_role is not None:
        record_role(caller.user_id, caller.role)
    return Session(token, caller.user_id, signed_in.refresh_token)


def _new_user_problems(body: Any) -> list[Problem]:
    if not isinstance(body, dict):
        return [Problem("", "type-not-valid", "invalid body", "the body must be a JSON object")]
    problems = []
    email = body.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email) or len(email) > 254:
        problems.append(
            Problem("/email", "value-not-valid", "invalid email", "an email address is required")
        )
    password = body.get("password")
    if not isinstance(password, str) or len(password) < 12:
        problems.append(
            Problem("/password", "password-too-weak", "password too weak", PASSWORD_RULE)
        )
    name = body.get("fullName")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        problems.append(
            Problem(
                "/fullName",
                "value-not-valid",
                "invalid name",
                "a full name of 1 to 256 characters is required",
            )
        )
    if "role" in body and body["role"] != Role.PATIENT.value:
        # Tidepool ignores a self-declared role; we say so: a client that asks to be a
        # clinician learns at once that it has to be granted.
        problems.append(
            Problem(
                "/role",
                "role-not-allowed",
                "role not allowed",
                "everyone signs up as a patient; an operator grants clinician and researcher",
            )
        )
    return problems


def sign_up(body: Any, repos: Repositories, now: datetime, user_id: str | None = None) -> Profile:
    """A new account: the Tidewater account (profile) and its Cognito user, or neither."""
    problems = _new_user_problems(body)
    if problems:
        raise InvalidData(problems)
    for _ in range(5):  # Tidepool-style ids are 10 hex: a collision is rare, and retried
        profile = Profile(
            user_id or secrets.token_hex(5),
            body["fullName"].strip(),
            Role.PATIENT.value,
            format_utc(now),
        )
        try:
            repos.accounts.create(profile)
            break
        except Conflict:
            if user_id:
                raise
    else:
        raise Conflict("could not allocate an account id", code="id-taken")
    try:
        repos.identity.create_user(
            NewUser(
                body["email"].strip().lower(),
                body["password"],
                profile.full_name,
                profile.user_id,
            )
        )
    except Exception:
        repos.accounts.delete(profile.user_id)  # no account without its credentials
        raise
    return profile


def sign_up_with_session(
    body: Any, repos: Repositories, now: datetime, claims_of: Callable[[str], dict[str, Any]]
) -> tuple[Profile, str]:
    """Sign-up, then the new account's first session (Tidepool's sign-up logs in)."""
    profile = sign_up(body, repos, now)
    signed_in = repos.identity.sign_in(body["email"].strip().lower(), body["password"])
    session = Session(signed_in.id_token, profile.user_id, signed_in.refresh_token)
    keep_session(session, claims_of, repos, now)
    return profile, session.token


# ---------------------------------------------------------------------- sessions
# Cognito's refresh tokens last this long (template.yaml: RefreshTokenValidity, in days).
SESSION_DAYS = 30


def keep_session(
    session: Session, claims_of: Callable[[str], dict[str, Any]], repos: Repositories, now: datetime
) -> None:
    """Keep what refreshes the session (store/sessions.py), under the ID token's session id."""
    session_id = claims_of(session.token).get("origin_jti")
    if not isinstance(session_id, str):
        return  # a token that names no session cannot be refreshed or ended: nothing to keep
    started = int(now.timestamp())
    # With no refresh token (an identity service that gives none), the session is still
    # open to the authorizer and ends at logout; it just cannot be refreshed.
    sealed = ""
    if session.refresh_token:
        key = seal_key(repos.secrets.platform_secret())
        sealed = seal(key, session_id, session.refresh_token)
    repos.sessions.open(
        session.user_id, session_id, sealed, started + SESSION_DAYS * 86_400, started
    )


def refresh_session(
    caller: Caller, token: str, claims: Mapping[str, Any], repos: Repositories
) -> str:
    """Tidepool's `GET /auth/login`: a new session token (a new hour) for a valid `token`
    (whose verified `claims` name its session) whose session is open; Unauthorized once the
    session was ended (logout, or Cognito's refresh token expired or was revoked)."""
    session_id = claims.get("origin_jti")
    if not isinstance(session_id, str):
        return token  # a token that names no session is good for its hour, no more
    sealed = repos.sessions.sealed(caller.user_id, session_id)
    if sealed is None:
        raise Unauthorized("the session has ended", code="session-ended")
    if not sealed:
        return token  # kept with no refresh token: good for its hour, no more
    refresh_token = unseal(seal_key(repos.secrets.platform_secret()), session_id, sealed)
    try:
        return repos.identity.refresh(refresh_token)
    except Unauthorized:
        repos.sessions.close(caller.user_id, session_id)
        raise


def end_session(claims: dict[str, Any], repos: Repositories) -> None:
    """Tidepool's logout, given the claims of the caller's valid session token (none for a
    token that is not valid: it has no session to end, and logout succeeds all the same):
    the session is ended (the authorizer refuses its tokens from now on, they can no longer
    be refreshed) and its refresh token revoked in Cognito."""
    session_id, user_id = claims.get("origin_jti"), claims.get("custom:userId")
    if not isinstance(session_id, str) or not isinstance(user_id, str):
        return
    sealed = repos.sessions.close(user_id, session_id)
    if sealed:
        refresh_token = unseal(seal_key(repos.secrets.platform_secret()), session_id, sealed)
        repos.identity.revoke(refresh_token)


def grant_role(email: Any, role: Any, repos: Repositories) -> str:
    """An operator's grant (`tidewater grant-role`; in AWS, the Cognito group alone, which
    the next login brings to the profile): `role` becomes the account's only role, patient
    taking any other away. Returns the account's id. The new role is in the tokens issued
    from now on; a token already issued keeps its role until it expires (an hour at most)."""
    problems = []
    if not isinstance(email, str) or not _EMAIL.match(email.strip()):
        problems.append(
            Problem("/email", "value-not-valid", "invalid email", "an email address is required")
        )
    if not isinstance(role, str) or role not in {r.value for r in Role}:
        problems.append(
            Problem(
                "/role",
                "value-not-valid",
                "invalid role",
                "role must be patient, clinician or researcher",
            )
        )
    if problems:
        raise InvalidData(problems)
    user_id = repos.identity.set_role(email.strip().lower(), Role(role))
    repos.accounts.set_role(user_id, role)
    return user_id


def profile(caller: Caller, user_id: str, repos: Repositories) -> Profile:
    require(caller, Action.READ, user_id, repos)
    return repos.accounts.profile(user_id)


def set_nightscout_secret(caller: Caller, user_id: str, body: Any, repos: Repositories) -> None:
    require(caller, Action.WRITE, user_id, repos)
    secret = body.get("secret") if isinstance(body, dict) else None
    if not isinstance(secret, str) or len(secret) < MIN_NIGHTSCOUT_SECRET:
        detail = f"a secret of at least {MIN_NIGHTSCOUT_SECRET} characters"
        raise InvalidData([Problem("/secret", "value-not-valid", "invalid secret", detail)])
    repos.accounts.set_nightscout_secret(user_id, nightscout_digest(secret))


def tidepool_user(user_id: str, claims: Mapping[str, Any], repos: Repositories) -> dict[str, Any]:
    """The signed-in user as Tidepool's shoreline answers it (`userid`, `username`, `emails`,
    `roles`, `termsAccepted`, `emailVerified`): the profile, and the email the session
    token's `claims` name (as the authorizer verified them, or as Cognito just issued them)."""
    return tidepool.user(repos.accounts.profile(user_id), claims)
