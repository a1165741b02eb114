"""Reports drawn from a person's stored readings: the AGP of a period, the comparison of
their CGM sources."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tidewater.domain import agp, source_compare
from tidewater.domain.identity import Action, Caller
from tidewater.domain.limits import MAX_AHEAD
from tidewater.domain.timeutil import format_utc
from tidewater.services.access import require
from tidewater.store.repos import Repositories

EARLIEST = "1970-01-01T00:00:00.000Z"


def agp_report(
    caller: Caller, user_id: str, days: int | None, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """The AGP of the `days` (default 14) before the person's newest CGM reading, for the
    owner or a clinician of one of the patient's clinics (the summary's access). The period
    ends at the newest reading, as the summary's do, so that a patient who has not uploaded
    for a few days still has a full report; with no reading at all it ends now."""
    require(caller, Action.READ, user_id, repos)
    days = agp.DEFAULT_DAYS if days is None else days
    start, end = _period(user_id, days, repos, now)
    return agp.report(repos.datums.between(user_id, "cbg", start, end), start, end, days)


def sources_comparison(
    caller: Caller, user_id: str, days: int | None, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """How the person's CGM sources (device ids) agree over the `days` (default 14) before
    their newest CGM reading of any source, with the AGP's access and period."""
    require(caller, Action.READ, user_id, repos)
    days = source_compare.DEFAULT_DAYS if days is None else days
    start, end = _period(user_id, days, repos, now)
    datums = repos.datums.between(user_id, "cbg", start, end)
    return source_compare.report(datums, start, end, days)


def _period(user_id: str, days: int, repos: Repositories, now: datetime) -> tuple[str, str]:
    """(start, end] of `days` whole days ending at the newest CGM reading, else now."""
    newest = repos.datums.latest(user_id, "cbg", EARLIEST, format_utc(now + MAX_AHEAD), 1)
    end = str(newest[0]["time"]) if newest else format_utc(now)
    end_at = datetime.fromisoformat(end.replace("Z", "+00:00"))
    # (end - days, end]: `days` whole days, the reading at the start's instant left out.
    start = format_utc(end_at - timedelta(days=days) + timedelta(milliseconds=1))
    return start, end
