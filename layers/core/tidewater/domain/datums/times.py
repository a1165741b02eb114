"""Times as clients send them: `time` (RFC 3339 with a zone) in its one canonical UTC form,
and `deviceTime` (a device's wall clock, no zone).

A datum dated more than `MAX_AHEAD` after the server's clock is refused (400
`value-out-of-range` at its `time`), as Tidepool refuses device times too far ahead: a device
clock set wrong, not data. Everything accepted is then inside the summary's window (its end
is the same `MAX_AHEAD`), so every stored sample marks the summary and the summary does not
depend on how the data was split into uploads.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from tidewater.domain.datums.checks import VALUE_OUT_OF_RANGE, Problems, child, problem
from tidewater.domain.limits import MAX_AHEAD
from tidewater.domain.timeutil import format_utc, parse_rfc3339

_DEVICE_TIME = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)"
)


_CANONICAL_TIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z"
)


def canonical_time(text: str) -> str | None:
    """`time` in the one canonical UTC form, or None when it is not RFC 3339 with a zone."""
    if _CANONICAL_TIME.fullmatch(text) and text[8:10] <= "28" and text[:4] != "0000":
        return text
    return _parsed_time(text)


@lru_cache(maxsize=4096)
def _parsed_time(text: str) -> str | None:
    # Cached because validation and normalisation ask for the same strings in turn.
    try:
        return format_utc(parse_rfc3339(text))
    except (ValueError, OverflowError):
        return None


def valid_device_time(text: str) -> bool:
    m = _DEVICE_TIME.fullmatch(text)
    if m is None or text[:4] == "0000":
        return False
    if text[8:10] <= "28":
        return True
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        datetime(year, month, day, hour, minute, second)  # a device's wall clock: no zone
    except ValueError:
        return False
    return True


def latest_accepted(now: datetime) -> str:
    """The latest canonical `time` an upload at `now` may carry."""
    return format_utc(now + MAX_AHEAD)


def check_not_ahead(datum: object, pointer: str, latest: str, problems: Problems) -> None:
    """A problem at `time` if the datum's (valid) time is after `latest`."""
    time = datum.get("time") if isinstance(datum, dict) else None
    canonical = canonical_time(time) if isinstance(time, str) else None
    if canonical is not None and canonical > latest:
        problem(
            problems,
            child(pointer, "time"),
            VALUE_OUT_OF_RANGE,
            f"`time` must not be later than {latest}, a day after the server's clock",
        )
