"""Validation of uploads: Tidepool's limits at and just beyond their edges, every problem of a
whole upload at once, JSON Pointers to the offending field, and no values in the messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tidewater.domain.datums import validate_all
from tidewater.domain.errors import InvalidData

TIME = "2016-06-14T17:52:45.845Z"


def base(kind: str, **fields: Any) -> dict[str, Any]:
    datum: dict[str, Any] = {
        "type": kind,
        "deviceId": "DevId0987654321",
        "time": TIME,
        "deviceTime": "2016-06-14T10:52:45",
        "timezoneOffset": -420,
    }
    datum.update(fields)
    return datum


def cbg(**fields: Any) -> dict[str, Any]:
    return base("cbg", **{"value": 120, "units": "mg/dL", **fields})


def bolus(**fields: Any) -> dict[str, Any]:
    return base("bolus", **{"subType": "normal", "normal": 1, **fields})


def basal(**fields: Any) -> dict[str, Any]:
    return base(
        "basal", **{"deliveryType": "scheduled", "rate": 0.8, "duration": 3_600_000, **fields}
    )


def wizard(**fields: Any) -> dict[str, Any]:
    return base(
        "wizard",
        **{
            "units": "mg/dL",
            "bgInput": 32,
            "bgTarget": {"target": 85, "high": 145},
            "carbInput": 109,
            "insulinCarbRatio": 6,
            "insulinOnBoard": 20.032,
            "insulinSensitivity": 6,
            "recommended": {"carb": 18.25, "correction": 5.25, "net": 3.5},
            **fields,
        },
    )


def problems_of(datums: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidData) as caught:
        validate_all(datums)
    return [(p.pointer, p.code) for p in caught.value.errors]


def assert_valid(datums: list[dict[str, Any]]) -> None:
    assert validate_all(datums) is datums


# (datum, ok?) at and just beyond every limit; a bad one's problem is at `/0/<field>`.
LIMITS: list[tuple[str, dict[str, Any], str | None]] = [
    # glucose, mg/dL and mmol/L
    ("cbg value 0 mg/dL", cbg(value=0), None),
    ("cbg value 1000 mg/dL", cbg(value=1000), None),
    ("cbg value below 0", cbg(value=-0.001), "value"),
    ("cbg value above 1000 mg/dL", cbg(value=1000.001), "value"),
    ("cbg value 55 mmol/L", cbg(value=55, units="mmol/L"), None),
    ("cbg value above 55 mmol/L", cbg(value=55.001, units="mmol/L"), "value"),
    ("cbg value 55 mmol/l", cbg(value=55, units="mmol/l"), None),
    ("cbg value 1000 mg/dl", cbg(value=1000, units="mg/dl"), None),
    ("cbg value above 1000 mg/dl", cbg(value=1000.5, units="mg/dl"), "value"),
    ("smbg value 0", base("smbg", value=0, units="mmol/L"), None),
    ("smbg value below 0", base("smbg", value=-1, units="mmol/L"), "value"),
    ("smbg value above 55", base("smbg", value=56, units="mmol/L"), "value"),
    ("cbg units unknown", cbg(units="mmol"), "units"),
    ("cbg units wrong case", cbg(units="MG/DL"), "units"),
    ("cbg sampleInterval 0", cbg(sampleInterval=0), None),
    ("cbg sampleInterval a day", cbg(sampleInterval=86_400_000), None),
    ("cbg sampleInterval negative", cbg(sampleInterval=-1), "sampleInterval"),
    ("cbg sampleInterval over a day", cbg(sampleInterval=86_400_001), "sampleInterval"),
    # insulin
    ("bolus normal 0 with expectedNormal", bolus(normal=0, expectedNormal=1), None),
    ("bolus normal 100", bolus(normal=100), None),
    ("bolus normal negative", bolus(normal=-0.01), "normal"),
    ("bolus normal above 100", bolus(normal=100.01), "normal"),
    ("bolus expectedNormal 100", bolus(expectedNormal=100), None),
    ("bolus expectedNormal above 100", bolus(expectedNormal=100.01), "expectedNormal"),
    ("bolus expectedNormal below normal", bolus(normal=2, expectedNormal=1.5), "expectedNormal"),
    (
        "square extended 100",
        bolus(subType="square", normal=None, extended=100, duration=0),
        None,
    ),
    (
        "square extended above 100",
        bolus(subType="square", extended=100.01, duration=1000),
        "extended",
    ),
    (
        "square duration a day",
        bolus(subType="square", extended=1, duration=86_400_000),
        None,
    ),
    (
        "square duration over a day",
        bolus(subType="square", extended=1, duration=86_400_001),
        "duration",
    ),
    ("square duration negative", bolus(subType="square", extended=1, duration=-1), "duration"),
    (
        "square expectedExtended above 100",
        bolus(subType="square", extended=1, duration=5, expectedExtended=100.5),
        "expectedExtended",
    ),
    (
        "dual/square expectedDuration below duration",
        bolus(subType="dual/square", extended=1, duration=600, expectedDuration=599),
        "expectedDuration",
    ),
    ("automated bolus", bolus(subType="automated", normal=0.35), None),
    ("bolus subType unknown", bolus(subType="pen"), "subType"),
    ("basal rate 0", basal(rate=0), None),
    ("basal rate 100", basal(rate=100), None),
    ("basal rate negative", basal(rate=-0.01), "rate"),
    ("basal rate above 100", basal(rate=100.01), "rate"),
    ("basal duration 0", basal(duration=0), None),
    ("basal duration a week", basal(duration=604_800_000), None),
    ("basal duration negative", basal(duration=-1), "duration"),
    ("basal duration over a week", basal(duration=604_800_001), "duration"),
    ("basal duration not whole", basal(duration=1.5), "duration"),
    ("basal duration integral float", basal(duration=3_600_000.0), None),
    ("temp basal percent 10", basal(deliveryType="temp", percent=10), None),
    ("temp basal percent above 10", basal(deliveryType="temp", percent=10.01), "percent"),
    ("suspend basal without rate", basal(deliveryType="suspend", rate=None), None),
    ("automated basal", basal(deliveryType="automated", rate=1.1), None),
    ("basal deliveryType unknown", basal(deliveryType="injected"), "deliveryType"),
    # wizard
    ("wizard carbInput 1000", wizard(carbInput=1000), None),
    ("wizard carbInput above 1000", wizard(carbInput=1000.5), "carbInput"),
    ("wizard carbInput negative", wizard(carbInput=-1), "carbInput"),
    ("wizard insulinCarbRatio 250", wizard(insulinCarbRatio=250), None),
    ("wizard insulinCarbRatio above 250", wizard(insulinCarbRatio=250.5), "insulinCarbRatio"),
    ("wizard insulinOnBoard 250", wizard(insulinOnBoard=250), None),
    ("wizard insulinOnBoard above 250", wizard(insulinOnBoard=250.01), "insulinOnBoard"),
    ("wizard bgInput 1000 mg/dL", wizard(bgInput=1000), None),
    ("wizard bgInput above 1000 mg/dL", wizard(bgInput=1001), "bgInput"),
    (
        "wizard bgInput above 55 mmol/L",
        wizard(units="mmol/L", bgInput=55.1, bgTarget={"target": 5.5}, insulinSensitivity=2.5),
        "bgInput",
    ),
    (
        "wizard insulinSensitivity above 1000 mg/dL",
        wizard(insulinSensitivity=1000.1),
        "insulinSensitivity",
    ),
    ("wizard units missing", wizard(units=None), "units"),
    # time fields, on any type
    ("time with offset", cbg(time="2016-06-14T10:52:45.845-07:00"), None),
    ("time without fraction", cbg(time="2016-06-14T17:52:45Z"), None),
    ("time 29 February of a leap year", cbg(time="2016-02-29T00:00:00.000Z"), None),
    ("time 29 February of another year", cbg(time="2015-02-29T00:00:00.000Z"), "time"),
    ("time without zone", cbg(time="2016-06-14T17:52:45"), "time"),
    ("time not a time", cbg(time="yesterday"), "time"),
    ("time hour 24", cbg(time="2016-06-14T24:00:00.000Z"), "time"),
    ("time missing", cbg(time=None), "time"),
    ("time a number", cbg(time=1465926765845), "time"),
    ("deviceTime ok", cbg(deviceTime="2016-12-31T23:59:59"), None),
    ("deviceTime with zone", cbg(deviceTime="2016-06-14T10:52:45Z"), "deviceTime"),
    ("deviceTime 31 April", cbg(deviceTime="2016-04-31T10:52:45"), "deviceTime"),
    ("deviceTime with fraction", cbg(deviceTime="2016-06-14T10:52:45.000"), "deviceTime"),
    ("timezoneOffset -10080", cbg(timezoneOffset=-10080), None),
    ("timezoneOffset 10080", cbg(timezoneOffset=10080), None),
    ("timezoneOffset below -10080", cbg(timezoneOffset=-10081), "timezoneOffset"),
    ("timezoneOffset above 10080", cbg(timezoneOffset=10081), "timezoneOffset"),
    ("timezoneOffset not whole", cbg(timezoneOffset=90.5), "timezoneOffset"),
    ("deviceId empty", cbg(deviceId=""), "deviceId"),
    ("deviceId missing", cbg(deviceId=None), "deviceId"),
    ("deviceId a number", cbg(deviceId=12345), "deviceId"),
    # other types
    (
        "deviceEvent alarm",
        base("deviceEvent", subType="alarm", alarmType="occlusion"),
        None,
    ),
    (
        "deviceEvent alarmType unknown",
        base("deviceEvent", subType="alarm", alarmType="fire"),
        "alarmType",
    ),
    ("deviceEvent subType unknown", base("deviceEvent", subType="party"), "subType"),
    (
        "deviceEvent status resumed",
        base("deviceEvent", subType="status", status="resumed", reason={"resumed": "manual"}),
        None,
    ),
    (
        "deviceEvent status unknown",
        base("deviceEvent", subType="status", status="paused"),
        "status",
    ),
    (
        "deviceEvent calibration 1000 mg/dL",
        base("deviceEvent", subType="calibration", value=1000, units="mg/dL"),
        None,
    ),
    (
        "deviceEvent calibration above 1000 mg/dL",
        base("deviceEvent", subType="calibration", value=1000.1, units="mg/dL"),
        "value",
    ),
    (
        "deviceEvent calibration value without units",
        base("deviceEvent", subType="calibration", value=100),
        "units",
    ),
    (
        "deviceEvent prime cannula 10",
        base("deviceEvent", subType="prime", primeTarget="cannula", volume=10),
        None,
    ),
    (
        "deviceEvent prime cannula above 10",
        base("deviceEvent", subType="prime", primeTarget="cannula", volume=10.1),
        "volume",
    ),
    (
        "deviceEvent prime tubing 100",
        base("deviceEvent", subType="prime", primeTarget="tubing", volume=100),
        None,
    ),
    ("deviceEvent reservoirChange", base("deviceEvent", subType="reservoirChange"), None),
    (
        "deviceEvent timeChange",
        base("deviceEvent", subType="timeChange", change={"from": "a", "to": "b"}),
        None,
    ),
    (
        "food carbohydrate 1000 g",
        base("food", nutrition={"carbohydrate": {"net": 1000, "units": "grams"}}),
        None,
    ),
    (
        "food carbohydrate above 1000 g",
        base("food", nutrition={"carbohydrate": {"net": 1000.5, "units": "grams"}}),
        "nutrition/carbohydrate/net",
    ),
    (
        "cgmSettings",
        base("cgmSettings", units="mg/dL", highAlerts={"enabled": True, "level": 250}),
        None,
    ),
    (
        "cgmSettings high alert above 1000 mg/dL",
        base("cgmSettings", units="mg/dL", highAlerts={"enabled": True, "level": 1001}),
        "highAlerts/level",
    ),
    ("cgmSettings units missing", base("cgmSettings"), "units"),
    ("upload", base("upload", deviceTags=["cgm", "insulin-pump"], version="2.1.0"), None),
    ("upload deviceTags unknown", base("upload", deviceTags=["toaster"]), "deviceTags/0"),
]


@pytest.mark.parametrize(
    ("datum", "field"), [(d, f) for _, d, f in LIMITS], ids=[n for n, _, _ in LIMITS]
)
def test_limits_at_and_beyond_their_edges(datum: dict[str, Any], field: str | None) -> None:
    datum = {k: v for k, v in datum.items() if v is not None}
    if field is None:
        assert_valid([datum])
    else:
        pointers = [pointer for pointer, _ in problems_of([datum])]
        assert pointers == [f"/0/{field}"]


@pytest.mark.parametrize(
    ("datum", "pointer", "code"),
    [
        (cbg(value=True), "/0/value", "type-not-valid"),
        (cbg(value=False), "/0/value", "type-not-valid"),
        (cbg(timezoneOffset=True), "/0/timezoneOffset", "type-not-valid"),
        (bolus(normal=True), "/0/normal", "type-not-valid"),
        (basal(duration=True), "/0/duration", "type-not-valid"),
        (wizard(recommended={"carb": True}), "/0/recommended/carb", "type-not-valid"),
        (cbg(value="120"), "/0/value", "type-not-valid"),
        (cbg(value=float("nan")), "/0/value", "type-not-valid"),
        (cbg(value=float("inf")), "/0/value", "type-not-valid"),
    ],
)
def test_booleans_and_other_non_numbers_are_rejected(
    datum: dict[str, Any], pointer: str, code: str
) -> None:
    assert problems_of([datum]) == [(pointer, code)]


def test_required_fields_missing_are_value_missing() -> None:
    assert problems_of([{"type": "cbg"}]) == [
        ("/0/time", "value-missing"),
        ("/0/deviceId", "value-missing"),
        ("/0/units", "value-missing"),
        ("/0/value", "value-missing"),
    ]


def test_unknown_or_missing_type_points_at_type() -> None:
    assert problems_of([cbg(), {"type": "cgm"}, {"value": 5}, {"type": 7}]) == [
        ("/1/type", "value-not-valid"),
        ("/2/type", "value-missing"),
        ("/3/type", "type-not-valid"),
    ]


def test_non_object_elements_are_problems_at_their_index() -> None:
    assert problems_of([1, "cbg", None, [cbg()], cbg()]) == [
        ("/0", "type-not-valid"),
        ("/1", "type-not-valid"),
        ("/2", "type-not-valid"),
        ("/3", "type-not-valid"),
    ]


def test_a_body_that_is_not_an_array_is_one_problem() -> None:
    assert problems_of(cbg()) == [("", "type-not-valid")]
    assert problems_of(None) == [("", "type-not-valid")]


def test_every_problem_of_the_whole_array_is_listed() -> None:
    datums = [
        cbg(),
        cbg(value=1200),
        bolus(normal=150, deviceTime="noon"),
        wizard(bgTarget={"target": 85, "high": 1001}, carbInput=-5),
        basal(rate=None, duration=None),
        cbg(),
        {"type": "smbg", "value": 5, "units": "mmol/L"},
    ]
    assert problems_of(datums) == [
        ("/1/value", "value-out-of-range"),
        ("/2/deviceTime", "value-not-valid"),
        ("/2/normal", "value-out-of-range"),
        ("/3/bgTarget/high", "value-out-of-range"),
        ("/3/carbInput", "value-out-of-range"),
        ("/4/rate", "value-missing"),
        ("/4/duration", "value-missing"),
        ("/6/time", "value-missing"),
        ("/6/deviceId", "value-missing"),
    ]


def test_embedded_bolus_is_validated_at_a_nested_pointer() -> None:
    inner = bolus(normal=101, deviceId="")
    assert problems_of([wizard(bolus=inner)]) == [
        ("/0/bolus/deviceId", "value-not-valid"),
        ("/0/bolus/normal", "value-out-of-range"),
    ]


def test_embedded_bolus_must_be_a_bolus() -> None:
    assert problems_of([wizard(bolus=cbg())]) == [("/0/bolus/type", "value-not-valid")]
    assert problems_of([wizard(bolus=42)]) == [("/0/bolus", "type-not-valid")]
    assert problems_of([wizard(bolus="")]) == [("/0/bolus", "value-not-valid")]


def test_embedded_status_is_a_status_device_event() -> None:
    alarm = base("deviceEvent", subType="alarm", alarmType="no_insulin")
    status = base("deviceEvent", subType="status", status="suspended")
    assert_valid([{**alarm, "status": status}, {**alarm, "status": "an-id"}])
    prime = base("deviceEvent", subType="prime", primeTarget="cannula")
    assert problems_of([{**alarm, "status": prime}]) == [("/0/status/subType", "value-not-valid")]
    assert problems_of([{**alarm, "status": {**status, "status": "paused"}}]) == [
        ("/0/status/status", "value-not-valid")
    ]


def test_bg_target_needs_a_target_or_a_low_and_a_high_at_least_the_low() -> None:
    assert_valid([wizard(bgTarget={"low": 80, "high": 120})])
    assert_valid([wizard(bgTarget={"target": 100, "range": 15})])
    assert problems_of([wizard(bgTarget={"high": 120})]) == [
        ("/0/bgTarget/target", "value-missing")
    ]
    assert problems_of([wizard(bgTarget={"low": 80})]) == [("/0/bgTarget/high", "value-missing")]
    assert problems_of([wizard(bgTarget={"low": 130, "high": 120})]) == [
        ("/0/bgTarget/high", "value-out-of-range")
    ]


def test_recommended_limits() -> None:
    ok = {"carb": 100, "correction": -100, "net": -100}
    assert_valid([wizard(recommended=ok)])
    bad = {"carb": 100.5, "correction": -100.5, "net": 100.5}
    assert problems_of([wizard(recommended=bad)]) == [
        ("/0/recommended/carb", "value-out-of-range"),
        ("/0/recommended/correction", "value-out-of-range"),
        ("/0/recommended/net", "value-out-of-range"),
    ]


def pump_settings(**fields: Any) -> dict[str, Any]:
    return base(
        "pumpSettings",
        **{
            "units": {"carb": "grams", "bg": "mg/dL"},
            "activeSchedule": "Standard",
            "basalSchedules": {"Standard": [{"start": 0, "rate": 0.8}]},
            "bgTarget": [{"start": 0, "low": 90, "high": 130}],
            "carbRatio": [{"start": 0, "amount": 10}],
            "insulinSensitivity": [{"start": 0, "amount": 40}],
            **fields,
        },
    )


def test_pump_settings_entries_have_nested_pointers() -> None:
    assert_valid([pump_settings()])
    datum = pump_settings(
        basalSchedules={"Standard": [{"start": 0, "rate": 101}], "Work/Gym": "x"},
        bgTargets={"A/B": [{"start": 0, "low": 90, "high": 1001}]},
        carbRatio=[{"start": 86_400_001, "amount": 10}, 7],
        insulinSensitivity=[{"start": 0, "amount": 1001}],
    )
    assert problems_of([datum]) == [
        ("/0/basalSchedules/Standard/0/rate", "value-out-of-range"),
        ("/0/basalSchedules/Work~1Gym", "type-not-valid"),
        ("/0/bgTargets/A~1B/0/high", "value-out-of-range"),
        ("/0/carbRatio/0/start", "value-out-of-range"),
        ("/0/carbRatio/1", "type-not-valid"),
        ("/0/insulinSensitivity/0/amount", "value-out-of-range"),
    ]


def test_pump_settings_need_bg_units() -> None:
    assert problems_of([pump_settings(units={"carb": "grams"})]) == [
        ("/0/units/bg", "value-missing")
    ]


def test_problem_details_never_echo_the_value() -> None:
    odd = 1234.5678
    datums = [
        cbg(value=odd),
        cbg(value=odd, units="mmol/L"),
        wizard(bgInput=odd, insulinSensitivity=odd, bgTarget={"low": 200, "high": 199.25}),
        bolus(normal=odd),
        bolus(normal=7.125, expectedNormal=6.875),
        basal(rate=odd),
        cbg(units="odd-units-1234"),
        cbg(time="2016-06-14T99:99:99Z"),
        {"type": "secret-type-1234"},
    ]
    with pytest.raises(InvalidData) as caught:
        validate_all(datums)
    assert len(caught.value.errors) == 11
    for p in caught.value.errors:
        text = p.title + " " + p.detail
        for secret in ("1234", "7.125", "6.875", "199.25", "200", "99:99", "odd-units", "secret"):
            assert secret not in text, (p.pointer, text)


def test_problem_details_name_the_field_and_its_limits() -> None:
    with pytest.raises(InvalidData) as caught:
        validate_all([cbg(value=1001)])
    (p,) = caught.value.errors
    assert p.title == "value out of range"
    assert "`value`" in p.detail and "0" in p.detail and "1000" in p.detail


def test_validation_does_not_modify_the_upload() -> None:
    datums = [wizard(bolus=bolus()), cbg(id="x", _groupId="g")]
    before = copy.deepcopy(datums)
    validate_all(datums)
    assert datums == before


def test_unknown_fields_and_server_owned_fields_do_not_fail_validation() -> None:
    assert_valid(
        [cbg(guid="g-1", payload={"any": ["thing"]}, id="client", _active=True, userId="u")]
    )
