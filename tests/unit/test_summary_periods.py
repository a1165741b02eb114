"""Periods, previous periods and deltas, with numbers worked by hand from the spec."""

from __future__ import annotations

import math
import random
import statistics
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidewater.domain.summary import (
    BGM,
    CGM,
    HOUR_MS,
    Sample,
    build_buckets,
    compute_periods,
    glucose_management_indicator,
    summarize,
)
from tidewater.domain.summary.periods import round_half_away
from tidewater.domain.timeutil import format_utc, from_epoch_ms

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000
F = 18.01559
RANGE_NAMES = [
    "inVeryLow",
    "inLow",
    "inTarget",
    "inHigh",
    "inVeryHigh",
    "inExtremeHigh",
    "inAnyLow",
    "inAnyHigh",
]


def iso(ms: int) -> str:
    return format_utc(from_epoch_ms(ms))


def cbg(ms: int, value: float, units: str = "mg/dL", device: str = "DexG6-1") -> dict[str, Any]:
    return {"type": "cbg", "units": units, "value": value, "time": iso(ms), "deviceId": device}


def smbg(ms: int, value: float, units: str = "mg/dL") -> dict[str, Any]:
    return {"type": "smbg", "units": units, "value": value, "time": iso(ms), "deviceId": "m"}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def test_one_day_of_five_minute_cgm_at_5_mmol() -> None:
    datums = [cbg(T0 + i * 5 * MIN, 5.0, "mmol/L") for i in range(288)]
    periods = summarize(datums)["cgm"]["periods"]
    day = periods["1d"]
    assert day["total"]["records"] == 288
    assert day["total"]["minutes"] == 1440
    assert day["timeCGMUsePercent"] == 1.0
    assert day["total"]["percent"] == 1.0
    assert day["averageGlucoseMmol"] == 5.0
    assert day["glucoseManagementIndicator"] == 5.5  # 0.09148 x 36.23935 + 2.152 = 5.4673
    assert day["standardDeviation"] == 0.0
    assert day["inTarget"] == {"minutes": 1440, "records": 288, "percent": 1.0}
    assert (day["daysWithData"], day["hoursWithData"], day["averageDailyRecords"]) == (1, 24, 288)
    week = periods["7d"]
    assert week["timeCGMUsePercent"] == 1 / 7
    assert "glucoseManagementIndicator" not in week
    # Exactly 1,440 minutes is not more than 1,440: no ranges in a longer period.
    assert not set(RANGE_NAMES) & set(week)
    assert week["total"]["minutes"] == 1440


def test_gmi_table() -> None:
    # (12.71 + 4.70587 m) x 0.09148 + 2.152, by hand: 5.7039, 6.8986, 8.0975, 11.6770, 7.6196.
    assert glucose_management_indicator(5.55) == 5.7
    assert glucose_management_indicator(8.325) == 6.9
    assert glucose_management_indicator(11.11) == 8.1
    assert glucose_management_indicator(19.425) == 11.7
    assert glucose_management_indicator(10.0) == 7.6


def test_rounding_is_half_away_from_zero_on_the_printed_decimal() -> None:
    assert round_half_away(0.35) == 0.4  # round(0.35, 1) gives 0.3: binary 0.34999...
    assert round_half_away(2.25) == 2.3  # round(2.25, 1) gives 2.2: banker's rounding
    assert round_half_away(-2.25) == -2.3
    assert round_half_away(7.649999) == 7.6


@given(st.floats(-1e9, 1e9) | st.sampled_from([0.05, 0.25, -2.25, 7.45, 9.95]), st.integers(0, 3))
def test_rounding_half_away_is_decimal_s_round_half_up_of_the_printed_value(
    value: float, places: int
) -> None:
    step = Decimal(1).scaleb(-places)
    want = float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))
    assert round_half_away(value, places) == want


def two_days() -> list[dict[str, Any]]:
    """Jan 1 00:00-11:55 at 60 mg/dL; Jan 2 00:00-11:55 at 100, 12:00-23:55 at 200."""
    day1 = [cbg(T0 + i * 5 * MIN, 60) for i in range(144)]
    day2 = [cbg(T0 + 24 * HOUR_MS + i * 5 * MIN, 100 if i < 144 else 200) for i in range(288)]
    meter = [
        smbg(T0 + 10 * HOUR_MS, 100),
        smbg(T0 + (24 + 8) * HOUR_MS, 50),
        smbg(T0 + (24 + 12) * HOUR_MS, 5.5, "mmol/L"),
        smbg(T0 + (24 + 20) * HOUR_MS, 300),
    ]
    return day1 + day2 + meter


def test_hand_worked_two_days_current_and_previous_day() -> None:
    summary = summarize(two_days())["cgm"]
    assert summary["dates"] == {
        "firstData": "2024-01-01T00:00:00.000Z",
        "lastData": "2024-01-02T23:55:00.000Z",
    }
    day = summary["periods"]["1d"]
    assert day["total"]["records"] == 288
    assert day["total"]["minutes"] == 1440
    assert day["inTarget"] == {"minutes": 720, "records": 144, "percent": 0.5}
    assert day["inHigh"] == {"minutes": 720, "records": 144, "percent": 0.5}
    assert day["inAnyHigh"] == day["inHigh"]
    assert day["inLow"] == {"minutes": 0, "records": 0, "percent": 0}
    assert close(day["averageGlucoseMmol"], 150 / F)
    assert close(day["standardDeviation"], 50 / F)  # two equal halves: |200 - 100| / 2
    assert close(day["coefficientOfVariation"], 1 / 3)
    assert day["glucoseManagementIndicator"] == 6.9  # 150 mg/dL = 8.32612 mmol/L -> 6.899
    # Previous day: 12 h of 60 mg/dL, use 0.5 <= 0.7: no ranges, no GMI.
    delta = day["delta"]
    assert delta["total"]["records"] == 144
    assert delta["total"]["minutes"] == 720
    assert delta["total"]["percent"] == 0.5
    assert delta["timeCGMUsePercent"] == 0.5
    assert delta["hoursWithData"] == 12
    assert delta["daysWithData"] == 0
    assert delta["daysInPeriod"] == 0
    assert delta["averageDailyRecords"] == 144
    assert close(delta["averageGlucoseMmol"], 150 / F - 60 / F)
    assert close(delta["standardDeviation"], 50 / F)  # the previous day is flat: SD 0
    # What the previous period lacks counts as zero.
    assert delta["glucoseManagementIndicator"] == 6.9
    assert delta["inTarget"] == {"minutes": 720, "records": 144, "percent": 0.5}
    assert "delta" not in delta


def test_hand_worked_two_days_week_and_month() -> None:
    periods = summarize(two_days())["cgm"]["periods"]
    for key, days in (("7d", 7), ("30d", 30)):
        p = periods[key]
        assert p["daysInPeriod"] == days
        assert (p["daysWithData"], p["hoursWithData"]) == (2, 36)
        assert p["total"]["minutes"] == 2160 and p["total"]["records"] == 432
        assert p["timeCGMUsePercent"] == 2160 / (days * 1440)
        assert "glucoseManagementIndicator" not in p
        third = {"minutes": 720, "records": 144, "percent": 1 / 3}
        assert p["inLow"] == p["inAnyLow"] == p["inTarget"] == p["inHigh"] == third
        assert p["inVeryLow"]["records"] == p["inVeryHigh"]["records"] == 0
        assert close(p["averageGlucoseMmol"], 120 / F)
        # Population SD of 60, 100, 200 in equal parts: sqrt((3600 + 400 + 6400) / 3).
        assert close(p["standardDeviation"], math.sqrt(10400 / 3) / F)
        assert p["averageDailyRecords"] == 432 / days
        # Nothing before: delta is the period itself.
        assert p["delta"]["total"]["records"] == 432
        assert p["delta"]["inLow"] == third


def test_hand_worked_two_days_bgm() -> None:
    summary = summarize(two_days())["bgm"]
    assert summary["dates"]["lastData"] == "2024-01-02T20:00:00.000Z"
    day = summary["periods"]["1d"]
    assert day["total"]["records"] == 3
    assert day["inVeryLow"] == {"records": 1, "percent": 1 / 3}
    assert day["inTarget"] == {"records": 1, "percent": 1 / 3}
    assert day["inVeryHigh"] == {"records": 1, "percent": 1 / 3}
    assert day["inExtremeHigh"] == {"records": 0, "percent": 0}
    assert day["inAnyLow"]["records"] == day["inAnyHigh"]["records"] == 1
    mean = (50 / F + 5.5 + 300 / F) / 3
    assert close(day["averageGlucoseMmol"], mean)
    assert close(day["standardDeviation"], statistics.pstdev([50 / F, 5.5, 300 / F]))
    for absent in ("glucoseManagementIndicator", "timeCGMUsePercent"):
        assert absent not in day
    assert "minutes" not in day["total"]
    assert day["delta"]["total"]["records"] == 2  # the previous day holds Jan 1 10:00
    assert day["delta"]["inTarget"] == {"records": 0, "percent": 1 / 3 - 1}


def test_days_are_24_hour_blocks_ending_at_the_newest_hour() -> None:
    newest = T0 + 100 * HOUR_MS
    hours = [newest, newest - 23 * HOUR_MS, newest - 24 * HOUR_MS, newest - 47 * HOUR_MS]
    hours.append(newest - 48 * HOUR_MS)
    periods = summarize([cbg(h + 10 * MIN, 100) for h in hours])["cgm"]["periods"]
    assert (periods["1d"]["daysWithData"], periods["1d"]["hoursWithData"]) == (1, 2)
    assert (periods["7d"]["daysWithData"], periods["7d"]["hoursWithData"]) == (3, 5)
    assert periods["1d"]["delta"]["daysWithData"] == 0
    assert periods["1d"]["delta"]["hoursWithData"] == 0
    assert periods["7d"]["delta"]["hoursWithData"] == 5


def test_previous_periods_are_the_same_length_just_before() -> None:
    newest = T0 + 59 * 24 * HOUR_MS + 23 * HOUR_MS  # the window's last hour
    # One reading in each previous period's first and last hour, and just outside them.
    offsets = [0, 24, 47, 48, 168, 335, 336, 671, 672, 720, 1439]
    periods = summarize([cbg(newest - k * HOUR_MS, 100) for k in offsets])["cgm"]["periods"]
    current = {key: periods[key]["hoursWithData"] for key in periods}
    previous = {key: current[key] - periods[key]["delta"]["hoursWithData"] for key in periods}
    assert current == {"1d": 1, "7d": 4, "14d": 6, "30d": 9}
    assert previous == {"1d": 2, "7d": 2, "14d": 2, "30d": 2}


def test_pooled_sd_equals_population_sd_of_minute_weighted_samples() -> None:
    rng = random.Random(7)
    samples, values, t = [], [], T0
    for _ in range(400):
        minutes = rng.choice([1, 5, 5, 15, 7])
        v = rng.uniform(2.5, 22.0)
        samples.append(Sample(t, v, "mmol/L", v, minutes, "d", CGM))
        values += [v] * minutes
        t += minutes * MIN + rng.choice([0, 0, 3 * MIN, 2 * HOUR_MS])
    buckets = build_buckets(samples, CGM)
    month = compute_periods(buckets)["30d"]
    assert month["total"]["minutes"] == len(values)
    assert math.isclose(month["standardDeviation"], statistics.pstdev(values), rel_tol=1e-10)
    assert math.isclose(month["averageGlucoseMmol"], statistics.fmean(values), rel_tol=1e-12)
    assert math.isclose(
        month["coefficientOfVariation"],
        statistics.pstdev(values) / statistics.fmean(values),
        rel_tol=1e-10,
    )
    assert math.isclose(
        month["total"]["variance"], statistics.pvariance(values) * len(values), rel_tol=1e-10
    )


def test_bgm_sd_is_record_weighted() -> None:
    rng = random.Random(3)
    values = [rng.uniform(3, 20) for _ in range(50)]
    samples = [Sample(T0 + i * 97 * MIN, v, "mmol/L", v, 0, "m", BGM) for i, v in enumerate(values)]
    week = compute_periods(build_buckets(samples, BGM))["7d"]
    assert math.isclose(week["standardDeviation"], statistics.pstdev(values), rel_tol=1e-10)


@pytest.mark.parametrize("units", ["mg/dL", "mmol/L"])
def test_boundary_values_land_in_their_bands(units: str) -> None:
    values = (
        [53, 54, 69, 70, 180, 181, 250, 251, 349, 350]
        if units == "mg/dL"
        else [2.9, 3.0, 3.8, 3.9, 10.0, 10.1, 13.9, 14.0, 19.3, 19.4]
    )
    day = summarize([smbg(T0 + i * MIN, v, units) for i, v in enumerate(values)])["bgm"]
    records = {name: day["periods"]["1d"][name]["records"] for name in RANGE_NAMES}
    assert records == {
        "inVeryLow": 1,
        "inLow": 2,
        "inTarget": 2,
        "inHigh": 2,
        "inVeryHigh": 3,
        "inExtremeHigh": 1,
        "inAnyLow": 3,
        "inAnyHigh": 5,
    }


def test_day_ranges_need_more_than_70_percent_use() -> None:
    def day_for(count: int) -> dict[str, Any]:
        datums = [cbg(T0 + i * 5 * MIN, 100) for i in range(count)]
        return summarize(datums)["cgm"]["periods"]["1d"]

    # 202 readings x 5 min = 1,010 min > 0.7 x 1,440 = 1,008; 201 x 5 = 1,005 is not.
    assert "inTarget" in day_for(202) and "glucoseManagementIndicator" in day_for(202)
    assert "inTarget" not in day_for(201) and "glucoseManagementIndicator" not in day_for(201)


def test_cgm_use_is_capped_at_one() -> None:
    datums = [cbg(T0 + i * 291_000, 100) for i in range(297)]  # every 4 min 51 s, 5 min each
    day = summarize(datums)["cgm"]["periods"]["1d"]
    assert day["total"]["minutes"] > 1440
    assert day["timeCGMUsePercent"] == 1.0


def test_a_type_without_data_is_empty_not_null() -> None:
    only_cgm = summarize([cbg(T0, 100), {"type": "basal", "time": iso(T0)}])
    assert only_cgm["bgm"] == {"dates": {}, "periods": {}}
    assert set(only_cgm["cgm"]["periods"]) == {"1d", "7d", "14d", "30d"}
    assert summarize([]) == {"cgm": {"dates": {}, "periods": {}}, "bgm": only_cgm["bgm"]}


def test_empty_previous_and_empty_current_fields() -> None:
    week = summarize([cbg(T0, 100)])["cgm"]["periods"]["7d"]
    assert week["total"] == {
        "glucose": 100 / F * 5,
        "minutes": 5,
        "records": 1,
        "percent": 5 / 10080,
        "variance": 0.0,
    }
    assert week["delta"]["total"] == week["total"]


def test_no_nulls_anywhere() -> None:
    def walk(node: Any) -> None:
        assert node is not None
        if isinstance(node, dict):
            for child in node.values():
                walk(child)

    walk(summarize(two_days()))


def test_a_single_reading_has_sd_exactly_zero() -> None:
    datum = cbg(T0, 383, device="AbbottFreeStyleLibre-2")
    day = summarize([datum])["cgm"]["periods"]["1d"]
    assert day["standardDeviation"] == 0.0
    assert day["coefficientOfVariation"] == 0.0
    assert close(day["averageGlucoseMmol"], 383 / F)
