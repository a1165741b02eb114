"""`bolus`: insulin delivered at once (normal), over time (square) or both (dual/square)."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks
from tidewater.domain.datums.checks import Datum, Problems

TYPE: Final = "bolus"
FIELDS: Final = (
    "subType",
    "normal",
    "expectedNormal",
    "extended",
    "expectedExtended",
    "duration",
    "expectedDuration",
)
SUBTYPES: Final = ("normal", "square", "dual/square", "automated")
AMOUNT_MAX: Final = 100.0  # units of insulin
DURATION_MAX: Final = 86_400_000  # ms: an extended bolus lasts at most a day
# The fields each subType must carry.
REQUIRED: Final = {
    "normal": ("normal",),
    "automated": ("normal",),
    "square": ("extended", "duration"),
    "dual/square": ("normal", "extended", "duration"),
}


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    sub_type = checks.string(datum, "subType", pointer, problems, required=True, one_of=SUBTYPES)
    required = REQUIRED.get(sub_type or "", ())
    # What was programmed (expected*) is at least what was delivered (it may be interrupted).
    for actual, expected in (("normal", "expectedNormal"), ("extended", "expectedExtended")):
        given = checks.number(
            datum, actual, pointer, problems, 0, AMOUNT_MAX, required=actual in required, unit="U"
        )
        checks.at_least(datum, expected, pointer, problems, AMOUNT_MAX, actual, given, unit="U")
    duration = checks.number(
        datum,
        "duration",
        pointer,
        problems,
        0,
        DURATION_MAX,
        required="duration" in required,
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


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    base.integral(out, "duration", "expectedDuration")
    return out
