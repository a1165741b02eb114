"""`basal`: background insulin delivered at a rate for a duration."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks
from tidewater.domain.datums.checks import Datum, Problems

TYPE: Final = "basal"
FIELDS: Final = (
    "deliveryType",
    "rate",
    "percent",
    "duration",
    "expectedDuration",
    "scheduleName",
    "suppressed",
)
DELIVERY_TYPES: Final = ("scheduled", "temp", "suspend", "automated")
RATE_MAX: Final = 100.0  # U/h
PERCENT_MAX: Final = 10.0  # a temp basal's fraction of the scheduled rate (1 = 100 %)
DURATION_MAX: Final = 604_800_000  # ms: one week
# A suspended pump delivers nothing, so `rate` is required of every other deliveryType.
RATE_REQUIRED: Final = frozenset({"scheduled", "temp", "automated"})
SUPPRESSED_DEPTH_MAX: Final = 5


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    delivery_type = checks.string(
        datum, "deliveryType", pointer, problems, required=True, one_of=DELIVERY_TYPES
    )
    checks.number(
        datum,
        "rate",
        pointer,
        problems,
        0,
        RATE_MAX,
        required=delivery_type in RATE_REQUIRED,
        unit="U/h",
    )
    checks.number(datum, "percent", pointer, problems, 0, PERCENT_MAX)
    duration = checks.number(
        datum,
        "duration",
        pointer,
        problems,
        0,
        DURATION_MAX,
        required=True,
        integer=True,
        unit="ms",
    )
    checks.at_least(
        datum,
        "expectedDuration",
        pointer,
        problems,
        DURATION_MAX,
        "duration",
        duration,
        integer=True,
        unit="ms",
    )
    checks.string(datum, "scheduleName", pointer, problems)
    _suppressed(datum, pointer, problems, SUPPRESSED_DEPTH_MAX)


def _suppressed(datum: Datum, pointer: str, problems: Problems, depth: int) -> None:
    """The basal a temp or suspend replaced; it may itself have replaced another."""
    suppressed = checks.obj(datum, "suppressed", pointer, problems)
    if suppressed is None:
        return
    at = checks.child(pointer, "suppressed")
    if depth == 0:
        checks.problem(problems, at, checks.VALUE_NOT_VALID, "`suppressed` is nested too deeply")
        return
    checks.string(suppressed, "deliveryType", at, problems, one_of=DELIVERY_TYPES)
    checks.number(suppressed, "rate", at, problems, 0, RATE_MAX, unit="U/h")
    checks.number(suppressed, "percent", at, problems, 0, PERCENT_MAX)
    checks.string(suppressed, "scheduleName", at, problems)
    _suppressed(suppressed, at, problems, depth - 1)


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    base.integral(out, "duration", "expectedDuration")
    return out
