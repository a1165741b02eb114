"""`wizard`: a bolus calculator event, embedding (or naming) the bolus it led to."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, bolus, checks, glucose_fields, linking
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.units import MMOLL, canonical_units

TYPE: Final = "wizard"
FIELDS: Final = (
    "units",
    "bgInput",
    "bgTarget",
    "bolus",
    "carbInput",
    "insulinCarbRatio",
    "insulinOnBoard",
    "insulinSensitivity",
    "recommended",
)
CARB_INPUT_MAX: Final = 1000.0  # grams
INSULIN_CARB_RATIO_MAX: Final = 250.0  # grams per unit
INSULIN_ON_BOARD_MAX: Final = 250.0  # units
# Recommended insulin, in units; a correction (and so the net) may be negative.
RECOMMENDED_LIMITS: Final = {
    "carb": (0.0, 100.0),
    "correction": (-100.0, 100.0),
    "net": (-100.0, 100.0),
}
GLUCOSE_FIELDS: Final = ("bgInput", "insulinSensitivity")


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    units = glucose_fields.glucose_units(datum, "units", pointer, problems)
    for key in GLUCOSE_FIELDS:
        glucose_fields.glucose(datum, key, pointer, problems, units)
    target = checks.obj(datum, "bgTarget", pointer, problems)
    if target is not None:
        glucose_fields.bg_target(target, checks.child(pointer, "bgTarget"), problems, units)
    checks.number(datum, "carbInput", pointer, problems, 0, CARB_INPUT_MAX, unit="g")
    checks.number(datum, "insulinCarbRatio", pointer, problems, 0, INSULIN_CARB_RATIO_MAX)
    checks.number(datum, "insulinOnBoard", pointer, problems, 0, INSULIN_ON_BOARD_MAX, unit="U")
    recommended = checks.obj(datum, "recommended", pointer, problems)
    if recommended is not None:
        at = checks.child(pointer, "recommended")
        for key, (low, high) in RECOMMENDED_LIMITS.items():
            checks.number(recommended, key, at, problems, low, high, unit="U")
    linking.validate_embedded(datum, pointer, problems, bolus.validate)


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    units = canonical_units(out["units"])
    assert units is not None
    for key in GLUCOSE_FIELDS:
        if key in out:
            out[key] = glucose_fields.mmol(out[key], units)
    if type(out.get("bgTarget")) is dict:
        out["bgTarget"] = glucose_fields.convert_fields(
            out["bgTarget"], glucose_fields.BG_TARGET_FIELDS, units
        )
    out["units"] = MMOLL
    if type(out.get("bolus")) is dict:
        out["bolus"] = bolus.normalize(out["bolus"])
    return out
