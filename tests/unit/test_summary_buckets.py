"""Hourly buckets: blackout windows, the 60-day window, Welford sums, JSON round trips."""

from __future__ import annotations

import json
import statistics
from typing import Any

from tidewater.domain.summary import (
    BGM,
    CGM,
    HOUR_MS,
    Bucket,
    Buckets,
    Sample,
    build_buckets,
    update_buckets,
)

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000
SEC = 1_000
DEX = "DexG6-1"


def cgm(t: int, mgdl: float = 100, device: str = DEX, minutes: int = 5) -> Sample:
    return Sample(t, mgdl / 18.01559, "mg/dL", mgdl, minutes, device, CGM)


def bgm(t: int, mgdl: float = 100, device: str = "meter") -> Sample:
    return Sample(t, mgdl / 18.01559, "mg/dL", mgdl, 0, device, BGM)


def counted(buckets: Buckets) -> list[int]:
    """Times of the counted samples, as far as buckets tell: one per record."""
    return [b.records[0] for _, b in sorted(buckets.hours.items())]


def test_spec_blackout_table_counts_only_the_dexcom() -> None:
    dexcom = [cgm(T0 + i * 5 * MIN, 100) for i in range(12)]
    brand_x = [cgm(T0 + i * MIN + 30 * SEC, 300, "BrandX") for i in range(60)]
    b = build_buckets(dexcom + brand_x, CGM).hours[T0]
    assert (b.records[0], b.minutes[0]) == (12, 60)
    assert b.records[3] == 12  # all in target: Brand X's 300 mg/dL never counted
    assert b.last_time == T0 + 55 * MIN


def test_libre_masks_for_fifteen_minutes() -> None:
    libre = [cgm(T0 + i * 5 * MIN, device="AbbottFreeStyleLibre-1", minutes=15) for i in range(12)]
    b = build_buckets(libre, CGM).hours[T0]
    assert (b.records[0], b.minutes[0], b.last_duration) == (4, 60, 15)


def test_libre3_masks_for_five_minutes() -> None:
    libre3 = [cgm(T0 + i * 5 * MIN, device="AbbottFreeStyleLibre3-1") for i in range(12)]
    b = build_buckets(libre3, CGM).hours[T0]
    assert (b.records[0], b.minutes[0]) == (12, 60)


def test_one_minute_sample_interval_counts_every_reading() -> None:
    minutely = [cgm(T0 + i * MIN, device="AbbottFreeStyleLibre-1", minutes=1) for i in range(60)]
    b = build_buckets(minutely, CGM).hours[T0]
    assert (b.records[0], b.minutes[0]) == (60, 60)


def test_tolerance_edge_is_duration_minus_ten_seconds() -> None:
    def second_counted(gap_ms: int) -> bool:
        made = build_buckets([cgm(T0), cgm(T0 + gap_ms, device="other")], CGM)
        return made.hours[T0].records[0] == 2

    assert second_counted(4 * MIN + 51 * SEC)
    assert second_counted(4 * MIN + 50 * SEC)  # masked while t < t0 + 5 min - 10 s
    assert not second_counted(4 * MIN + 50 * SEC - 1)
    assert not second_counted(4 * MIN + 49 * SEC)


def test_blackout_carries_across_the_hour_edge() -> None:
    samples = [
        cgm(T0 + 58 * MIN),  # masks until 01:02:50
        cgm(T0 + HOUR_MS + 1 * MIN, 300, "BrandX"),
        cgm(T0 + HOUR_MS + 2 * MIN + 49 * SEC, 300, "BrandX"),
        cgm(T0 + HOUR_MS + 3 * MIN, 200),
    ]
    made = build_buckets(samples, CGM)
    first, second = made.hours[T0], made.hours[T0 + HOUR_MS]
    assert (first.last_time, first.last_duration) == (T0 + 58 * MIN, 5)
    assert (second.records[0], second.first_time, second.maximum) == (
        1,
        T0 + HOUR_MS + 3 * MIN,
        200 / 18.01559,
    )
    # Recomputing only the second hour must find the same mask in the first bucket.
    only_first = build_buckets(samples[:1], CGM)
    again = update_buckets(
        only_first,
        [(T0 + HOUR_MS, T0 + 2 * HOUR_MS)],
        lambda a, b: [s for s in samples if a <= s.time_ms < b],
    )
    assert again == made


def test_duplicate_cgm_readings_count_once() -> None:
    made = build_buckets([cgm(T0, 120), cgm(T0, 120), cgm(T0, 120)], CGM)
    assert made.hours[T0].records[0] == 1


def test_duplicate_bgm_readings_count_once_but_distinct_ones_all_count() -> None:
    made = build_buckets([bgm(T0, 120), bgm(T0, 120), bgm(T0, 130), bgm(T0 + 1, 120)], BGM)
    b = made.hours[T0]
    assert (b.records[0], b.minutes[0], b.last_duration) == (3, 0, 0)


def test_ties_are_ordered_by_value_so_upload_order_does_not_matter() -> None:
    a, b = cgm(T0, 100, "A"), cgm(T0, 250, "B")
    assert build_buckets([a, b], CGM) == build_buckets([b, a], CGM)
    assert build_buckets([b, a], CGM).hours[T0].maximum == 100 / 18.01559


def test_window_keeps_1440_hours_back_from_the_newest_sample() -> None:
    newest = T0 + 1439 * HOUR_MS + 30 * MIN
    samples = [cgm(T0 - 1), cgm(T0), cgm(T0 + 7 * MIN), cgm(newest)]
    made = build_buckets(samples, CGM)
    assert sorted(made.hours) == [T0, T0 + 1439 * HOUR_MS]
    assert made.hours[T0].records[0] == 2
    assert made.last_ms == newest


def test_samples_before_the_window_do_not_mask_inside_it() -> None:
    newest = T0 + 1439 * HOUR_MS
    made = build_buckets([cgm(T0 - 2 * MIN), cgm(T0 + 1 * MIN), cgm(newest)], CGM)
    assert made.hours[T0].first_time == T0 + 1 * MIN


def test_cgm_sums_are_minute_weighted_and_variance_is_weighted_m2() -> None:
    samples = [
        cgm(T0, 90, minutes=15),
        cgm(T0 + 15 * MIN, 200, minutes=5),
        cgm(T0 + 20 * MIN, 40, minutes=10),
    ]
    b = build_buckets(samples, CGM).hours[T0]
    values = [90 / 18.01559] * 15 + [200 / 18.01559] * 5 + [40 / 18.01559] * 10
    assert b.minutes == (30, 10, 0, 15, 5, 0, 0, 10, 5)
    assert b.records == (3, 1, 0, 1, 1, 0, 0, 1, 1)
    assert abs(b.glucose[0] - sum(values)) < 1e-9
    assert abs(b.glucose[3] - 15 * 90 / 18.01559) < 1e-9
    assert abs(b.variance - statistics.pvariance(values) * 30) < 1e-9
    assert (b.minimum, b.maximum) == (40 / 18.01559, 200 / 18.01559)


def test_extreme_high_is_inside_very_high_and_any_high() -> None:
    b = build_buckets([cgm(T0, 400), cgm(T0 + 5 * MIN, 300), cgm(T0 + 10 * MIN, 200)], CGM)
    hour = b.hours[T0]
    assert hour.records == (3, 0, 0, 0, 1, 2, 1, 0, 3)


def test_bucket_round_trips_through_json_exactly() -> None:
    samples = [cgm(T0 + i * 5 * MIN + 7, 40 + 29 * i) for i in range(12)]
    made = build_buckets([*samples, bgm(T0 + 3, 51.3)], CGM)
    bucket = made.hours[T0]
    again = Bucket.from_dict(json.loads(json.dumps(bucket.to_dict())))
    assert again == bucket
    assert Buckets.from_dict(json.loads(json.dumps(made.to_dict()))) == made


def test_bgm_bucket_dict_has_no_minutes() -> None:
    made = build_buckets([bgm(T0, 50), bgm(T0 + MIN, 400)], BGM)
    data = made.hours[T0].to_dict()
    assert "lastRecordDuration" not in data
    assert data["total"]["records"] == 2 and "minutes" not in data["total"]
    assert data["inVeryLow"] == {"glucose": 50 / 18.01559, "records": 1}
    assert data["date"] == "2024-01-01T00:00:00.000Z"
    assert data["lastRecordTime"] == "2024-01-01T00:01:00.000Z"
    assert Bucket.from_dict(data) == made.hours[T0]


def test_kinds_are_kept_apart() -> None:
    samples = [cgm(T0), bgm(T0 + MIN)]
    assert counted(build_buckets(samples, CGM)) == [1]
    assert build_buckets(samples, BGM).hours[T0].kind == BGM
    assert build_buckets([], CGM) == Buckets(CGM)


def test_loader_may_return_datums_of_any_type() -> None:
    first = [cgm(T0 + i * 5 * MIN, 100 + i) for i in range(6)]
    datums: list[Sample | dict[str, Any]] = [
        *first,
        {"type": "cbg", "units": "mg/dL", "value": 150, "time": "2024-01-01T00:30:00.000Z"},
        {"type": "smbg", "units": "mg/dL", "value": 150, "time": "2024-01-01T00:31:00.000Z"},
        {"type": "basal", "time": "2024-01-01T00:32:00.000Z"},
    ]
    updated = update_buckets(
        build_buckets(first, CGM), [(T0 + 30 * MIN, T0 + 31 * MIN)], lambda a, b: datums
    )
    expected = build_buckets(
        [*first, Sample(T0 + 30 * MIN, 150 / 18.01559, "mg/dL", 150, 5, "", CGM)], CGM
    )
    assert updated == expected
    assert updated.hours[T0].records[0] == 7


def test_deleting_everything_empties_the_buckets() -> None:
    stored = build_buckets([cgm(T0), cgm(T0 + 3 * HOUR_MS)], CGM)
    calls: list[tuple[int, int]] = []

    def load(a: int, b: int) -> list[Sample]:
        calls.append((a, b))
        return []

    assert update_buckets(stored, [(T0, T0 + 4 * HOUR_MS)], load) == Buckets(CGM)
    assert calls == [(T0, T0 + 4 * HOUR_MS), (0, T0)]


def test_deleting_the_newest_readings_in_two_ranges_finds_the_newest_left() -> None:
    kept = cgm(T0 + 10 * HOUR_MS)
    stored = build_buckets([kept, cgm(T0 + 12 * HOUR_MS + 30 * MIN), cgm(T0 + 14 * HOUR_MS)], CGM)
    ranges = [(T0 + 12 * HOUR_MS, T0 + 13 * HOUR_MS), (T0 + 14 * HOUR_MS, T0 + 15 * HOUR_MS)]
    updated = update_buckets(stored, ranges, lambda a, b: [kept] if a <= kept.time_ms < b else [])
    assert updated == build_buckets([kept], CGM)
    assert updated.last_ms == kept.time_ms


def test_a_window_moving_on_drops_the_old_hours_and_keeps_the_others_as_they_are() -> None:
    samples = [cgm(T0 + i * 20 * MIN) for i in range(9)]  # hours 0, 1, 2
    stored = build_buckets(samples, CGM)
    newest = cgm(T0 + 1441 * HOUR_MS)  # the window now starts at hour 2
    updated = update_buckets(stored, [(newest.time_ms, newest.time_ms + 1)], lambda a, b: [newest])
    assert sorted(updated.hours) == [T0 + 2 * HOUR_MS, T0 + 1441 * HOUR_MS]
    assert updated.hours[T0 + 2 * HOUR_MS] == stored.hours[T0 + 2 * HOUR_MS]
    # Buckets held as Bucket objects keep the very objects (the store then packs no day of
    # them); held as columns, they are equal (above).
    held = Buckets(CGM, dict(stored.hours), stored.last_ms)
    again = update_buckets(held, [(newest.time_ms, newest.time_ms + 1)], lambda a, b: [newest])
    assert again.hours[T0 + 2 * HOUR_MS] is held.hours[T0 + 2 * HOUR_MS]
