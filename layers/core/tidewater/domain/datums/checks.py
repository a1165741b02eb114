"""The validation toolkit every data type uses: JSON Pointers, problem codes, field checks.

Each check appends `Problem`s to a list and never raises, so that one pass over a request
reports every problem in it. Details name the field and its limits, never the value sent:
a glucose value in an error message is health data in a log.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any, Final, Protocol

from tidewater.domain.errors import InvalidData, Problem

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


class DatumType(Protocol):
    """What every module in this package provides: one data type each."""

    @property
    def TYPE(self) -> str: ...

    @property
    def FIELDS(self) -> tuple[str, ...]:
        """The type's own fields (the columns of its CSV in a person's export)."""
        ...

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


def required_boolean(body: object, key: str) -> bool:
    """`body[key]`, which must be true or false (a choice: consent, sharing); InvalidData
    at `/key` otherwise."""
    value = body.get(key) if isinstance(body, dict) else None
    if type(value) is not bool:
        raise InvalidData(errors=[Problem(f"/{key}", "value-not-valid", f"invalid {key}",
                                          f"`{key}` must be true or false")])  # fmt: skip
    return value


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
