"""`deviceEvent`: something the device did or reported (an alarm, a prime, a suspension...)."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks, glucose_fields, linking
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.units import MMOLL, canonical_units

TYPE: Final = "deviceEvent"
FIELDS: Final = (
    "subType",
    "alarmType",
    "status",
    "reason",
    "duration",
    "expectedDuration",
    "value",
    "units",
    "primeTarget",
    "volume",
    "change",
    "overrideType",
)
# The Tidepool platform's set.
SUBTYPES: Final = (
    "alarm",
    "calibration",
    "deviceParameter",
    "flush",
    "prime",
    "pumpSettingsOverride",
    "reservoirChange",
    "status",
    "timeChange",
    "confidential",
    "zen",
)
ALARM_TYPES: Final = (
    "auto_off",
    "low_insulin",
    "low_power",
    "no_delivery",
    "no_insulin",
    "no_power",
    "occlusion",
    "other",
    "over_limit",
)
STATUS_NAMES: Final = ("suspended", "resumed")
PRIME_TARGETS: Final = ("cannula", "tubing")
PRIME_VOLUME_MAX: Final = {"cannula": 10.0, "tubing": 100.0}  # units of insulin
OVERRIDE_DURATION_MAX: Final = 604_800_000  # ms


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    sub_type = checks.string(datum, "subType", pointer, problems, required=True, one_of=SUBTYPES)
    if sub_type == "alarm":
        checks.string(datum, "alarmType", pointer, problems, required=True, one_of=ALARM_TYPES)
    elif sub_type == "status":
        checks.string(datum, "status", pointer, problems, required=True, one_of=STATUS_NAMES)
        duration = checks.number(datum, "duration", pointer, problems, 0, integer=True, unit="ms")
        expected = checks.number(datum, "expectedDuration", pointer, problems, 0, integer=True)
        if duration is not None and expected is not None and expected < duration:
            checks.problem(
                problems,
                checks.child(pointer, "expectedDuration"),
                checks.VALUE_OUT_OF_RANGE,
                "`expectedDuration` must be at least `duration`",
            )
        checks.obj(datum, "reason", pointer, problems)
    elif sub_type == "calibration":
        # Nightscout calibrations carry slope/intercept/scale and no glucose value.
        units = glucose_fields.glucose_units(
            datum, "units", pointer, problems, required="value" in datum
        )
        glucose_fields.glucose(datum, "value", pointer, problems, units)
    elif sub_type == "prime":
        target = checks.string(
            datum, "primeTarget", pointer, problems, required=True, one_of=PRIME_TARGETS
        )
        high = PRIME_VOLUME_MAX.get(target or "", PRIME_VOLUME_MAX["tubing"])
        checks.number(datum, "volume", pointer, problems, 0, high, unit="U")
    elif sub_type == "timeChange":
        checks.obj(datum, "change", pointer, problems)
    elif sub_type == "pumpSettingsOverride":
        checks.number(
            datum, "duration", pointer, problems, 0, OVERRIDE_DURATION_MAX, integer=True, unit="ms"
        )
    linking.validate_embedded(datum, pointer, problems, validate)


def normalize(datum: Datum) -> Datum:
    out = base.normalize_base(datum)
    base.integral(out, "duration", "expectedDuration")
    if out["subType"] == "calibration" and out.get("units") is not None:
        units = canonical_units(out["units"])
        assert units is not None
        if "value" in out:
            out["value"] = glucose_fields.mmol(out["value"], units)
        out["units"] = MMOLL
    if type(out.get("status")) is dict:
        out["status"] = normalize(out["status"])
    return out
