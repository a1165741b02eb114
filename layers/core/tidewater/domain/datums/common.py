"""Field checks and normalisation shared by every data type.

Each check appends `Problem`s to a list and never raises, so that one pass over a request
reports every problem in it. Details name the field and its limits, never the value sent:
a glucose value in an error message is health data in a log.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, Protocol

from tidewater.domain.errors import InvalidData, Problem
from tidewater.domain.timeutil import format_utc, parse_rfc3339
from tidewater.domain.units import MGDL, MMOLL, canonical_units, to_mmol

Datum = dict[str, Any]
Problems = list[Problem]

VALUE_MISSING: Final = "value-missing"
VALUE_OUT_OF_RANGE: Final = "value-out-of-range"
VALUE_NOT_VALID: Final = "value-not-valid"
TYPE_NOT_VALID: Final = "type-not-valid"

_TITLES: Final = {
    VALUE_MISSING: "value missing",
    VALUE_OUT_OF_RANGE: "value out of range",
    VALUE_NOT_VALID: "value not valid",
    TYPE_NOT_VALID: "wrong type of value",
}

GLUCOSE_UNITS: Final = ("mg/dL", "mg/dl", "mmol/L", "mmol/l")
GLUCOSE_LIMITS: Final = {MGDL: (0.0, 1000.0), MMOLL: (0.0, 55.0)}
TIMEZONE_OFFSET_LIMIT: Final = 10080  # minutes: seven days either way
# The server owns these; a client's copy is dropped, never trusted.
SERVER_OWNED: Final = frozenset({"id", "userId", "uploadId", "createdTime", "modifiedTime"})

_DEVICE_TIME = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)"
)


class DatumType(Protocol):
    """What every module in this package provides: one data type each."""

    @property
    def TYPE(self) -> str: ...

    def validate(self, datum: Datum, pointer: str, problems: Problems) -> None: ...

    def normalize(self, datum: Datum) -> Datum: ...


def child(pointer: str, key: str | int) -> str:
    """The JSON Pointer of a member (RFC 6901: `~` and `/` escaped)."""
    if isinstance(key, int):
        return f"{pointer}/{key}"
    if "~" in key or "/" in key:
        key = key.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{key}"


def problem(problems: Problems, pointer: str, code: str, detail: str) -> None:
    problems.append(Problem(pointer=pointer, code=code, title=_TITLES[code], detail=detail))


def wrong_body(detail: str) -> InvalidData:
    """The whole body is of the wrong shape (an object where an array belongs, …)."""
    return InvalidData(
        errors=[
            Problem(pointer="", code=TYPE_NOT_VALID, title="wrong type of value", detail=detail)
        ]
    )


def num_str(x: float) -> str:
    """A limit as people write it: `1000`, not `1000.0`."""
    return str(int(x)) if float(x).is_integer() else repr(x)


def is_number(value: object) -> bool:
    """True for a finite JSON number; `True`/`False` are not numbers."""
    kind = type(value)
    if kind is int:
        return True
    return kind is float and math.isfinite(value)  # type: ignore[arg-type]


def is_integer(value: object) -> bool:
    kind = type(value)
    if kind is int:
        return True
    return kind is float and math.isfinite(value) and value.is_integer()  # type: ignore[attr-defined,arg-type]


def number(
    datum: Datum,
    key: str,
    pointer: str,
    problems: Problems,
    low: float | None = None,
    high: float | None = None,
    *,
    required: bool = False,
    integer: bool = False,
    unit: str = "",
) -> float | None:
    """Check an optional (or required) number against inclusive limits; the value if it passes."""
    value = datum.get(key)
    if value is None:
        if required:
            problem(problems, child(pointer, key), VALUE_MISSING, f"`{key}` is required")
        return None
    if not (is_integer(value) if integer else is_number(value)):
        kind = "an integer" if integer else "a number"
        problem(problems, child(pointer, key), TYPE_NOT_VALID, f"`{key}` must be {kind}")
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        problem(
            problems, child(pointer, key), VALUE_OUT_OF_RANGE, range_detail(key, low, high, unit)
        )
        return None
    return float(value)


def at_least(
    datum: Datum,
    key: str,
    pointer: str,
    problems: Problems,
    high: float,
    other: str,
    floor: float | None,
    *,
    integer: bool = False,
    unit: str = "",
) -> float | None:
    """An optional number in [0, high] that is also at least the field `other` (`floor`).

    The detail names the other field rather than its value, which may be health data.
    """
    value = number(datum, key, pointer, problems, 0, high, integer=integer, unit=unit)
    if value is not None and floor is not None and value < floor:
        problem(
            problems, child(pointer, key), VALUE_OUT_OF_RANGE, f"`{key}` must be at least `{other}`"
        )
        return None
    return value


def range_detail(key: str, low: float | None, high: float | None, unit: str = "") -> str:
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"`{key}` must be from {num_str(low)} to {num_str(high)}{suffix}"
    if low is not None:
        return f"`{key}` must be at least {num_str(low)}{suffix}"
    return f"`{key}` must be at most {num_str(high or 0.0)}{suffix}"


def string(
    datum: Datum,
    key: str,
    pointer: str,
    problems: Problems,
    *,
    required: bool = False,
    one_of: Collection[str] | None = None,
    non_empty: bool = False,
) -> str | None:
    value = datum.get(key)
    if value is None:
        if required:
            problem(problems, child(pointer, key), VALUE_MISSING, f"`{key}` is required")
        return None
    if type(value) is not str:
        problem(problems, child(pointer, key), TYPE_NOT_VALID, f"`{key}` must be a string")
        return None
    if one_of is not None and value not in one_of:
        allowed = ", ".join(one_of)
        problem(
            problems, child(pointer, key), VALUE_NOT_VALID, f"`{key}` must be one of: {allowed}"
        )
        return None
    if non_empty and not value:
        problem(problems, child(pointer, key), VALUE_NOT_VALID, f"`{key}` must not be empty")
        return None
    return value


def obj(
    datum: Datum, key: str, pointer: str, problems: Problems, *, required: bool = False
) -> Datum | None:
    value = datum.get(key)
    if value is None:
        if required:
            problem(problems, child(pointer, key), VALUE_MISSING, f"`{key}` is required")
        return None
    if type(value) is not dict:
        problem(problems, child(pointer, key), TYPE_NOT_VALID, f"`{key}` must be an object")
        return None
    return value


def array(
    datum: Datum, key: str, pointer: str, problems: Problems, *, required: bool = False
) -> list[Any] | None:
    value = datum.get(key)
    if value is None:
        if required:
            problem(problems, child(pointer, key), VALUE_MISSING, f"`{key}` is required")
        return None
    if type(value) is not list:
        problem(problems, child(pointer, key), TYPE_NOT_VALID, f"`{key}` must be an array")
        return None
    return value


def boolean(datum: Datum, key: str, pointer: str, problems: Problems) -> None:
    value = datum.get(key)
    if value is not None and type(value) is not bool:
        problem(problems, child(pointer, key), TYPE_NOT_VALID, f"`{key}` must be true or false")


def glucose_units(
    datum: Datum, key: str, pointer: str, problems: Problems, *, required: bool = True
) -> str | None:
    """The canonical spelling of a glucose unit field, or None (with a problem if it is bad)."""
    value = string(datum, key, pointer, problems, required=required, one_of=GLUCOSE_UNITS)
    return canonical_units(value) if value is not None else None


def glucose(
    datum: Datum,
    key: str,
    pointer: str,
    problems: Problems,
    units: str | None,
    *,
    required: bool = False,
) -> float | None:
    """A glucose value within the limits of its (canonical) unit; unknown unit: type check only."""
    if units is None:
        return number(datum, key, pointer, problems, required=required)
    low, high = GLUCOSE_LIMITS[units]
    return number(datum, key, pointer, problems, low, high, required=required, unit=units)


BG_TARGET_FIELDS: Final = ("target", "range", "low", "high")


def bg_target(target: Datum, pointer: str, problems: Problems, units: str | None) -> None:
    """A glucose target: `target` (with `range` or `high`), or `low` with `high`."""
    values = {key: glucose(target, key, pointer, problems, units) for key in BG_TARGET_FIELDS}
    if "target" not in target and "low" not in target:
        problem(problems, child(pointer, "target"), VALUE_MISSING, "`target` or `low` is required")
    elif "low" in target and "target" not in target and "high" not in target:
        problem(problems, child(pointer, "high"), VALUE_MISSING, "`high` is required with `low`")
    high = values["high"]
    for floor in ("low", "target"):
        floor_value = values[floor]
        if high is not None and floor_value is not None and high < floor_value:
            problem(
                problems,
                child(pointer, "high"),
                VALUE_OUT_OF_RANGE,
                f"`high` must be at least `{floor}`",
            )
            break


# Already canonical (what most clients send): no parse needed once the fields are in range.
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


def mmol(value: Any, units: str) -> Any:
    """A glucose value in mmol/L: `v / 18.01559` from mg/dL, unrounded; others untouched."""
    if is_number(value):
        return to_mmol(value, units)
    return value


def convert_fields(container: Datum, keys: Collection[str], units: str) -> Datum:
    """A copy of `container` with the glucose-bearing `keys` in mmol/L."""
    out = dict(container)
    for key in keys:
        if key in out:
            out[key] = mmol(out[key], units)
    return out


def convert_reading(out: Datum) -> None:
    """cbg/smbg: keep what the device reported (ranges are classified in that unit)."""
    units = canonical_units(out["units"])
    assert units is not None
    value = out["value"]
    out["originalValue"] = value
    out["originalUnits"] = units
    out["value"] = to_mmol(value, units)
    out["units"] = MMOLL


def each_entry(
    entries: list[Any],
    pointer: str,
    problems: Problems,
    check: Callable[[Datum, str, Problems], None],
) -> None:
    """Apply `check` to every element of an array of objects."""
    for i, entry in enumerate(entries):
        at = child(pointer, i)
        if type(entry) is not dict:
            problem(problems, at, TYPE_NOT_VALID, "each entry must be an object")
        else:
            check(entry, at, problems)
