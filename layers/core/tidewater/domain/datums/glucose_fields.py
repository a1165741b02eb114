"""Glucose fields: the units and limits a value is checked against, and its conversion to
mmol/L (the unit every stored value uses; what the device reported is kept beside it)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from tidewater.domain.datums.checks import (
    VALUE_MISSING,
    VALUE_OUT_OF_RANGE,
    Datum,
    Problems,
    child,
    is_number,
    number,
    problem,
    string,
)
from tidewater.domain.units import MGDL, MMOLL, canonical_units, to_mmol

GLUCOSE_UNITS: Final = ("mg/dL", "mg/dl", "mmol/L", "mmol/l")
GLUCOSE_LIMITS: Final = {MGDL: (0.0, 1000.0), MMOLL: (0.0, 55.0)}


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
