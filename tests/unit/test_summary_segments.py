"""The window's segments, summed exactly: every period's Σ glucose and pooled M2 are the
exact values rounded once (against rationals worked from the buckets), a spread far below
its mean is not lost to cancellation, and an hour appended moves a few buckets, summing
nothing afresh."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tests.unit.test_summary_properties import DAY, exact, series
from tidewater.domain.summary import (
    BGM,
    CGM,
    HOUR_MS,
    Sample,
    build_buckets,
    compute_periods,
    segments,
    update_buckets,
    vector,
)
from tidewater.domain.summary.buckets import window_end

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _windows(cgm: list[Sample], bgm: list[Sample]) -> list[tuple[str, vector.BucketColumns, int]]:
    """(kind, bucket columns, window end) of each series that has a sample."""
    out = []
    for kind, samples in ((CGM, cgm), (BGM, bgm)):
        built = build_buckets(samples, kind)
        if built.last_ms is not None:
            out.append((kind, vector.columns_of(built), window_end(built.last_ms)))
    return out


def worked(cols: vector.BucketColumns, lo: int, hi: int, cgm: bool) -> tuple[float, int, float]:
    """Σ glucose, weight and pooled M2 of rows [lo, hi) in rationals, from the definition:
    Σ M2ᵢ + Σ wᵢ (meanᵢ - mean)², then rounded once."""
    glucose = [Fraction(v) for v in cols.floats[lo:hi, 0].tolist()]
    m2 = [Fraction(v) for v in cols.floats[lo:hi, 9].tolist()]
    w = cols.ints[lo:hi, 3 if cgm else 12].tolist()
    weight = sum(w)
    if not weight:
        return 0.0, 0, 0.0
    mean = sum(glucose) / weight
    spread = sum(k * (g / k - mean) ** 2 for g, k in zip(glucose, w, strict=True) if k)
    return float(sum(glucose)), weight, float(sum(m2) + spread)


@SETTINGS
@given(series(CGM), series(BGM))
def test_every_segment_and_period_is_its_exact_value_rounded_once(
    cgm: list[Sample], bgm: list[Sample]
) -> None:
    for kind, cols, end in _windows(cgm, bgm):
        sums = segments.sums_of(cols, kind == CGM, end)
        edges = segments.edges_of(end)
        at = np.searchsorted(cols.hour, edges).tolist()
        for k in range(segments.SEGMENTS):
            got = segments.pooled(sums, k, kind == CGM)
            assert got[:3] == worked(cols, at[k + 1], at[k], kind == CGM)
            counts = cols.counts[at[k + 1] : at[k]].sum(axis=0).tolist()
            assert got[3] == [*counts, at[k] - at[k + 1]]
        stops = [1, 3, 4, 6]  # 1, 7, 14 and 30 days
        for stop, got in zip(stops, segments.newest(sums, stops, kind == CGM), strict=True):
            assert got[:3] == worked(cols, at[stop], at[0], kind == CGM)


def _columns(means: list[float], weight: int) -> vector.BucketColumns:
    """Hours of CGM at the given means, `weight` minutes each, no spread within an hour."""
    n = len(means)
    hour = np.arange(n, dtype=np.int64) * HOUR_MS + 20_000 * DAY
    glucose = np.zeros((n, 9))
    glucose[:, 0] = [m * weight for m in means]
    minutes = np.zeros((n, 9), np.int64)
    minutes[:, 0] = weight
    records = np.zeros((n, 9), np.int64)
    records[:, 0] = weight // 5
    zero = np.zeros(n)
    return vector.bucket_columns(
        hour, (hour, hour, minutes[:, 0] // 12), glucose, minutes, records, (zero, zero, zero)
    )


def test_a_spread_far_below_its_mean_is_not_lost_to_cancellation() -> None:
    """Hours 1e-7 mmol/L apart around 10 mmol/L: Σ w·mean² - (Σ w·mean)²/W in floats
    cancels to noise; the sums keep the spread to the last bit of its exact value."""
    means = [10.0 + i * 1e-7 for i in range(24)]
    cols = _columns(means, 60)
    end = int(cols.hour[-1]) + HOUR_MS
    sums = segments.sums_of(cols, True, end)
    _, weight, m2 = segments.pooled(sums, 0, True)[:3]
    assert weight == 24 * 60
    want = worked(cols, 0, 24, True)[2]
    assert m2 == want and m2 > 0
    # (What the sum of squares in floats gives instead: off by far more than a rounding.)
    g = [m * 60 for m in means]
    naive = math.fsum(v * v / 60 for v in g) - math.fsum(g) ** 2 / weight
    assert abs(naive - want) > 1e-3 * want


def test_an_hour_appended_moves_a_few_buckets_and_sums_nothing_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    t0 = 1_704_067_200_000
    samples = [
        Sample(t0 + i * 300_000 + rng.randint(-4000, 4000), v / 18.01559, "mg/dL", v, 5, "D", CGM)
        for i in range(70 * 288)
        for v in [rng.randint(40, 400)]
    ]
    for newest in (10, 23):  # an hour that completes no day, and one that does
        cut = t0 + 65 * DAY + newest * HOUR_MS
        before = build_buckets([s for s in samples if s.time_ms < cut], CGM)
        compute_periods(before)  # the columns and sums the update moves on
        summed, moved = _counted(monkeypatch)
        after = [s for s in samples if s.time_ms < cut + HOUR_MS]
        updated = update_buckets(before, [(cut, cut + HOUR_MS)], _loader(after))
        periods = compute_periods(updated)
        assert summed == []
        # Off: the oldest hour of each segment; on: the newest (the new hour the first's);
        # and, when the window's new first hour is redone (the hour it left masked part of
        # it), that hour off and on.
        assert sum(moved) <= 2 * segments.SEGMENTS + 2
        monkeypatch.undo()
        assert periods == compute_periods(build_buckets(after, CGM))


def _counted(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """(buckets summed afresh, buckets moved), as the sums are made."""
    summed: list[int] = []
    moved: list[int] = []
    real_sums, real_rows = segments.sums_of, segments._rows

    def summing(cols: vector.BucketColumns, *args: Any) -> segments.Sums:
        summed.append(len(cols.hour))
        return real_sums(cols, *args)

    def rows(cols: vector.BucketColumns, spans: Any) -> tuple[list[int], list[int]]:
        found = real_rows(cols, spans)
        moved.append(len(found[1]))
        return found

    monkeypatch.setattr(segments, "sums_of", summing)
    monkeypatch.setattr(segments, "_rows", rows)
    return summed, moved


def _loader(samples: list[Sample]) -> Any:
    return lambda a, b: [s for s in samples if a <= s.time_ms < b]


def test_sums_read_back_are_the_sums_written_and_another_shape_is_refused() -> None:
    rng = random.Random(5)
    samples = [
        Sample(1_704_067_200_000 + i * 300_000, v / 18.01559, "mg/dL", v, 5, "D", CGM)
        for i in range(3 * 288)
        for v in [rng.randint(40, 400)]
    ]
    built = build_buckets(samples, CGM)
    assert built.last_ms is not None
    cols = vector.columns_of(built)
    sums = segments.sums_of(cols, True, window_end(built.last_ms))
    again = segments.Sums.from_json(sums.to_json())
    assert exact(again) == exact(sums)
    broken = {**sums.to_json(), "glucose": [1, 2]}
    with pytest.raises(ValueError, match="another shape"):
        segments.Sums.from_json(broken)
    with pytest.raises(ValueError, match="no power of two"):
        segments.Sums.from_json({**sums.to_json(), "scales": [-1, 0, 1]})


def test_an_hour_appended_to_stored_days_reads_only_the_days_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Of 61 stored days, an hour appended reads the newest (its last bucket's blackout),
    the first of the window (the blackout it casts into the window) and the days of the
    hours the segments pass on (one each): the others stay packed, and the update, its
    periods and what is saved are a full build's."""
    from tidewater.store import buckets as store

    rng = random.Random(11)
    t0 = 1_704_067_200_000
    samples = [
        Sample(t0 + i * 300_000 + 97_000, v / 18.01559, "mg/dL", v, 5, "D", CGM)
        for i in range(70 * 288)
        for v in [rng.randint(40, 400)]
    ]
    cut = t0 + 65 * DAY + 10 * HOUR_MS
    before = build_buckets([s for s in samples if s.time_ms < cut], CGM)
    chunks = store.packed_kind(before)
    read: list[bytes] = []
    real = store._read_day

    def reading(kind: str, packed: bytes) -> vector.BucketColumns:
        read.append(packed)
        return real(kind, packed)

    monkeypatch.setattr(store, "_read_day", reading)
    stored = store.stored_kind(CGM, chunks)
    after = [s for s in samples if s.time_ms < cut + HOUR_MS]
    updated = update_buckets(stored, [(cut, cut + HOUR_MS)], _loader(after))
    periods = compute_periods(updated)
    assert len(chunks) - 1 == 61 and len(set(read)) == len(read) <= 9
    full = build_buckets(after, CGM)
    assert periods == compute_periods(full)
    assert updated == full


@SETTINGS
@given(series(CGM), series(BGM))
def test_the_sums_in_numpy_are_the_sums_bucket_by_bucket(
    cgm: list[Sample], bgm: list[Sample]
) -> None:
    """A first summary sums in limbs of int64 (`_summed`); bucket by bucket in Python ints
    (`_summed_one_by_one`, where a value is too wide for limbs) gives the same integers."""
    for kind, cols, end in _windows(cgm, bgm):
        fast = segments.sums_of(cols, kind == CGM, end)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(segments, "_summed", lambda *args: None)
            slow = segments.sums_of(cols, kind == CGM, end)
        assert fast.to_json() == slow.to_json()


def test_values_too_wide_for_limbs_are_summed_bucket_by_bucket_exactly() -> None:
    """Weights whose lcm is past what limbs hold, and a spread of 1e-300 beside 10 mmol/L
    hours: summed bucket by bucket, still the exact values rounded once."""
    cols = _columns([10.0 + (i % 3) for i in range(24)], 60)
    cols.ints[:, 3] = [1 + i for i in range(24)]  # minutes 1..24: lcm 2^4·3^2·5·7·11·13·17·19·23
    cols.floats[:, 0] = [(10.0 + (i % 3)) * (1 + i) for i in range(24)]
    cols.floats[5, 9] = 1e-300
    end = int(cols.hour[-1]) + HOUR_MS
    sums = segments.sums_of(cols, True, end)
    assert sums.lcm >= segments._MOST_SHARE
    assert segments.pooled(sums, 0, True)[:3] == worked(cols, 0, 24, True)


def test_the_widest_values_limbs_hold_are_summed_exactly() -> None:
    """Hours whose M2, scaled, are as wide as the limbs take (1e6 beside 2^-10: 82 bits):
    summed in limbs (not one by one), they are the exact values still, and the same
    integers as bucket by bucket."""
    cols = _columns([10.0 + (i % 5) for i in range(1440)], 60)
    cols.floats[:, 9] = [1e6 if i % 2 else 2.0**-10 for i in range(1440)]
    end = int(cols.hour[-1]) + HOUR_MS
    in_limbs: list[bool] = []
    real = segments._summed
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "_summed", lambda *a: in_limbs.append(True) or real(*a))
        fast = segments.sums_of(cols, True, end)
        assert in_limbs and real(cols.floats[:, 0], cols.floats[:, 9], cols.ints[:, 3], [(0, 6)])
        patch.setattr(segments, "_summed", lambda *args: None)
        slow = segments.sums_of(cols, True, end)
    assert fast.to_json() == slow.to_json()
    edges = segments.edges_of(end)
    at = np.searchsorted(cols.hour, edges).tolist()
    for k in range(segments.SEGMENTS):
        assert segments.pooled(fast, k, True)[:3] == worked(cols, at[k + 1], at[k], True)


def test_a_meta_whose_hours_are_not_its_days_is_refused_not_read_wrong() -> None:
    """`meta`'s hours say where each unread day's rows go: a day whose stored hours differ
    (one hour moved within the day, the count and the fingerprints unchanged) is refused
    when it is read, never written into the wrong rows."""
    import base64
    import json
    import zlib

    from tidewater.store import buckets as store

    rng = random.Random(2)
    samples = [
        Sample(1_704_067_200_000 + i * 900_000, v / 18.01559, "mg/dL", v, 15, "D", CGM)
        for i in range(3 * 96)
        if (i // 4) % 5  # every fifth hour without a reading
        for v in [rng.randint(40, 400)]
    ]
    chunks = store.packed_kind(build_buckets(samples, CGM))
    meta = json.loads(zlib.decompress(chunks[store.META]))
    bits = np.unpackbits(np.frombuffer(base64.b64decode(meta["hours"]), np.uint8))
    have = np.flatnonzero(bits[:1440]).tolist()
    moved = next(i for i in have if i + 1 not in have and (i + 1) % 24)  # (the same day)
    bits[moved], bits[moved + 1] = 0, 1
    meta["hours"] = base64.b64encode(np.packbits(bits).tobytes()).decode()
    chunks[store.META] = store._pack(meta)
    read = store.stored_kind(CGM, chunks)
    assert read.columns is not None and read.columns.unread is not None
    with pytest.raises(ValueError, match="not those its kind's meta holds"):
        read.columns.ints  # noqa: B018 (reading the rows is the test)
