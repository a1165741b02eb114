"""Sign-up, login, profiles and Nightscout secrets."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from collections.abc import Callable
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

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A failed login takes at least this long, whether or not the email exists, so that its
# timing does not tell which (Cognito itself is set to answer alike: PreventUserExistenceErrors).
LOGIN_FAILURE_FLOOR_S = 0.4


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str


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
        token = identity.authenticate(email, password)
        caller = verify(token)
        if account_active is not None and not account_active(caller.user_id):
            raise Unauthorized("wrong email or password", code="login-failed")
    except Unauthorized:
        sleep(max(0.0, LOGIN_FAILURE_FLOOR_S - (clock() - started)))
        raise
    if record_role is not None:
        record_role(caller.user_id, caller.role)
    return Session(token, caller.user_id)


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


def sign_up_with_session(body: Any, repos: Repositories, now: datetime) -> tuple[Profile, str]:
    """Sign-up, then the new account's first session token (Tidepool's sign-up logs in)."""
    profile = sign_up(body, repos, now)
    return profile, repos.identity.authenticate(body["email"].strip().lower(), body["password"])


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


def tidepool_user(
    user_id: str, token: str, claims_of: Callable[[str], dict[str, Any]], repos: Repositories
) -> dict[str, Any]:
    """The signed-in user as Tidepool's shoreline answers it (`userid`, `username`, `emails`,
    `roles`, `termsAccepted`, `emailVerified`): the profile, and the email the token names."""
    # The token is one the authorizer (or the login just now) checked: its claims are read
    # with the same verifier.
    return tidepool.user(repos.accounts.profile(user_id), claims_of(token))
