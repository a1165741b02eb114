"""`smbg`: one self-monitored (finger-stick) blood glucose reading."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import common
from tidewater.domain.datums.common import Datum, Problems

TYPE: Final = "smbg"
SUBTYPES: Final = ("manual", "linked", "scanned")


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    common.validate_base(datum, pointer, problems)
    units = common.glucose_units(datum, "units", pointer, problems)
    common.glucose(datum, "value", pointer, problems, units, required=True)
    common.string(datum, "subType", pointer, problems, one_of=SUBTYPES)


def normalize(datum: Datum) -> Datum:
    out = common.normalize_base(datum)
    common.convert_reading(out)
    return out
