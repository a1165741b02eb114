"""The one permission check every service calls before it touches a user's data."""

from __future__ import annotations

from tidewater.domain.errors import Forbidden, Unauthorized
from tidewater.domain.identity import Action, Caller, Role, Via, may
from tidewater.store.repos import Repositories


def can(caller: Caller, action: Action, user_id: str, repos: Repositories) -> bool:
    """May `caller` do `action` on the data of `user_id`? Looks up clinic membership only
    when the answer depends on it (a clinician reading someone else's data)."""
    shares = (
        action is Action.READ
        and caller.role == Role.CLINICIAN
        and caller.user_id != user_id
        and repos.clinics.clinician_of_patient(caller.user_id, user_id)
    )
    return may(caller, action, user_id, clinician_of_patient=shares)


def require(caller: Caller, action: Action, user_id: str, repos: Repositories) -> None:
    """`can`, or 403. (A caller may learn that an account id exists; ids are random and
    say nothing about their owner.)"""
    if not can(caller, action, user_id, repos):
        raise Forbidden(f"not allowed to {action.value} this user's data")


def require_session(caller: Caller) -> None:
    """Unauthorized unless the caller signed in (a session token, not an uploader's secret)."""
    if not caller.authenticated or caller.via is not Via.SESSION:
        raise Unauthorized("a valid session token is required")
