"""`cgmSettings`: a CGM's configuration: its units and glucose alert thresholds."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks, glucose_fields
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.units import MMOLL, canonical_units

TYPE: Final = "cgmSettings"
FIELDS: Final = ("units", "transmitterId", "highAlerts", "lowAlerts", "rateOfChangeAlerts")
LEVEL_ALERTS: Final = ("highAlerts", "lowAlerts")  # each {enabled, level, snooze}
RATE_ALERTS: Final = ("fallRate", "riseRate")  # in rateOfChangeAlerts, each {enabled, rate}


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    units = glucose_fields.glucose_units(datum, "units", pointer, problems)
    checks.string(datum, "transmitterId", pointer, problems)
    for key in LEVEL_ALERTS:
        alert = checks.obj(datum, key, pointer, problems)
        if alert is not None:
            at = checks.child(pointer, key)
            checks.boolean(alert, "enabled", at, problems)
            glucose_fields.glucose(alert, "level", at, problems, units)
            checks.number(alert, "snooze", at, problems, 0, integer=True, unit="ms")
    rates = checks.obj(datum, "rateOfChangeAlerts", pointer, problems)
    if rates is not None:
        at = checks.child(pointer, "rateOfChangeAlerts")
        for key in RATE_ALERTS:
            alert = checks.obj(rates, key, at, problems)
            if alert is not None:
                checks.boolean(alert, "enabled", checks.child(at, key), problems)
                checks.number(alert, "rate", checks.child(at, key), problems)


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    units = canonical_units(out["units"])
    assert units is not None
    for key in LEVEL_ALERTS:
        if type(out.get(key)) is dict:
            out[key] = glucose_fields.convert_fields(out[key], ("level",), units)
    rates = out.get("rateOfChangeAlerts")
    if type(rates) is dict:
        rates = dict(rates)
        for key in RATE_ALERTS:
            if type(rates.get(key)) is dict:
                # A rate of change is glucose per minute: it converts like glucose.
                rates[key] = glucose_fields.convert_fields(rates[key], ("rate",), units)
        out["rateOfChangeAlerts"] = rates
    out["units"] = MMOLL
    return out
