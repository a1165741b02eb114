"""`cbg`: one continuous glucose monitor reading."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import common
from tidewater.domain.datums.common import Datum, Problems

TYPE: Final = "cbg"
SAMPLE_INTERVAL_MAX: Final = 86_400_000  # ms


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    common.validate_base(datum, pointer, problems)
    units = common.glucose_units(datum, "units", pointer, problems)
    common.glucose(datum, "value", pointer, problems, units, required=True)
    common.number(
        datum, "sampleInterval", pointer, problems, 0, SAMPLE_INTERVAL_MAX, integer=True, unit="ms"
    )


def normalize(datum: Datum) -> Datum:
    out = common.normalize_base(datum)
    common.convert_reading(out)
    common.integral(out, "sampleInterval")
    return out
