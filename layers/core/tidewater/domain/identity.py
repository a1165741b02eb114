"""Who is calling, and what they may do. Pure: the facts it needs are passed in."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"


# Roles an operator grants, each a Cognito group of the same name that only an administrator
# adds to (`tidewater grant-role` locally). Everyone else, and everyone at sign-up, is a patient.
GRANTED_ROLES = (Role.CLINICIAN, Role.RESEARCHER)


def role_of_groups(groups: object) -> Role:
    """The role a token's `cognito:groups` claim grants. An account in more than one role
    group (a grant replaces any other, so only a hand-made mistake does that) gets neither."""
    names = {g for g in groups if isinstance(g, str)} if isinstance(groups, list) else set()
    granted = [role for role in GRANTED_ROLES if role.value in names]
    return granted[0] if len(granted) == 1 else Role.PATIENT


PASSWORD_RULE = "at least 12 characters with upper and lower case, a digit and a symbol"  # noqa: S105


class Action(StrEnum):
    READ = "read"
    WRITE = "write"


class Via(StrEnum):
    SESSION = "session"  # a Cognito session token
    NIGHTSCOUT = "nightscout"  # a per-user Nightscout api-secret
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Caller:
    user_id: str = ""
    role: str = ""
    via: Via = Via.ANONYMOUS

    @property
    def authenticated(self) -> bool:
        return self.via is not Via.ANONYMOUS and bool(self.user_id)

    def to_context(self) -> dict[str, str]:
        """The authorizer's context (API Gateway passes strings through to the handler)."""
        return {"userId": self.user_id, "role": self.role, "via": self.via.value}

    @classmethod
    def from_context(cls, context: dict[str, object] | None) -> Caller:
        context = context or {}
        try:
            via = Via(str(context.get("via", "anonymous")))
        except ValueError:
            via = Via.ANONYMOUS
        return cls(str(context.get("userId", "")), str(context.get("role", "")), via)


ANONYMOUS = Caller()


def may(caller: Caller, action: Action, user_id: str, *, clinician_of_patient: bool) -> bool:
    """The access policy. A user reads and writes their own data; a clinician reads the
    data of patients of a clinic they are a member of; nobody else, nothing else."""
    if not caller.authenticated:
        return False
    if caller.user_id == user_id and caller.role != Role.RESEARCHER:
        return True
    return (
        action is Action.READ
        and caller.via is Via.SESSION
        and caller.role == Role.CLINICIAN
        and clinician_of_patient
    )


# --------------------------------------------------------------------- Nightscout secrets
_SHA1_HEX = re.compile(r"^[0-9a-fA-F]{40}$")
MIN_NIGHTSCOUT_SECRET = 12  # Nightscout's own minimum for API_SECRET


def nightscout_digest(api_secret: str) -> str:
    """What is stored for a Nightscout secret, from the `api-secret` header a client sends:
    the SHA-1 hex of the secret (either case) or, as nightscout-cli sends it, the secret.
    The SHA-1 itself is a bearer credential, so only a SHA-256 of it is ever stored."""
    sha1_hex = (
        api_secret.lower()
        if _SHA1_HEX.match(api_secret)
        else hashlib.sha1(api_secret.encode()).hexdigest()  # noqa: S324 - Nightscout's scheme
    )
    return hashlib.sha256(sha1_hex.encode()).hexdigest()
