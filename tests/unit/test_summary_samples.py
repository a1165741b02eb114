"""Datums become Samples: units, reported values, durations, the range table, and the packed
form the store keeps beside each datum."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidewater.domain.samples import (
    PACKED,
    cgm_duration,
    packed_sample,
    parse_time_ms,
    samples_from_packed,
)
from tidewater.domain.summary import BGM, CGM, RANGES, Sample, build_buckets, sample_from_datum
from tidewater.domain.timeutil import parse_rfc3339, to_epoch_ms

# The spec's bands; VeryHigh is counted apart from ExtremeHigh here, as the table lists them.
VERY_LOW, LOW, TARGET, HIGH = "inVeryLow", "inLow", "inTarget", "inHigh"
VERY_HIGH, EXTREME_HIGH = "inVeryHigh", "inExtremeHigh"

T = "2024-01-01T00:00:00Z"
T_MS = 1_704_067_200_000


def band(units: str, value: float) -> str:
    """The range one reading of `value` (in `units`) is counted in by the engine."""
    mmol = value / 18.01559 if units == "mg/dL" else value
    (bucket,) = build_buckets([Sample(T_MS, mmol, units, value, 5, "d", CGM)], CGM).hours.values()
    counted = {name for name, records in zip(RANGES, bucket.records, strict=True) if records}
    if EXTREME_HIGH in counted:  # ExtremeHigh is also VeryHigh
        return EXTREME_HIGH
    (found,) = counted & {VERY_LOW, LOW, TARGET, HIGH, VERY_HIGH}
    return found


def datum(**fields: Any) -> dict[str, Any]:
    return {"type": "cbg", "units": "mg/dL", "value": 120, "time": T, "deviceId": "d"} | fields


def test_raw_mgdl_datum_is_converted_to_mmol_unrounded() -> None:
    s = sample_from_datum(datum(value=32))
    assert s == Sample(T_MS, 1.7762393571345707, "mg/dL", 32, 5, "d", CGM)


@pytest.mark.parametrize("units", ["mg/dL", "mg/dl"])
def test_both_mgdl_spellings_are_accepted(units: str) -> None:
    s = sample_from_datum(datum(units=units, value=85))
    assert s is not None
    assert (s.mmol, s.units, s.value) == (4.718135792388703, "mg/dL", 85)


@pytest.mark.parametrize("units", ["mmol/L", "mmol/l"])
def test_both_mmol_spellings_are_accepted(units: str) -> None:
    s = sample_from_datum(datum(units=units, value=5.5))
    assert s is not None
    assert (s.mmol, s.units, s.value) == (5.5, "mmol/L", 5.5)


def test_stored_datum_keeps_mmol_value_and_classifies_by_original() -> None:
    stored = datum(units="mmol/L", value=70 / 18.01559, originalUnits="mg/dL", originalValue=70)
    s = sample_from_datum(stored)
    assert s is not None
    assert s.mmol == 70 / 18.01559
    assert (s.units, s.value) == ("mg/dL", 70)
    # 3.885... mmol/L is Low in the mmol/L column, but the device said 70 mg/dL: Target.
    assert band(s.units, s.value) == TARGET
    assert band("mmol/L", s.mmol) == LOW


def test_raw_and_stored_forms_give_the_same_sample() -> None:
    raw = sample_from_datum(datum(value=143))
    stored = sample_from_datum(
        datum(units="mmol/L", value=143 / 18.01559, originalUnits="mg/dL", originalValue=143)
    )
    assert raw == stored


def test_smbg_is_bgm_without_duration_and_other_types_are_ignored() -> None:
    s = sample_from_datum(datum(type="smbg", sampleInterval=300_000))
    assert s is not None
    assert (s.kind, s.duration) == (BGM, 0)
    assert sample_from_datum(datum(type="basal")) is None
    assert sample_from_datum({"type": "wizard"}) is None


def test_times_with_offsets_and_fractions_are_exact_ms() -> None:
    def ms(time: str) -> int:
        s = sample_from_datum(datum(time=time))
        assert s is not None
        return s.time_ms

    assert ms("2024-01-01T01:00:00.123+01:00") == T_MS + 123
    assert ms("2024-01-01T00:00:00.123Z") == T_MS + 123
    assert ms("2024-01-01T00:00:00.1239Z") == T_MS + 123
    assert ms("2023-12-31T23:59:59.999Z") == T_MS - 1


@pytest.mark.parametrize(
    "bad",
    [
        {"units": "mg"},
        {"value": None},
        {"value": True},
        {"value": float("nan")},
        {"time": "2024-01-01 00:00:00"},
        {"time": "2024-W01-1T00:00:00.000Z"},
        {"sampleInterval": 0},
        {"sampleInterval": "300000"},
    ],
)
def test_malformed_glucose_datums_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        sample_from_datum(datum(**bad))


@pytest.mark.parametrize(
    ("device", "interval", "minutes"),
    [
        ("DexG6-123", None, 5),
        ("AbbottFreeStyleLibre-abc", None, 15),
        ("AbbottFreeStyleLibre2-abc", None, 15),
        ("AbbottFreeStyleLibre3-abc", None, 5),
        ("AbbottFreeStyleLibre-abc", 60_000, 1),
        ("DexG6-123", 900_000, 15),
        ("DexG6-123", 299_999, 4),
        ("DexG6-123", 30_000, 1),
    ],
)
def test_duration_by_device_and_sample_interval(
    device: str, interval: int | None, minutes: int
) -> None:
    assert cgm_duration(device, interval) == minutes


MGDL_TABLE = [
    (53, VERY_LOW),
    (54, LOW),
    (69, LOW),
    (70, TARGET),
    (180, TARGET),
    (181, HIGH),
    (250, HIGH),
    (251, VERY_HIGH),
    (349, VERY_HIGH),
    (350, EXTREME_HIGH),
]
MMOL_TABLE = [
    (2.9, VERY_LOW),
    (3.0, LOW),
    (3.8, LOW),
    (3.9, TARGET),
    (10.0, TARGET),
    (10.1, HIGH),
    (13.9, HIGH),
    (14.0, VERY_HIGH),
    (19.3, VERY_HIGH),
    (19.4, EXTREME_HIGH),
]


@pytest.mark.parametrize(("value", "expected"), MGDL_TABLE)
def test_mgdl_boundaries_follow_the_published_table(value: float, expected: int) -> None:
    assert band("mg/dL", value) == expected


@pytest.mark.parametrize(("value", "expected"), MMOL_TABLE)
def test_mmol_boundaries_follow_the_published_table(value: float, expected: int) -> None:
    assert band("mmol/L", value) == expected


def test_fractional_mgdl_between_boundaries() -> None:
    assert band("mg/dL", 53.9) == VERY_LOW
    assert band("mg/dL", 69.9) == LOW
    assert band("mg/dL", 180.1) == HIGH
    assert band("mg/dL", 349.9) == VERY_HIGH


def test_stored_numbers_may_come_back_as_decimal() -> None:
    mmol = 143 / 18.01559
    stored = datum(
        units="mmol/L",
        value=Decimal(repr(mmol)),
        originalUnits="mg/dL",
        originalValue=Decimal(143),
        sampleInterval=Decimal(900000),
    )
    assert sample_from_datum(stored) == Sample(T_MS, mmol, "mg/dL", 143, 15, "d", CGM)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
@settings(max_examples=300)
def test_canonical_times_parse_as_the_general_parser_reads_them(moment: datetime) -> None:
    text = moment.replace(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert parse_time_ms(text) == to_epoch_ms(parse_rfc3339(text))


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T00:00:00.000Z",
        "0000-01-01T00:00:00.000Z",
        "2024-01-01T24:00:00.000Z",
        "2024-01-01T00:60:00.000Z",
        "2024-01-01T00:00:60.000Z",
        "2024-01-01T00:00:00.0a0Z",
        "2024-01-01T00-00-00.000Z",
        "2024-01-01T0\u0663:00:00.000Z",
        "2024-01-01T+1:00:00.000Z",
    ],
)
def test_times_the_fast_path_cannot_read_go_the_general_way(text: str) -> None:
    try:
        expected: int | type[Exception] = to_epoch_ms(parse_rfc3339(text))
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            parse_time_ms(text)
    else:
        assert parse_time_ms(text) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"units": "mmol/L", "value": 6.2},
        {"units": "mmol/L", "value": 0.1 + 0.2, "originalUnits": "mg/dL", "originalValue": 5.4},
        {"units": "mmol/L", "value": 6.6, "originalUnits": "mg/dL", "originalValue": 119},
        {"deviceId": "AbbottFreeStyleLibre-abc"},
        {"sampleInterval": 60_000},
        {"sampleInterval": 3_600_000 * 24 * 40},
        {"type": "smbg", "value": Decimal("97")},
        {"time": "2024-01-01T01:02:03.456+02:00"},
    ],
)
def test_a_packed_sample_reads_back_as_its_datum_s_sample(fields: dict[str, Any]) -> None:
    """Every number as `sample_from_datum` makes it (the float's last bit, the minutes a
    sampleInterval or a brand gives); only the device id is left out."""
    stored = datum(**fields)
    packed = packed_sample(stored)
    assert packed is not None and len(packed) == PACKED.size == 27
    # No base64 padding: a page's values joined are the base64 of all of them.
    assert len(base64.b64encode(packed)) == 36
    want = sample_from_datum(stored)
    assert want is not None
    assert samples_from_packed(packed, want.kind) == [want._replace(device_id="")]


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "basal"},
        {"units": "mg"},
        {"value": None},
        {"sampleInterval": 0},
        {"sampleInterval": 3_600_000 * 24 * 46},  # more minutes than two bytes hold
    ],
)
def test_what_has_no_sample_to_pack_is_left_to_its_body(fields: dict[str, Any]) -> None:
    assert packed_sample(datum(**fields)) is None


def test_packed_samples_sharing_a_time_are_left_to_their_bodies() -> None:
    """Only the bodies (device ids) say which of two at one time comes first, and whether
    a BGM reading repeats another."""
    one = packed_sample(datum(type="smbg", deviceId="meter-a"))
    other = packed_sample(datum(type="smbg", deviceId="meter-b"))
    later = packed_sample(datum(type="smbg", time="2024-01-01T00:00:00.001Z"))
    assert one is not None and other is not None and later is not None
    assert samples_from_packed(one + other, BGM) is None
    assert samples_from_packed(later + one, BGM) is None  # not in time order either
    assert [s.time_ms for s in samples_from_packed(one + later, BGM) or []] == [T_MS, T_MS + 1]
