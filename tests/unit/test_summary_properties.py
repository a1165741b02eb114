"""Properties: percentages add up, means lie in range, order never matters, an incremental
update equals a full recompute, bucket for bucket and bit for bit, and the packed samples
the store keeps give the buckets their datums give."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tidewater.domain.samples import cgm_duration, packed_sample, samples_from_packed
from tidewater.domain.summary import (
    BGM,
    CGM,
    HOUR_MS,
    Buckets,
    Sample,
    buckets_from_packed,
    build_buckets,
    compute_periods,
    segments,
    summarize,
    update_buckets,
    vector,
)
from tidewater.domain.summary.buckets import window_end
from tidewater.domain.timeutil import format_utc, from_epoch_ms


def exact(sums: segments.Sums) -> tuple[int, list[tuple[Fraction, Fraction, Fraction, list[int]]]]:
    """The rationals segment sums stand for, whatever their scales."""
    g, m, lcm = sums.glucose_scale, sums.m2_scale, sums.lcm
    return sums.end, [
        (Fraction(a, 2**g), Fraction(b, 2**m), Fraction(c, 4**g * lcm), [*counts, n])
        for a, b, c, counts, n in zip(
            sums.glucose, sums.m2, sums.spread, sums.counts.tolist(), sums.buckets, strict=True
        )
    ]


BASE = 1_704_067_200_000  # 2024-01-01T00:00:00Z
SEC = 1_000
DAY = 24 * HOUR_MS
DEVICES = ["DexG6-1", "AbbottFreeStyleLibre-2", "AbbottFreeStyleLibre3-3", "BrandX-4"]
BANDS = ["inVeryLow", "inLow", "inTarget", "inHigh", "inVeryHigh"]

values_mgdl = st.integers(39, 401)
values_mmol = st.sampled_from([2.2, 2.9, 3.0, 3.8, 3.9, 5.5, 10.0, 10.1, 13.9, 14.0, 19.4, 25.0])


@st.composite
def reading(draw: st.DrawFn, time_ms: int, kind: str, device: str | None = None) -> Sample:
    device = device or draw(st.sampled_from(DEVICES))
    if draw(st.booleans()):
        units, value = "mg/dL", float(draw(values_mgdl))
        mmol = value / 18.01559
    else:
        units, value = "mmol/L", draw(values_mmol)
        mmol = value
    duration = 0
    if kind == CGM:
        interval = draw(st.sampled_from([None, None, None, 60_000, 300_000, 900_000, 3_600_000]))
        duration = cgm_duration(device, interval)
    return Sample(time_ms, mmol, units, value, duration, device, kind)


@st.composite
def series(draw: st.DrawFn, kind: str = CGM) -> list[Sample]:
    """One or two devices with their own cadence and jitter, plus a few far-off readings."""
    out: list[Sample] = []
    for _ in range(draw(st.integers(1, 2))):
        device = draw(st.sampled_from(DEVICES))
        step = draw(st.sampled_from([60, 290, 300, 310, 900, 1800])) * SEC
        start = BASE + draw(st.integers(0, 3 * 3600)) * SEC
        for i in range(draw(st.integers(0, 40))):
            jitter = draw(st.integers(-15, 15)) * SEC
            out.append(draw(reading(start + i * step + jitter, kind, device)))
    # Window edges are 60 days apart: readings near them move in and out as the newest changes.
    far = st.one_of(
        st.integers(-75 * DAY, 75 * DAY),
        st.integers(60 * DAY - 3 * HOUR_MS, 60 * DAY + 3 * HOUR_MS),
        st.integers(-60 * DAY - 3 * HOUR_MS, -60 * DAY + 3 * HOUR_MS),
    )
    for offset in draw(st.lists(far, max_size=4)):
        out.append(draw(reading(BASE + offset, kind)))
    return out


@st.composite
def change(
    draw: st.DrawFn, old: list[Sample], kind: str
) -> tuple[list[tuple[int, int]], list[Sample]]:
    """Up to three ranges [a, b) and the data after they changed: some readings kept, some new."""
    times = [s.time_ms for s in old] or [BASE]
    ranges = []
    for _ in range(draw(st.integers(1, 3))):
        a = draw(
            st.one_of(
                st.integers(min(times) - 2 * HOUR_MS, max(times) + 2 * HOUR_MS),
                # Just before a reading (often the newest): where chains and windows move.
                st.sampled_from([*times, max(times)]).map(lambda t: t - 7 * SEC),
            )
        )
        b = a + draw(st.sampled_from([1, 60 * SEC, HOUR_MS, 5 * HOUR_MS, 3 * DAY, 80 * DAY]))
        ranges.append((a, b + draw(st.integers(0, HOUR_MS))))

    def changed(t: int) -> bool:
        return any(a <= t < b for a, b in ranges)

    keep = draw(st.sampled_from(["none", "some", "all"]))
    kept = [
        s
        for s in old
        if not changed(s.time_ms) or keep == "all" or (keep == "some" and draw(st.booleans()))
    ]
    added = [
        draw(reading(t, kind))
        for a, b in ranges
        for t in draw(st.lists(st.integers(a, b - 1), max_size=10))
    ]
    return ranges, kept + added


def incremental_equals_full(
    old: list[Sample], ranges: list[tuple[int, int]], new: list[Sample], kind: str
) -> None:
    stored = build_buckets(old, kind)
    stored = Buckets.from_dict(json.loads(json.dumps(stored.to_dict())))
    shuffle = random.Random(len(new)).shuffle

    def load(lo: int, hi: int) -> list[Sample]:
        found = [s for s in new if lo <= s.time_ms < hi]
        shuffle(found)
        return found

    updated = update_buckets(stored, ranges, load)
    full = build_buckets(new, kind)
    assert updated == full
    assert compute_periods(updated) == compute_periods(full)

    # As the summariser holds them after computing periods: the columns and day sums are
    # handed on by the update, and must be those of a full build, field for field.
    held = build_buckets(old, kind)
    compute_periods(held)
    carried = update_buckets(held, ranges, load)
    assert carried == full
    assert_columns_of(carried, full)
    assert compute_periods(carried) == compute_periods(full)

    # As the store hands them: the days' columns in arrays with spare rows, unread until
    # their rows are read, and the window's sums as stored in `meta`. The update reads what
    # it needs; what was read keeps what it held after the update has appended into its
    # spare rows, and a second update of it (which finds them taken) is right too.
    read = as_the_store_hands_them(held)
    if read.columns is not None and read.last_ms is not None:
        assert read.columns.sums is not None and read.columns.unread is not None
        end = window_end(read.last_ms)
        fresh = segments.sums_of(vector.columns_of(held), kind == CGM, end)
        assert exact(read.columns.sums) == exact(fresh)
    first = update_buckets(read, ranges, load)
    assert first == full
    assert compute_periods(first) == compute_periods(full)
    assert_columns_of(first, full)
    if read.columns is not None:
        assert_same_columns(read.columns, vector.columns_of(held))
    assert update_buckets(read, ranges, load) == full
    assert first == full


def assert_columns_of(updated: Buckets, full: Buckets) -> None:
    """The columns and segment sums an update hands on are a full build's: the columns
    field for field, the sums as exact values."""
    if updated.columns is None:
        return
    fresh = vector.from_buckets([full.hours[h] for h in sorted(full.hours)])
    assert_same_columns(updated.columns, fresh)
    if updated.columns.sums is None:
        return
    assert full.last_ms is not None
    end = window_end(full.last_ms)
    assert exact(updated.columns.sums) == exact(segments.sums_of(fresh, full.kind == CGM, end))


def as_the_store_hands_them(buckets: Buckets) -> Buckets:
    """Packed as the store writes them (every day, and `meta`), and read back."""
    from tidewater.store import buckets as store

    return store.stored_kind(buckets.kind, store.packed_kind(buckets))


def assert_same_columns(got: Any, want: Any) -> None:
    """Bucket columns equal bit for bit (the same dtypes, shapes and bytes); what the rows
    are kept in (room, rows not read yet) is not what they are."""
    for name in ("hour", "ints", "floats"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_incremental_update_equals_full_recompute_cgm(data: st.DataObject) -> None:
    old = data.draw(series(CGM))
    ranges, new = data.draw(change(old, CGM))
    incremental_equals_full(old, ranges, new, CGM)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_incremental_update_equals_full_recompute_bgm(data: st.DataObject) -> None:
    old = data.draw(series(BGM))
    ranges, new = data.draw(change(old, BGM))
    incremental_equals_full(old, ranges, new, BGM)


def test_an_hour_appended_to_buckets_read_goes_into_their_spare_rows_and_leaves_them_be() -> None:
    """Read as the store hands them, buckets take an appended hour into their arrays' spare
    rows (no row copied); what was read still holds what it did, and a second, different
    update of it (the spare rows taken) copies, leaving the first update as it was."""
    samples = [
        Sample(
            BASE + i * 300 * SEC, 4 + (i % 50) / 7, "mmol/L", 4 + (i % 50) / 7, 5, "DexG6-1", CGM
        )
        for i in range(600)
    ]
    hour = samples[-12].time_ms
    other = [
        s._replace(mmol=s.mmol + 1, value=s.value + 1) if s.time_ms >= hour else s for s in samples
    ]
    held = build_buckets(samples[:-12], CGM)
    compute_periods(held)
    read = as_the_store_hands_them(held)
    was = read.columns.ints.copy()

    def loader(source: list[Sample]) -> Any:
        return lambda lo, hi: [s for s in source if lo <= s.time_ms < hi]

    first = update_buckets(read, [(hour, hour + HOUR_MS)], loader(samples))
    assert vector.np.shares_memory(first.columns.ints, read.columns.ints)
    second = update_buckets(read, [(hour, hour + HOUR_MS)], loader(other))
    assert not vector.np.shares_memory(second.columns.ints, first.columns.ints)
    assert read.columns.ints.tobytes() == was.tobytes()
    assert first == build_buckets(samples, CGM)
    assert second == build_buckets(other, CGM)
    assert compute_periods(first) == compute_periods(build_buckets(samples, CGM))
    assert compute_periods(second) == compute_periods(build_buckets(other, CGM))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hours_appended_after_the_newest_equal_a_full_build(data: st.DataObject) -> None:
    """The summariser's usual update: readings of hours after every stored one, right after
    them (a blackout reaching across) or days on (the window's start moving past stored
    hours, or past all of them)."""
    kind = data.draw(st.sampled_from([CGM, BGM]))
    old = data.draw(series(kind))
    if not old:
        return
    newest = max(s.time_ms for s in old)
    first = (
        newest
        - newest % HOUR_MS
        + HOUR_MS
        + data.draw(
            st.sampled_from(
                [0, 0, 5 * SEC, 2 * HOUR_MS, 59 * DAY, 60 * DAY - 2 * HOUR_MS, 61 * DAY]
            )
        )
    )
    hours = data.draw(st.integers(1, 3))
    # Often within the newest stored reading's blackout (a Libre's 15 minutes, an hour).
    early = st.integers(first, first + 20 * 60 * SEC)
    anywhere = st.integers(first, first + hours * HOUR_MS - 1)
    added = [
        data.draw(reading(t, kind))
        for t in data.draw(st.lists(st.one_of(early, anywhere), max_size=15))
    ]
    incremental_equals_full(old, [(first, first + hours * HOUR_MS)], old + added, kind)


def test_an_hour_appended_keeps_the_blackout_of_the_newest_stored_reading() -> None:
    """A Libre reading at :55 covers 15 minutes: one at :05 of the next hour is not counted,
    whether the buckets are built at once or the hour is appended to those stored."""
    libre = "AbbottFreeStyleLibre-2"
    old = [Sample(BASE + 55 * 60 * SEC, 6.0, "mmol/L", 6.0, 15, libre, CGM)]
    new = [*old, Sample(BASE + 65 * 60 * SEC, 9.0, "mmol/L", 9.0, 15, libre, CGM)]
    full = build_buckets(new, CGM)
    assert list(full.hours) == [BASE] and full.last_ms == BASE + 65 * 60 * SEC  # (masked)
    incremental_equals_full(old, [(BASE + HOUR_MS, BASE + 2 * HOUR_MS)], new, CGM)


def test_appending_an_hour_loads_only_that_hour() -> None:
    samples = [
        Sample(BASE + i * 300 * SEC, 6.0, "mmol/L", 6.0, 5, "DexG6-1", CGM) for i in range(600)
    ]
    stored = build_buckets(samples[:-12], CGM)
    calls: list[tuple[int, int]] = []

    def load(lo: int, hi: int) -> list[Sample]:
        calls.append((lo, hi))
        return [s for s in samples if lo <= s.time_ms < hi]

    first, last = samples[-12].time_ms, samples[-1].time_ms
    updated = update_buckets(stored, [(first, last + 1)], load)
    assert updated == build_buckets(samples, CGM)
    assert calls == [(first, first + HOUR_MS)]

    # Deleting an hour's :55 reading moves its blackout, but not past the hour: no spill-over.
    calls.clear()
    gone = samples[11].time_ms
    remaining = [s for s in samples if s.time_ms != gone]
    stored = build_buckets(samples, CGM)
    samples = remaining
    updated = update_buckets(stored, [(gone, gone + 1)], load)
    assert updated == build_buckets(remaining, CGM)
    assert calls == [(BASE, BASE + HOUR_MS)]


def test_window_moving_back_loads_the_hours_it_regains() -> None:
    def cgm(t: int) -> Sample:
        return Sample(t, 6.0, "mmol/L", 6.0, 5, "DexG6-1", CGM)

    oldest, newest = cgm(BASE + 10 * 60 * SEC), cgm(BASE + 1440 * HOUR_MS + 30 * 60 * SEC)
    before = [oldest, cgm(BASE + 1439 * HOUR_MS + 10 * 60 * SEC), newest]
    stored = build_buckets(before, CGM)
    assert BASE not in stored.hours
    after = before[:-1]
    updated = update_buckets(
        stored,
        [(newest.time_ms, newest.time_ms + 1)],
        lambda lo, hi: [s for s in after if lo <= s.time_ms < hi],
    )
    assert updated == build_buckets(after, CGM)
    assert BASE in updated.hours


def as_datum(s: Sample) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "cbg" if s.kind == CGM else "smbg",
        "units": s.units,
        "value": s.value,
        "time": format_utc(from_epoch_ms(s.time_ms)),
        "deviceId": s.device_id,
    }
    if s.kind == CGM and s.duration != cgm_duration(s.device_id):
        out["sampleInterval"] = s.duration * 60_000
    return out


@settings(max_examples=150, deadline=None)
@given(series(CGM), series(BGM), st.randoms(use_true_random=False))
def test_upload_order_and_duplicates_do_not_matter(
    cgm: list[Sample], bgm: list[Sample], rng: random.Random
) -> None:
    datums = [as_datum(s) for s in cgm + bgm]
    again = datums + datums[: len(datums) // 2]
    rng.shuffle(again)
    assert summarize(again) == summarize(datums)


@settings(max_examples=150, deadline=None)
@given(series(CGM), series(BGM))
def test_percentages_sum_to_one_and_means_lie_between_min_and_max(
    cgm: list[Sample], bgm: list[Sample]
) -> None:
    for kind, samples in ((CGM, cgm), (BGM, bgm)):
        for period in compute_periods(build_buckets(samples, kind)).values():
            if "inTarget" in period:
                assert math.isclose(sum(period[n]["percent"] for n in BANDS), 1.0)
                low = period["inVeryLow"]["percent"] + period["inLow"]["percent"]
                high = period["inHigh"]["percent"] + period["inVeryHigh"]["percent"]
                assert math.isclose(period["inAnyLow"]["percent"], low)
                assert math.isclose(period["inAnyHigh"]["percent"], high)
                assert period["inExtremeHigh"]["records"] <= period["inVeryHigh"]["records"]
                assert all(0 <= period[n]["percent"] <= 1 for n in BANDS)
            if "averageGlucoseMmol" in period:
                mean = period["averageGlucoseMmol"]
                lo = min(s.mmol for s in samples)
                hi = max(s.mmol for s in samples)
                assert lo * (1 - 1e-12) <= mean <= hi * (1 + 1e-12)
                assert period["standardDeviation"] <= (hi - lo) / 2 * (1 + 1e-9) + 1e-12
            assert 0 <= period["total"]["percent"] <= 1


def packed(samples: list[Sample]) -> bytes:
    """The samples' datums packed as the store keeps them, in the store's order (time)."""
    datums = sorted((as_datum(s) for s in samples), key=lambda d: d["time"])
    return b"".join(p for p in map(packed_sample, datums) if p is not None)


def shares_a_time(samples: list[Sample]) -> bool:
    return len({s.time_ms for s in samples}) < len(samples)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([CGM, BGM]), st.data())
def test_packed_samples_build_and_update_the_buckets_their_datums_do(
    kind: str, data: st.DataObject
) -> None:
    """What the summariser reads instead of the bodies gives the same buckets, built in full
    or loaded by an update (no device ids: a tie in time goes back to the datums)."""
    old = data.draw(series(kind))
    built = buckets_from_packed(packed(old), kind)
    event(f"shares a time: {shares_a_time(old)}")
    if shares_a_time(old):
        assert built is None
    else:
        assert built is not None and built.columns_only == bool(old)
        assert built == build_buckets(old, kind)
        assert compute_periods(built) == compute_periods(build_buckets(old, kind))
    ranges, new = data.draw(change(old, kind))

    def load(lo: int, hi: int) -> list[Sample]:
        found = [s for s in new if lo <= s.time_ms < hi]
        again = samples_from_packed(packed(found), kind)
        assert (again is None) == shares_a_time(found)
        return found if again is None else again

    assert update_buckets(build_buckets(old, kind), ranges, load) == build_buckets(new, kind)
