"""Normalisation: mmol/L by `v / 18.01559` unrounded, the reported unit kept for readings,
canonical UTC time, and only the client's own fields kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tidewater.domain.datums import normalize, validate_all

TIME = "2016-06-14T17:52:45.845Z"


def base(kind: str, **fields: Any) -> dict[str, Any]:
    datum: dict[str, Any] = {"type": kind, "deviceId": "Dev1", "time": TIME}
    datum.update(fields)
    return datum


def normalized(datum: dict[str, Any]) -> dict[str, Any]:
    (valid,) = validate_all([datum])
    return normalize(valid)


def test_spec_wizard_values_are_bit_exact() -> None:
    wizard = base(
        "wizard",
        bgInput=32,
        bgTarget={"target": 85, "high": 145},
        carbInput=109,
        insulinCarbRatio=6,
        insulinOnBoard=20.032,
        insulinSensitivity=6,
        recommended={"carb": 18.25, "correction": 5.25, "net": 3.5},
        units="mg/dL",
    )
    out = normalized(wizard)
    assert out["bgInput"] == 1.7762393571345707
    assert out["bgTarget"] == {"target": 4.718135792388703, "high": 8.048584587016023}
    assert out["insulinSensitivity"] == 0.33304487946273204
    assert out["units"] == "mmol/L"
    assert out["carbInput"] == 109
    assert out["insulinCarbRatio"] == 6
    assert out["insulinOnBoard"] == 20.032
    assert out["recommended"] == {"carb": 18.25, "correction": 5.25, "net": 3.5}


@pytest.mark.parametrize("units", ["mg/dL", "mg/dl"])
def test_cbg_in_mg_dl_is_stored_in_mmol_with_the_reported_reading(units: str) -> None:
    out = normalized(base("cbg", value=180, units=units))
    assert out["value"] == 180 / 18.01559
    assert out["units"] == "mmol/L"
    assert out["originalValue"] == 180
    assert out["originalUnits"] == "mg/dL"


@pytest.mark.parametrize("units", ["mmol/L", "mmol/l"])
def test_smbg_in_mmol_keeps_its_value(units: str) -> None:
    out = normalized(base("smbg", value=5.5, units=units))
    assert out["value"] == 5.5
    assert out["units"] == "mmol/L"
    assert out["originalValue"] == 5.5
    assert out["originalUnits"] == "mmol/L"


def test_spec_value_32_mg_dl() -> None:
    assert normalized(base("smbg", value=32, units="mg/dL"))["value"] == 1.7762393571345707


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2016-06-14T17:52:45.845Z", "2016-06-14T17:52:45.845Z"),
        ("2016-06-14T10:52:45.845-07:00", "2016-06-14T17:52:45.845Z"),
        ("2016-06-14T17:52:45Z", "2016-06-14T17:52:45.000Z"),
        ("2016-06-14T17:52:45.8456789Z", "2016-06-14T17:52:45.845Z"),
        ("2016-06-15T01:22:45.845+05:30", "2016-06-14T19:52:45.845Z"),
        ("2016-06-14t17:52:45.845z", "2016-06-14T17:52:45.845Z"),
        ("2016-12-31T23:30:00.000-01:00", "2017-01-01T00:30:00.000Z"),
    ],
)
def test_time_is_stored_in_canonical_utc(sent: str, stored: str) -> None:
    assert normalized(base("cbg", value=5, units="mmol/L", time=sent))["time"] == stored


def test_client_ids_underscored_and_server_owned_fields_are_dropped() -> None:
    sent = base(
        "cbg",
        value=5,
        units="mmol/L",
        id="client-id",
        _groupId="g",
        _active=True,
        _version=3,
        userId="someone-else",
        uploadId="their-upload",
        createdTime="2000-01-01T00:00:00.000Z",
        modifiedTime="2000-01-01T00:00:00.000Z",
        guid="4c2f3acc",
        payload={"raw": [1, 2]},
        deviceTime="2016-06-14T10:52:45",
        timezoneOffset=-420,
        clockDriftOffset=0,
    )
    out = normalized(sent)
    assert set(out) == {
        "type",
        "deviceId",
        "time",
        "value",
        "units",
        "originalValue",
        "originalUnits",
        "guid",
        "payload",
        "deviceTime",
        "timezoneOffset",
        "clockDriftOffset",
    }


def test_normalize_does_not_modify_its_input() -> None:
    sent = base(
        "wizard",
        units="mg/dL",
        bgInput=100,
        bgTarget={"low": 80, "high": 120},
        bolus=base("bolus", subType="normal", normal=1, _id="x"),
    )
    before = copy.deepcopy(sent)
    normalized(sent)
    assert sent == before


def test_embedded_bolus_is_normalised_too() -> None:
    inner = base("bolus", subType="normal", normal=1, time="2016-06-14T10:52:45-07:00", id="x")
    out = normalized(base("wizard", units="mmol/L", bolus=inner))
    assert out["bolus"]["time"] == "2016-06-14T17:52:45.000Z"
    assert "id" not in out["bolus"]


def test_integral_floats_become_integers() -> None:
    out = normalized(
        base("basal", deliveryType="scheduled", rate=1, duration=1800000.0, timezoneOffset=60.0)
    )
    assert out["duration"] == 1800000 and type(out["duration"]) is int
    assert out["timezoneOffset"] == 60 and type(out["timezoneOffset"]) is int


def test_calibration_value_is_stored_in_mmol() -> None:
    out = normalized(base("deviceEvent", subType="calibration", value=100, units="mg/dL"))
    assert out["value"] == 100 / 18.01559
    assert out["units"] == "mmol/L"


def test_calibration_without_a_value_is_kept_as_is() -> None:
    out = normalized(base("deviceEvent", subType="calibration", slope=1.1))
    assert "value" not in out and "units" not in out
    assert out["slope"] == 1.1


def test_embedded_status_is_normalised() -> None:
    status = base("deviceEvent", subType="status", status="suspended", _x=1)
    out = normalized(base("deviceEvent", subType="alarm", alarmType="no_insulin", status=status))
    assert out["status"] == {
        "type": "deviceEvent",
        "deviceId": "Dev1",
        "time": TIME,
        "subType": "status",
        "status": "suspended",
    }


def test_pump_settings_glucose_schedules_are_in_mmol() -> None:
    sent = base(
        "pumpSettings",
        units={"carb": "grams", "bg": "mg/dL"},
        bgTarget=[{"start": 0, "low": 90, "high": 180}],
        bgTargets={"Weekday": [{"start": 0, "target": 100, "range": 18}]},
        insulinSensitivity=[{"start": 0, "amount": 36}],
        insulinSensitivities={"Weekday": [{"start": 3600000, "amount": 45}]},
        carbRatio=[{"start": 0, "amount": 10}],
        basalSchedules={"Weekday": [{"start": 0, "rate": 0.75}]},
    )
    out = normalized(sent)
    assert out["units"] == {"carb": "grams", "bg": "mmol/L"}
    assert out["bgTarget"] == [{"start": 0, "low": 90 / 18.01559, "high": 180 / 18.01559}]
    assert out["bgTargets"] == {
        "Weekday": [{"start": 0, "target": 100 / 18.01559, "range": 18 / 18.01559}]
    }
    assert out["insulinSensitivity"] == [{"start": 0, "amount": 36 / 18.01559}]
    assert out["insulinSensitivities"] == {"Weekday": [{"start": 3600000, "amount": 45 / 18.01559}]}
    assert out["carbRatio"] == [{"start": 0, "amount": 10}]
    assert out["basalSchedules"] == {"Weekday": [{"start": 0, "rate": 0.75}]}
    assert sent["units"] == {"carb": "grams", "bg": "mg/dL"}


def test_cgm_settings_alert_levels_are_in_mmol() -> None:
    sent = base(
        "cgmSettings",
        units="mg/dL",
        highAlerts={"enabled": True, "level": 250, "snooze": 0},
        lowAlerts={"enabled": False, "level": 70},
        rateOfChangeAlerts={"fallRate": {"enabled": True, "rate": -3}},
    )
    out = normalized(sent)
    assert out["units"] == "mmol/L"
    assert out["highAlerts"] == {"enabled": True, "level": 250 / 18.01559, "snooze": 0}
    assert out["lowAlerts"] == {"enabled": False, "level": 70 / 18.01559}
    assert out["rateOfChangeAlerts"] == {"fallRate": {"enabled": True, "rate": -3 / 18.01559}}
