"""The fields every datum shares (`time`, `deviceId`, `deviceTime`, `timezoneOffset`, …):
their checks, and the normalisation every stored datum goes through."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums.checks import (
    TYPE_NOT_VALID,
    VALUE_MISSING,
    VALUE_NOT_VALID,
    Datum,
    Problems,
    child,
    number,
    problem,
    string,
)
from tidewater.domain.datums.times import canonical_time, valid_device_time

TIMEZONE_OFFSET_LIMIT: Final = 10080  # minutes: seven days either way
# The server owns these; a client's copy is dropped, never trusted.
SERVER_OWNED: Final = frozenset({"id", "userId", "uploadId", "createdTime", "modifiedTime"})


def validate_base(datum: Datum, pointer: str, problems: Problems) -> None:
    """The fields every datum shares: `time`, `deviceId`, `deviceTime`, `timezoneOffset`."""
    time = datum.get("time")
    if time is None:
        problem(problems, child(pointer, "time"), VALUE_MISSING, "`time` is required")
    elif type(time) is not str:
        problem(problems, child(pointer, "time"), TYPE_NOT_VALID, "`time` must be a string")
    elif canonical_time(time) is None:
        problem(
            problems,
            child(pointer, "time"),
            VALUE_NOT_VALID,
            "`time` must be an RFC 3339 time with a zone, like 2016-06-14T17:52:45.845Z",
        )
    string(datum, "deviceId", pointer, problems, required=True, non_empty=True)
    if "deviceTime" in datum:
        device_time = string(datum, "deviceTime", pointer, problems)
        if device_time is not None and not valid_device_time(device_time):
            problem(
                problems,
                child(pointer, "deviceTime"),
                VALUE_NOT_VALID,
                "`deviceTime` must be a local time like 2016-06-14T10:52:45",
            )
    if "timezoneOffset" in datum:
        number(
            datum,
            "timezoneOffset",
            pointer,
            problems,
            -TIMEZONE_OFFSET_LIMIT,
            TIMEZONE_OFFSET_LIMIT,
            integer=True,
            unit="minutes",
        )
    for key in ("clockDriftOffset", "conversionOffset"):
        if key in datum:
            number(datum, key, pointer, problems)


def client_fields(datum: Datum) -> Datum:
    """A copy without `id`, `_`-prefixed and server-owned fields; everything else is kept."""
    out = datum.copy()
    for key in datum:
        if key in SERVER_OWNED or key[:1] == "_":
            del out[key]
    return out


def normalize_base(datum: Datum) -> Datum:
    """A new dict: client-only fields, canonical `time`, integral offsets as ints."""
    out = client_fields(datum)
    time = canonical_time(out["time"])
    assert time is not None, "normalize() needs a validated datum"
    out["time"] = time
    offset = out.get("timezoneOffset")
    if type(offset) is float:
        out["timezoneOffset"] = int(offset)
    return out


def integral(out: Datum, *keys: str) -> None:
    """Integer fields sent as `3600000.0` are stored as `3600000`."""
    for key in keys:
        value = out.get(key)
        if type(value) is float:
            out[key] = int(value)
