"""Data donation for people: a donor's consent, and the slices' manifest for researchers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tidewater.domain import donation
from tidewater.domain.datums.checks import required_boolean
from tidewater.domain.donation import Consent
from tidewater.domain.errors import Forbidden
from tidewater.domain.identity import Action, Caller, Role
from tidewater.domain.timeutil import format_utc
from tidewater.services.access import require, require_session
from tidewater.store.repos import Repositories


def consent(caller: Caller, user_id: str, repos: Repositories) -> Consent:
    # Owner only, even to read: whether someone donates is nobody else's business.
    require(caller, Action.WRITE, user_id, repos)
    return repos.donations.consent(user_id)


def set_consent(
    caller: Caller, user_id: str, body: Any, repos: Repositories, now: datetime
) -> Consent:
    """Give or withdraw consent. Giving it twice keeps the first time; withdrawing takes
    the donor out of every later slice at once and queues the rewrite of published ones."""
    require(caller, Action.WRITE, user_id, repos)
    if required_boolean(body, "consent"):
        return repos.donations.give_consent(user_id, format_utc(now))
    return repos.donations.withdraw_consent(user_id, format_utc(now))


def slices(caller: Caller, repos: Repositories) -> dict[str, Any]:
    """The manifest, each slice with a presigned GET URL (15 minutes). Researchers only,
    unless the deployment publishes donations to everyone (PublicDonations)."""
    if not repos.settings.public_donations:
        require_session(caller)
        if caller.role != Role.RESEARCHER:
            raise Forbidden("donated data is for researchers")
    document = repos.slices.manifest() or donation.manifest([], donation.NO_EXPORT_YET)
    for entry in document.get("slices", []):
        entry["url"] = repos.slices.presigned_get(str(entry["key"]))
    return document


def slices_response(caller: Caller, repos: Repositories) -> dict[str, Any]:
    """`{"data": manifest}`, and `{"meta": {"reason"}}` when it lists no slice: why (no
    window past the embargo yet, or every one withheld below k donors), never who."""
    document = slices(caller, repos)
    reason = document.pop("reason", None)
    return {"data": document, "meta": {"reason": reason}} if reason else {"data": document}
