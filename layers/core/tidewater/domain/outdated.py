"""What makes a summary out of date, and which samples the summariser must read again.

A change to a user's glucose data (an upload with cbg/smbg in the summary window, a dataset
closed or deleted, an entry deleted) marks the account: `outdatedSince` (kept when already
set), the reasons, and the touched periods of the samples that changed. A period is an hour,
`cbg#2026-11-21T13`, or a whole day, `cbg#2026-11-21`, when one change touches more than
`MAX_HOURS` hours (a history upload). Both are string-set members, so that concurrent changes
merge in one atomic update and the summariser can remove exactly what it has read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from tidewater.domain.limits import MAX_AHEAD
from tidewater.domain.timeutil import format_utc

GLUCOSE_TYPES: Final = ("cbg", "smbg")
# Samples outside this window are stored but do not mark the summary outdated.
WINDOW_YEARS_BACK: Final = 2
# Nothing later is accepted (domain/datums/times.py): every stored sample is in the window.
WINDOW_AHEAD: Final = MAX_AHEAD

REASON_UPLOAD: Final = "upload"
REASON_DATASET_CLOSED: Final = "dataset-closed"
REASON_DATASET_DELETED: Final = "dataset-deleted"
REASON_DATA_DELETED: Final = "data-deleted"

# One change touching more hours than this is recorded by day: 2 years of history is then
# 731 days per type, not 17,544 hours.
MAX_HOURS: Final = 48
# The most periods an account keeps (~40 KB of its 400 KB item); past it the account is
# marked `touchedAll` instead, and the summariser recomputes everything once.
MAX_TOUCHED: Final = 2000
_HOUR_LENGTH: Final = len("2026-11-21T13")
_DAY_LENGTH: Final = len("2026-11-21")


def glucose_window(now: datetime) -> tuple[str, str]:
    """The (inclusive) times between which a new sample makes a summary outdated."""
    try:
        start = now.replace(year=now.year - WINDOW_YEARS_BACK)
    except ValueError:  # 29 February
        start = now.replace(year=now.year - WINDOW_YEARS_BACK, day=28)
    return format_utc(start), format_utc(now + WINDOW_AHEAD)


def touched_periods(samples: Iterable[tuple[str, str]], now: datetime) -> frozenset[str]:
    """The periods of changed glucose samples, given as (type, canonical UTC time).

    Other types, and samples outside the summary window (2 years back, 1 day ahead), touch
    nothing: they never count in a summary.
    """
    start, end = glucose_window(now)
    hours = {
        (kind, time[:_HOUR_LENGTH])
        for kind, time in samples
        if kind in GLUCOSE_TYPES and start <= time <= end
    }
    if len(hours) <= MAX_HOURS:
        return frozenset(f"{kind}#{hour}" for kind, hour in hours)
    return frozenset(f"{kind}#{hour[:_DAY_LENGTH]}" for kind, hour in hours)


def period_bounds(period: str) -> tuple[str, str, str]:
    """(type, first, last) canonical times a touched period covers, for the summariser."""
    kind, _, when = period.partition("#")
    if len(when) == _DAY_LENGTH:
        return kind, f"{when}T00:00:00.000Z", f"{when}T23:59:59.999Z"
    return kind, f"{when}:00:00.000Z", f"{when}:59:59.999Z"
