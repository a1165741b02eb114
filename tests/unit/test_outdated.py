"""Which periods of a user's samples a change touches, for the summariser to read again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tidewater.domain.outdated import (
    MAX_HOURS,
    MAX_TOUCHED,
    glucose_window,
    period_bounds,
    touched_periods,
)
from tidewater.domain.timeutil import format_utc

NOW = datetime(2026, 11, 21, 13, 30, tzinfo=UTC)


def test_glucose_window_is_two_years_back_and_one_day_ahead() -> None:
    now = datetime(2024, 3, 5, 12, 0, 0, tzinfo=UTC)
    assert glucose_window(now) == ("2022-03-05T12:00:00.000Z", "2024-03-06T12:00:00.000Z")
    leap = datetime(2024, 2, 29, 6, 0, tzinfo=UTC)
    assert glucose_window(leap) == ("2022-02-28T06:00:00.000Z", "2024-03-01T06:00:00.000Z")


def test_glucose_samples_touch_their_hours() -> None:
    samples = [
        ("cbg", "2026-11-21T13:05:00.000Z"),
        ("cbg", "2026-11-21T13:55:00.000Z"),
        ("cbg", "2026-11-21T12:59:59.999Z"),
        ("smbg", "2026-11-21T13:00:00.000Z"),
        ("basal", "2026-11-21T13:00:00.000Z"),
        ("bolus", "2026-11-21T11:00:00.000Z"),
    ]
    assert touched_periods(samples, NOW) == {
        "cbg#2026-11-21T13",
        "cbg#2026-11-21T12",
        "smbg#2026-11-21T13",
    }


def test_samples_outside_the_summary_window_touch_nothing() -> None:
    samples = [
        ("cbg", "2024-11-21T13:29:59.999Z"),  # more than 2 years back
        ("cbg", "2026-11-22T13:30:00.001Z"),  # more than a day ahead
    ]
    assert touched_periods(samples, NOW) == frozenset()
    edge = [("cbg", "2024-11-21T13:30:00.000Z"), ("cbg", "2026-11-22T13:30:00.000Z")]
    assert touched_periods(edge, NOW) == {"cbg#2024-11-21T13", "cbg#2026-11-22T13"}


def test_a_history_upload_is_recorded_by_day() -> None:
    start = NOW - timedelta(days=3)
    samples = [("cbg", format_utc(start + timedelta(minutes=5 * i))) for i in range(12 * 72)]
    touched = touched_periods(samples, NOW)
    assert touched == {"cbg#2026-11-18", "cbg#2026-11-19", "cbg#2026-11-20", "cbg#2026-11-21"}


def test_just_enough_hours_stay_hours() -> None:
    samples = [("cbg", format_utc(NOW - timedelta(hours=h))) for h in range(MAX_HOURS)]
    assert all(len(p) == len("cbg#2026-11-21T13") for p in touched_periods(samples, NOW))


@given(st.lists(st.tuples(st.sampled_from(["cbg", "smbg"]),
                          st.integers(0, 2 * 366 * 24 * 60)), max_size=400))  # fmt: skip
def test_periods_cover_every_sample_and_stay_bounded(offsets) -> None:
    samples = [(kind, format_utc(NOW - timedelta(minutes=m))) for kind, m in offsets]
    touched = touched_periods(samples, NOW)
    assert len(touched) <= MAX_TOUCHED
    for kind, time in samples:
        if time < "2024-11-21T13:30:00.000Z":
            continue
        assert any(
            p.startswith(kind + "#") and period_bounds(p)[1] <= time <= period_bounds(p)[2]
            for p in touched
        )


def test_period_bounds() -> None:
    assert period_bounds("cbg#2026-11-21T13") == (
        "cbg", "2026-11-21T13:00:00.000Z", "2026-11-21T13:59:59.999Z")  # fmt: skip
    assert period_bounds("smbg#2026-11-21") == (
        "smbg", "2026-11-21T00:00:00.000Z", "2026-11-21T23:59:59.999Z")  # fmt: skip
