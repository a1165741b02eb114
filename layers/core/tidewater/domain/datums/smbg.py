"""`smbg`: one self-monitored (finger-stick) blood glucose reading."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks, glucose_fields
from tidewater.domain.datums.checks import Datum, Problems

TYPE: Final = "smbg"
FIELDS: Final = ("value", "units", "subType")
SUBTYPES: Final = ("manual", "linked", "scanned")


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    units = glucose_fields.glucose_units(datum, "units", pointer, problems)
    glucose_fields.glucose(datum, "value", pointer, problems, units, required=True)
    checks.string(datum, "subType", pointer, problems, one_of=SUBTYPES)


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    glucose_fields.convert_reading(out)
    return out
