"""`cbg`: one continuous glucose monitor reading."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks, glucose_fields
from tidewater.domain.datums.checks import Datum, Problems

TYPE: Final = "cbg"
FIELDS: Final = ("value", "units", "sampleInterval", "trend")
SAMPLE_INTERVAL_MAX: Final = 86_400_000  # ms


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    units = glucose_fields.glucose_units(datum, "units", pointer, problems)
    glucose_fields.glucose(datum, "value", pointer, problems, units, required=True)
    checks.number(
        datum, "sampleInterval", pointer, problems, 0, SAMPLE_INTERVAL_MAX, integer=True, unit="ms"
    )


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    glucose_fields.convert_reading(out)
    base.integral(out, "sampleInterval")
    return out
