"""`pumpSettings`: an insulin pump's schedules: basal rates, glucose targets, ratios."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tidewater.domain.datums import base, checks, glucose_fields
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.units import MMOLL, canonical_units

TYPE: Final = "pumpSettings"
FIELDS: Final = (
    "units",
    "activeSchedule",
    "basalSchedules",
    "bgTarget",
    "bgTargets",
    "carbRatio",
    "carbRatios",
    "insulinSensitivity",
    "insulinSensitivities",
)
CARB_UNITS: Final = ("grams", "exchanges")
START_MAX: Final = 86_400_000  # ms after midnight
RATE_MAX: Final = 100.0  # U/h
CARB_RATIO_MAX: Final = 250.0  # grams per unit
# One schedule (an array) and its named variant (an object of arrays) per setting.
SCHEDULES: Final = (
    ("bgTarget", "bgTargets"),
    ("carbRatio", "carbRatios"),
    ("insulinSensitivity", "insulinSensitivities"),
)

Check = Callable[[Datum, str, Problems], None]


def _start(entry: Datum, pointer: str, problems: Problems) -> None:
    checks.number(entry, "start", pointer, problems, 0, START_MAX, required=True, integer=True)


def _checks(units: str | None) -> dict[str, Check]:
    def basal(entry: Datum, pointer: str, problems: Problems) -> None:
        _start(entry, pointer, problems)
        checks.number(entry, "rate", pointer, problems, 0, RATE_MAX, required=True, unit="U/h")

    def bg_target(entry: Datum, pointer: str, problems: Problems) -> None:
        _start(entry, pointer, problems)
        glucose_fields.bg_target(entry, pointer, problems, units)

    def carb_ratio(entry: Datum, pointer: str, problems: Problems) -> None:
        _start(entry, pointer, problems)
        checks.number(entry, "amount", pointer, problems, 0, CARB_RATIO_MAX, required=True)

    def sensitivity(entry: Datum, pointer: str, problems: Problems) -> None:
        _start(entry, pointer, problems)
        glucose_fields.glucose(entry, "amount", pointer, problems, units, required=True)

    return {
        "basalSchedules": basal,
        "bgTarget": bg_target,
        "carbRatio": carb_ratio,
        "insulinSensitivity": sensitivity,
    }


def _named(datum: Datum, key: str, pointer: str, problems: Problems, check: Check) -> None:
    """An object of named schedules, each an array of entries."""
    schedules = checks.obj(datum, key, pointer, problems)
    if schedules is None:
        return
    at = checks.child(pointer, key)
    for name in schedules:
        entries = checks.array(schedules, name, at, problems, required=True)
        if entries is not None:
            checks.each_entry(entries, checks.child(at, name), problems, check)


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    units_obj = checks.obj(datum, "units", pointer, problems, required=True)
    units: str | None = None
    if units_obj is not None:
        at = checks.child(pointer, "units")
        units = glucose_fields.glucose_units(units_obj, "bg", at, problems)
        checks.string(units_obj, "carb", at, problems, one_of=CARB_UNITS)
    checks.string(datum, "activeSchedule", pointer, problems)
    by_schedule = _checks(units)
    _named(datum, "basalSchedules", pointer, problems, by_schedule["basalSchedules"])
    for single, named in SCHEDULES:
        entries = checks.array(datum, single, pointer, problems)
        if entries is not None:
            checks.each_entry(entries, checks.child(pointer, single), problems, by_schedule[single])
        _named(datum, named, pointer, problems, by_schedule[single])


def _convert(entries: Any, keys: tuple[str, ...], units: str) -> Any:
    if type(entries) is not list:
        return entries
    return [
        glucose_fields.convert_fields(e, keys, units) if type(e) is dict else e for e in entries
    ]


# The glucose-bearing fields of each glucose schedule's entries.
GLUCOSE_SCHEDULES: Final = (
    ("bgTarget", "bgTargets", glucose_fields.BG_TARGET_FIELDS),
    ("insulinSensitivity", "insulinSensitivities", ("amount",)),
)


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    units_obj = dict(out["units"])
    units = canonical_units(units_obj["bg"])
    assert units is not None
    for single, named, keys in GLUCOSE_SCHEDULES:
        if single in out:
            out[single] = _convert(out[single], keys, units)
        if type(out.get(named)) is dict:
            out[named] = {name: _convert(v, keys, units) for name, v in out[named].items()}
    units_obj["bg"] = MMOLL
    out["units"] = units_obj
    return out
