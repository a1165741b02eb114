"""The vectorised engine against the sample-by-sample one: whole windows folded by numpy
equal the loop's buckets bit for bit, stored datums read column by column summarise as each
datum read alone does, and canonical times parse to the milliseconds `datetime` gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_summary_properties import as_datum, series
from tidewater.domain.summary import (
    BGM,
    CGM,
    Buckets,
    Sample,
    buckets_from_datums,
    build_buckets,
    sample_from_datum,
    summarize,
    summarize_buckets,
)
from tidewater.domain.summary.buckets import NO_MASK, utc_text
from tidewater.domain.summary.fold import accumulate, dedup, window_start
from tidewater.domain.summary.vector import parse_canonical_times
from tidewater.domain.timeutil import format_utc, from_epoch_ms

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loop_buckets(samples: list[Sample], kind: str) -> Buckets:
    """The window folded sample by sample, as the incremental update folds the hours."""
    ordered = sorted(s for s in samples if s.kind == kind)
    if not ordered:
        return Buckets(kind)
    last = ordered[-1].time_ms
    made, _ = accumulate(
        dedup([s for s in ordered if s.time_ms >= window_start(last)], kind), NO_MASK
    )
    return Buckets(kind, {b.date: b for b in made}, last)


def per_datum(datums: list[dict[str, Any]]) -> dict[str, Any]:
    samples = [s for s in map(sample_from_datum, datums) if s is not None]
    return {k: summarize_buckets(loop_buckets(samples, k)) for k in (CGM, BGM)}


def stored(datum: dict[str, Any]) -> dict[str, Any]:
    """The form the store keeps: mmol/L in `value`, the reading as sent beside it."""
    s = sample_from_datum(datum)
    assert s is not None
    return {**datum, "units": "mmol/L", "value": s.mmol, "originalUnits": s.units,
            "originalValue": s.value}  # fmt: skip


@SETTINGS
@given(series(CGM), series(BGM))
def test_numpy_fold_equals_the_sample_by_sample_fold(cgm: list[Sample], bgm: list[Sample]) -> None:
    for kind, samples in ((CGM, cgm), (BGM, bgm)):
        assert build_buckets(samples, kind) == loop_buckets(samples, kind)


@SETTINGS
@given(series(CGM), series(BGM), st.booleans(), st.randoms(use_true_random=False))
def test_datums_read_as_columns_summarise_as_datums_read_alone(
    cgm: list[Sample], bgm: list[Sample], as_stored: bool, rng: random.Random
) -> None:
    datums = [as_datum(s) for s in cgm + bgm]
    if as_stored:
        datums = [stored(d) for d in datums]
    datums.sort(key=lambda d: d["time"])  # as the store returns them, and shuffled
    assert summarize(datums) == per_datum(datums)
    rng.shuffle(datums)
    assert summarize(datums) == per_datum(datums)


@SETTINGS
@given(series(CGM), series(BGM), st.booleans())
def test_buckets_of_one_type_s_datums_are_the_buckets_of_their_samples(
    cgm: list[Sample], bgm: list[Sample], as_stored: bool
) -> None:
    for kind, samples in ((CGM, cgm), (BGM, bgm)):
        datums = [as_datum(s) for s in samples]
        if as_stored:
            datums = [stored(d) for d in datums]
        datums.sort(key=lambda d: d["time"])
        assert buckets_from_datums(datums, kind) == build_buckets(samples, kind)


def test_a_long_history_in_columns_equals_the_loop() -> None:
    rng = random.Random(7)
    t0 = 1_704_067_200_000
    # 70 days of 5-minute readings from two sensors, jittered into each other's blackout.
    cgm = [
        Sample(t0 + i * 300_000 + rng.randint(-20_000, 20_000) + dev * 150_000, v / 18.01559,
               "mg/dL", v, 5, f"Dex-{dev}", CGM)
        for dev in (0, 1)
        for i in range(70 * 288)
        for v in [rng.randint(39, 401)]
    ]  # fmt: skip
    datums = sorted((stored(as_datum(s)) for s in cgm), key=lambda d: d["time"])
    assert build_buckets(cgm, CGM) == loop_buckets(cgm, CGM)
    assert summarize(datums) == per_datum(datums)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
@settings(max_examples=300)
def test_canonical_times_parse_to_the_milliseconds_datetime_gives(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC, microsecond=moment.microsecond // 1000 * 1000)
    text = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    expected = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert parse_canonical_times([text, "1970-01-01T00:00:00.000Z"]).tolist() == [expected, 0]


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T00:00:00.000Z",
        "2023-02-29T00:00:00.000Z",
        "2024-13-01T00:00:00.000Z",
        "0000-01-01T00:00:00.000Z",
        "2024-01-01T24:00:00.000Z",
        "2024-01-01T00:60:00.000Z",
        "2024-01-01T00:00:60.000Z",
        "2024-01-01T00:00:00.0a0Z",
        "2024-W01-1T00:00:00.000Z",
        "2024-01-01T00:00:00.000+",
        "2024-01-01 00:00:00.000Z",
    ],
)
def test_what_is_not_a_real_canonical_time_is_left_to_the_per_datum_path(text: str) -> None:
    good = "2024-01-01T00:00:00.000Z"
    assert parse_canonical_times([good, text]) is None
    with pytest.raises(ValueError):
        summarize(
            [{"type": "cbg", "units": "mg/dL", "value": 100, "time": t} for t in (good, text)]
        )


def test_times_of_other_lengths_never_shift_into_canonical_rows() -> None:
    # 25 + 23 characters: joined without a separator they would make two canonical rows.
    assert parse_canonical_times(["2024-01-01T00:00:00.000Z5", "024-01-01T00:00:00.000Z"]) is None
    assert parse_canonical_times(["2024-01-01T00:00:00.000Z", 5]) is None
    assert parse_canonical_times(["2024-01-01T00:00:00.000Z\n2024-01-01T00:00:00.000"]) is None


def test_lowercase_and_offset_times_still_count_through_the_per_datum_path() -> None:
    times = ["2024-01-01T00:00:00.000Z", "2024-01-01t01:05:00z", "2024-01-01T03:10:00+01:00"]
    got = summarize([{"type": "cbg", "units": "mg/dL", "value": 100, "time": t} for t in times])
    assert got["cgm"]["periods"]["1d"]["total"]["records"] == 3
    assert got["cgm"]["dates"]["lastData"] == format_utc(from_epoch_ms(1_704_075_000_000))


@pytest.mark.parametrize(
    "bad",
    [{"deviceId": {"a": 1}}, {"value": True}, {"value": "120"}, {"originalUnits": ["mg/dL"]}],
)
def test_malformed_fields_among_good_datums_are_still_rejected(bad: dict[str, Any]) -> None:
    good = {"type": "cbg", "units": "mmol/L", "value": 6.0, "deviceId": "d",
            "originalUnits": "mmol/L", "originalValue": 6.0}  # fmt: skip
    datums = [{**good, "time": f"2024-01-01T00:{m:02d}:00.000Z"} for m in range(0, 60, 5)]
    datums[3] = {**datums[3], **bad}
    with pytest.raises(Exception) as alone:
        sample_from_datum(datums[3])
    with pytest.raises(alone.type):
        summarize(datums)


@given(st.integers(-62_135_596_800_000, 253_402_300_799_999))
@settings(max_examples=500)
def test_bucket_times_are_written_as_format_utc_writes_them(ms: int) -> None:
    assert utc_text(ms) == format_utc(from_epoch_ms(ms))
