"""Deleting an account: the person removed from every table, bucket and the user pool.

A deletion is first recorded, in the same transaction that marks the account `deleting`:
from then on the authorizer and login treat the account as unknown, and the summariser
leaves it alone. Then every step runs, each idempotent, access first (the sign-in, the
Nightscout secret, clinic memberships and share codes), then the data. The donor's rows in
published slices go by the withdrawal path: the consent is erased and a withdrawal queued
for the export function, the only one that may read the slice -> donor mapping. The record
is deleted last, by a pass that finds nothing left, once the export has applied the
withdrawal and no request or summariser that started before the deletion can still be
writing (GRACE). A deletion that stops halfway is resumed by the ResumeDeletions schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tidewater.domain.errors import Forbidden, InvalidData, Problem, Unauthorized
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc, parse_rfc3339
from tidewater.observability import logger, metrics
from tidewater.services.auth import LOGIN_FAILURE_FLOOR_S
from tidewater.store.erasures import Erasure
from tidewater.store.repos import Repositories

# Longer than any request (API Gateway's 29 s), summariser lease (60 s) or poll of a
# followed site (the poll function's 60 s timeout) that started before the account was
# marked: after it, nothing can write the person's data again.
GRACE: Final = timedelta(minutes=2)
DELETING: Final = "deleting"
DELETED: Final = "deleted"

TimeLeft = Callable[[], bool]


@dataclass
class ResumeResult:
    pending: int = 0
    deleted: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def delete_account(
    caller: Caller,
    user_id: str,
    body: Any,
    email: str,
    repos: Repositories,
    now: datetime,
    time_left: TimeLeft = lambda: True,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The owner deletes their account (`email`, from their verified session token), giving
    their password again. The deletion is
    recorded before anything is deleted, then carried as far as `time_left` allows: the
    answer is `deleted`, or `deleting` when the rest is left to the schedule."""
    if caller.via is not Via.SESSION or caller.user_id != user_id:
        raise Forbidden("only the account's owner may delete it")
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(password, str) or not password:
        raise InvalidData([Problem("/password", "value-not-valid", "password required",
                                   "give the account's password again to delete it")])  # fmt: skip
    started = time.monotonic()
    try:
        repos.identity.authenticate(email, password)
    except Unauthorized:
        sleep(max(0.0, LOGIN_FAILURE_FLOOR_S - (time.monotonic() - started)))
        raise Forbidden("the password is not right", code="password-not-valid") from None
    repos.erasures.begin(user_id, email, format_utc(now))
    metrics.add_metric(name="AccountDeletionsRequested", unit="Count", value=1)
    try:
        return resume(user_id, repos, now, time_left)
    except Exception as error:  # recorded: the schedule carries it on, the account is unusable
        logger.warning("account deletion stopped, to be resumed", error_type=type(error).__name__)
        return DELETING


def resume_pending(repos: Repositories, now: datetime, time_left: TimeLeft) -> ResumeResult:
    """Carry on every recorded deletion (the ResumeDeletions schedule)."""
    result = ResumeResult()
    for erasure in repos.erasures.pending():
        if not time_left():
            result.pending += 1
            continue
        try:
            done = _resume(erasure, repos, now, time_left) == DELETED
        except Exception as error:  # one failing deletion never blocks the others
            result.failed += 1
            logger.warning("account deletion failed, to be resumed",
                           error_type=type(error).__name__)  # fmt: skip
            continue
        result.deleted += done
        result.pending += not done
    logger.info("account deletions resumed", extra=result.as_dict())
    return result


def resume(user_id: str, repos: Repositories, now: datetime, time_left: TimeLeft) -> str:
    erasure = repos.erasures.get(user_id)
    return DELETED if erasure is None else _resume(erasure, repos, now, time_left)


def _resume(erasure: Erasure, repos: Repositories, now: datetime, time_left: TimeLeft) -> str:
    user_id = erasure.user_id
    found = 0
    if erasure.email:
        repos.identity.delete_user(erasure.email)
        repos.erasures.forget_email(user_id)
    for session_id in repos.sessions.of(user_id):  # sealed refresh tokens, gone with them
        found += repos.sessions.close(user_id, session_id) is not None
    found += repos.sources.unlink(user_id)  # the followed site and its sealed token
    digest, clinic_ids = repos.accounts.erasure_facts(user_id)
    if digest:
        found += repos.accounts.delete_nightscout_secret(user_id, digest)
    found += repos.clinics.forget_member(user_id, clinic_ids)
    found += repos.donations.erase_donor(user_id, format_utc(now))
    found += repos.population.unshare(user_id)
    deleted, complete = repos.datums.delete_user(user_id, time_left)
    found += deleted
    if not complete:
        return DELETING
    found += repos.datasets.delete_user(user_id)
    found += repos.buckets.delete_user(user_id)
    settled = now >= parse_rfc3339(erasure.requested_time) + GRACE
    if found or not settled or repos.donations.withdrawal_pending(user_id):
        return DELETING  # a later pass (the schedule) finds nothing left, and finishes
    repos.accounts.delete(user_id)
    repos.erasures.finish(user_id)
    metrics.add_metric(name="AccountsDeleted", unit="Count", value=1)
    return DELETED
