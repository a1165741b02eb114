"""Day sums, the structure periods are pooled from: only the days the window holds whole, a
day pooled alone exactly as among many, and an appended hour that completes no day pooling
no day again."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tests.unit.test_summary_properties import DAY, series
from tidewater.domain.summary import (
    BGM,
    CGM,
    HOUR_MS,
    Sample,
    build_buckets,
    compute_periods,
    update_buckets,
    vector,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def columns_and_end(samples: list[Sample], kind: str) -> tuple[vector.BucketColumns, int] | None:
    built = build_buckets(samples, kind)
    if built.last_ms is None:
        return None
    return vector.columns_of(built), built.last_ms - built.last_ms % HOUR_MS + HOUR_MS


@SETTINGS
@given(series(CGM), series(BGM))
def test_day_sums_hold_only_the_days_the_window_holds_whole(
    cgm: list[Sample], bgm: list[Sample]
) -> None:
    for kind, samples in ((CGM, cgm), (BGM, bgm)):
        made = columns_and_end(samples, kind)
        if made is None:
            continue
        cols, end = made
        days = vector.day_sums(cols, kind == CGM, end)
        start = end - 1440 * HOUR_MS
        for day in days.day.tolist():
            assert start <= day and day + DAY <= end
        # Every whole day with a bucket is there, once.
        whole = {h - h % DAY for h in cols.hour.tolist() if start <= h - h % DAY <= end - DAY}
        assert days.day.tolist() == sorted(whole)


@SETTINGS
@given(series(CGM), series(BGM))
def test_a_day_pooled_alone_is_the_day_pooled_among_all(
    cgm: list[Sample], bgm: list[Sample]
) -> None:
    """An update pools the one day it completes on its own (`_one_day`); a full build pools
    every day at once: the same bits."""
    for kind, samples in ((CGM, cgm), (BGM, bgm)):
        made = columns_and_end(samples, kind)
        if made is None:
            continue
        cols, end = made
        together = vector.day_sums(cols, kind == CGM, end)
        for k, day in enumerate(together.day.tolist()):
            lo, hi = np.searchsorted(cols.hour, [day, day + DAY]).tolist()
            alone = vector.day_sums(cols.rows(lo, hi), kind == CGM, end)
            for name in vector.DaySums.__slots__:
                got, want = getattr(alone, name), getattr(together, name)[k : k + 1]
                assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), name


def test_an_hour_that_completes_no_day_pools_no_day_again(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    t0 = 1_704_067_200_000
    samples = [
        Sample(t0 + i * 300_000 + rng.randint(-4000, 4000), v / 18.01559, "mg/dL", v, 5, "D", CGM)
        for i in range(70 * 288)
        for v in [rng.randint(40, 400)]
    ]
    # The newest hour is 10:00, so neither the window's end nor its start is at midnight.
    cut = t0 + 65 * DAY + 10 * HOUR_MS
    before = build_buckets([s for s in samples if s.time_ms < cut], CGM)
    compute_periods(before)  # the columns and day sums the update hands on
    pooled: list[int] = []
    real = vector._day_sums

    def counting(cols: vector.BucketColumns, cgm: bool) -> vector.DaySums:
        pooled.append(len(cols.hour))
        return real(cols, cgm)

    monkeypatch.setattr(vector, "_day_sums", counting)
    after = [s for s in samples if s.time_ms < cut + HOUR_MS]
    updated = update_buckets(
        before,
        [(cut, cut + HOUR_MS)],
        lambda a, b: [s for s in after if a <= s.time_ms < b],
    )
    assert pooled == []
    assert compute_periods(updated) == compute_periods(build_buckets(after, CGM))
