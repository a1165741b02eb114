"""`cgmSettings`: a CGM's configuration: its units and glucose alert thresholds."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import common
from tidewater.domain.datums.common import Datum, Problems
from tidewater.domain.units import MMOLL, canonical_units

TYPE: Final = "cgmSettings"
LEVEL_ALERTS: Final = ("highAlerts", "lowAlerts")  # each {enabled, level, snooze}
RATE_ALERTS: Final = ("fallRate", "riseRate")  # in rateOfChangeAlerts, each {enabled, rate}


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    common.validate_base(datum, pointer, problems)
    units = common.glucose_units(datum, "units", pointer, problems)
    common.string(datum, "transmitterId", pointer, problems)
    for key in LEVEL_ALERTS:
        alert = common.obj(datum, key, pointer, problems)
        if alert is not None:
            at = common.child(pointer, key)
            common.boolean(alert, "enabled", at, problems)
            common.glucose(alert, "level", at, problems, units)
            common.number(alert, "snooze", at, problems, 0, integer=True, unit="ms")
    rates = common.obj(datum, "rateOfChangeAlerts", pointer, problems)
    if rates is not None:
        at = common.child(pointer, "rateOfChangeAlerts")
        for key in RATE_ALERTS:
            alert = common.obj(rates, key, at, problems)
            if alert is not None:
                common.boolean(alert, "enabled", common.child(at, key), problems)
                common.number(alert, "rate", common.child(at, key), problems)


def normalize(datum: Datum) -> Datum:
    out = common.normalize_base(datum)
    units = canonical_units(out["units"])
    assert units is not None
    for key in LEVEL_ALERTS:
        if type(out.get(key)) is dict:
            out[key] = common.convert_fields(out[key], ("level",), units)
    rates = out.get("rateOfChangeAlerts")
    if type(rates) is dict:
        rates = dict(rates)
        for key in RATE_ALERTS:
            if type(rates.get(key)) is dict:
                # A rate of change is glucose per minute: it converts like glucose.
                rates[key] = common.convert_fields(rates[key], ("rate",), units)
        out["rateOfChangeAlerts"] = rates
    out["units"] = MMOLL
    return out
