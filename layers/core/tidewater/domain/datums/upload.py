"""`upload`: the record of one upload session: which device, which uploader, how timed."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks, times
from tidewater.domain.datums.checks import Datum, Problems

TYPE: Final = "upload"
FIELDS: Final = (
    "computerTime",
    "dataSetType",
    "deviceManufacturers",
    "deviceModel",
    "deviceSerialNumber",
    "deviceTags",
    "timeProcessing",
    "timezone",
    "version",
)
DEVICE_TAGS: Final = ("bgm", "cgm", "insulin-pump")
TIME_PROCESSING: Final = ("across-the-board-timezone", "none", "utc-bootstrapping")
DATA_SET_TYPES: Final = ("continuous", "normal")


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    for key in ("deviceModel", "deviceSerialNumber", "timezone"):
        checks.string(datum, key, pointer, problems)
    checks.string(datum, "version", pointer, problems, non_empty=True)
    checks.string(datum, "timeProcessing", pointer, problems, one_of=TIME_PROCESSING)
    checks.string(datum, "dataSetType", pointer, problems, one_of=DATA_SET_TYPES)
    computer_time = checks.string(datum, "computerTime", pointer, problems)
    if computer_time is not None and not times.valid_device_time(computer_time):
        checks.problem(
            problems,
            checks.child(pointer, "computerTime"),
            checks.VALUE_NOT_VALID,
            "`computerTime` must be a local time like 2016-06-14T10:52:45",
        )
    _strings(datum, "deviceManufacturers", pointer, problems, None)
    _strings(datum, "deviceTags", pointer, problems, DEVICE_TAGS)


def _strings(
    datum: Datum, key: str, pointer: str, problems: Problems, one_of: tuple[str, ...] | None
) -> None:
    """A non-empty array of non-empty strings (from `one_of` when given)."""
    values = checks.array(datum, key, pointer, problems)
    if values is None:
        return
    at = checks.child(pointer, key)
    if not values:
        checks.problem(problems, at, checks.VALUE_NOT_VALID, f"`{key}` must not be empty")
    for i, value in enumerate(values):
        if type(value) is not str:
            checks.problem(
                problems, checks.child(at, i), checks.TYPE_NOT_VALID, "each entry must be a string"
            )
        elif (one_of is not None and value not in one_of) or not value:
            allowed = "one of: " + ", ".join(one_of) if one_of else "a non-empty string"
            checks.problem(
                problems,
                checks.child(at, i),
                checks.VALUE_NOT_VALID,
                f"each entry of `{key}` must be {allowed}",
            )


def normalize(datum: Datum) -> Datum:
    return base.normalize_base(datum)
