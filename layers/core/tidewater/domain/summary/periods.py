"""Periods of 1, 7, 14 and 30 days from hourly buckets, each with its delta to the previous."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from tidewater.domain.samples import CGM
from tidewater.domain.summary.buckets import (
    HOUR_MS,
    RANGES,
    SEGMENT_BOUNDARIES,
    WINDOW_HOURS,
    Buckets,
    window_end,
)

if TYPE_CHECKING:
    from tidewater.domain.summary.vector import BucketColumns

PERIOD_DAYS = (1, 7, 14, 30)
MINUTES_PER_DAY = 1440
# GMI, and ranges of a 1-day period, need more than 70 % of the period's minutes covered.
MIN_CGM_USE = 0.7

# A period is a union of the window's segments (split at SEGMENT_BOUNDARIES, hours back from
# the newest hour, `segments`): a current one is segments [0, _CURRENT[days]), all ending
# with the newest hour; a previous one is the segment _PREVIOUS[days].
_CURRENT = {days: SEGMENT_BOUNDARIES[1:].index(24 * days) + 1 for days in PERIOD_DAYS}
_PREVIOUS = {days: SEGMENT_BOUNDARIES.index(24 * days) for days in PERIOD_DAYS}


def glucose_management_indicator(mean_mmol: float) -> float:
    """GMI in % HbA1c: the Jaeb formula (mmol/mol), then NGSP, to one decimal."""
    return round_half_away(0.09148 * (12.71 + 4.70587 * mean_mmol) + 2.152)


def round_half_away(value: float, places: int = 1) -> float:
    """Round as people do (2.25 → 2.3), on the decimal the float prints as, not its binary."""
    scaled = abs(value) * 10**places
    # Far from a half, the printed decimal and the binary fall on the same side of it, and
    # `round` gives the nearest float to the decimal rounded: the same float. (nan: False.)
    if scaled < 1e9 and abs(scaled - math.floor(scaled) - 0.5) > 1e-6:
        return round(value, places)
    text = repr(value)
    whole, dot, fraction = text.lstrip("-").partition(".")
    if not dot or not whole.isdigit() or not fraction.isdigit():  # exponent, inf, nan
        step = Decimal(1).scaleb(-places)
        return float(Decimal(text).quantize(step, rounding=ROUND_HALF_UP))
    # Half up on the printed digits: the first digit dropped decides; then one exactly
    # rounded division, as float(Decimal) would give.
    kept = int(whole + fraction[:places].ljust(places, "0"))
    if fraction[places : places + 1] >= "5":
        kept += 1
    rounded = kept / 10**places
    return -rounded if text.startswith("-") else rounded


class _Aggregate:
    """What a period reports is made of: Σ mmol x weight, the weight, the pooled M2, and the
    counts (minutes by range, records by range, buckets)."""

    __slots__ = ("glucose", "hours", "m2", "minutes", "records", "weight")

    def __init__(self, glucose: float, weight: int, m2: float, counts: list[int]) -> None:
        self.glucose, self.weight, self.m2 = glucose, weight, m2
        self.minutes, self.records, self.hours = counts[:9], counts[9:18], counts[18]


_BANDS = RANGES[1:]


def compute_periods(buckets: Buckets) -> dict[str, dict[str, Any]]:
    """`{"1d": period, "7d": ..., "14d": ..., "30d": ...}`, each with its `delta`; {} if no data."""
    if buckets.last_ms is None:
        return {}
    from tidewater.domain.summary import vector  # numpy: only where summaries are computed

    return periods_of(vector.columns_of(buckets), buckets.last_ms, buckets.kind == CGM)


def periods_of(cols: BucketColumns, last_ms: int, cgm: bool) -> dict[str, dict[str, Any]]:
    """The periods of buckets as columns (`vector.BucketColumns`) whose newest sample is at
    `last_ms`."""
    from tidewater.domain.summary import segments, vector

    end = window_end(last_ms)
    sums = segments.sums_for(cols, cgm, end)
    # Day d is the 24-hour block d days before the one ending with the newest hour.
    with_data = vector.days_with_data(cols, end, end - WINDOW_HOURS * HOUR_MS)
    write = _cgm_period if cgm else _bgm_period
    current = segments.newest(sums, [_CURRENT[days] for days in PERIOD_DAYS], cgm)
    out = {}
    for days, now in zip(PERIOD_DAYS, current, strict=True):
        before = segments.pooled(sums, _PREVIOUS[days], cgm)
        out[f"{days}d"] = write(
            _Aggregate(*now),
            _Aggregate(*before),
            days,
            with_data[days],
            with_data[2 * days] - with_data[days],
        )
    return out


# A period and its delta are written side by side: the delta is current - previous for every
# number the current period has (a number the previous one lacks counts as 0), in the
# current period's order; the previous period itself is not reported.


def _cgm_period(
    agg: _Aggregate, prev: _Aggregate, days: int, with_data: int, with_data_before: int
) -> dict[str, Any]:
    minutes, records = agg.minutes, agg.records
    total, p_total = minutes[0], prev.minutes[0]
    count, p_count = records[0], prev.records[0]
    # Readings at the window's edge may spill past it: use is capped at 100 %.
    use = min(1.0, total / (days * MINUTES_PER_DAY))
    p_use = min(1.0, p_total / (days * MINUTES_PER_DAY))
    out, delta = _heads(agg, prev, days, with_data, with_data_before)
    now = {"minutes": total, "records": count, "percent": use}
    _total(out, delta, agg, prev, now, {"minutes": p_total, "records": p_count, "percent": p_use})
    if _cgm_ranged(use, total, days):
        band_minutes, band_records = minutes[1:], records[1:]
        shares = [m / total for m in band_minutes]
        for name, m, r, p in zip(_BANDS, band_minutes, band_records, shares, strict=True):
            out[name] = {"minutes": m, "records": r, "percent": p}
        if _cgm_ranged(p_use, p_total, days):
            before = zip(prev.minutes[1:], prev.records[1:], strict=True)
            for name, m, r, p, (pm, pr) in zip(
                _BANDS, band_minutes, band_records, shares, before, strict=True
            ):
                delta[name] = {"minutes": m - pm, "records": r - pr, "percent": p - pm / p_total}
        else:
            _copied(out, delta)
    _averages(out, delta, agg, prev, days, (use > MIN_CGM_USE, p_use > MIN_CGM_USE))
    out["timeCGMUsePercent"] = use
    delta["timeCGMUsePercent"] = use - p_use
    out["delta"] = delta
    return out


def _cgm_ranged(use: float, total: int, days: int) -> bool:
    """Ranges are reported with more than 70 % use of a day, or more than a day's minutes."""
    return use > MIN_CGM_USE if days == 1 else total > MINUTES_PER_DAY


def _bgm_period(
    agg: _Aggregate, prev: _Aggregate, days: int, with_data: int, with_data_before: int
) -> dict[str, Any]:
    records = agg.records
    count, p_count = records[0], prev.records[0]
    percent = 1.0 if count else 0.0
    out, delta = _heads(agg, prev, days, with_data, with_data_before)
    before = {"records": p_count, "percent": 1.0 if p_count else 0.0}
    _total(out, delta, agg, prev, {"records": count, "percent": percent}, before)
    if count:
        band_records = records[1:]
        shares = [r / count for r in band_records]
        for name, r, p in zip(_BANDS, band_records, shares, strict=True):
            out[name] = {"records": r, "percent": p}
        if p_count:
            for name, r, p, pr in zip(_BANDS, band_records, shares, prev.records[1:], strict=True):
                delta[name] = {"records": r - pr, "percent": p - pr / p_count}
        else:
            _copied(out, delta)
    _averages(out, delta, agg, prev, days, None)
    out["delta"] = delta
    return out


def _heads(
    agg: _Aggregate, prev: _Aggregate, days: int, with_data: int, with_data_before: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A period's first numbers, and their delta."""
    out = {"daysInPeriod": days, "daysWithData": with_data, "hoursWithData": agg.hours}
    delta = {
        "daysInPeriod": 0,
        "daysWithData": with_data - with_data_before,
        "hoursWithData": agg.hours - prev.hours,
    }
    return out, delta


def _total(
    out: dict[str, Any],
    delta: dict[str, Any],
    agg: _Aggregate,
    prev: _Aggregate,
    now: dict[str, Any],
    before: dict[str, Any],
) -> None:
    """A period's `total`: Σ glucose, the counts `now` (`before`: the previous period's), and
    the variance, with its delta."""
    out["total"] = {"glucose": agg.glucose, **now, "variance": agg.m2}
    moved = {name: value - before[name] for name, value in now.items()}
    delta["total"] = {"glucose": agg.glucose - prev.glucose, **moved, "variance": agg.m2 - prev.m2}


def _copied(out: dict[str, Any], delta: dict[str, Any]) -> None:
    """The ranges' delta when the previous period reports none: the ranges themselves."""
    for name in _BANDS:
        delta[name] = out[name].copy()


def _averages(
    out: dict[str, Any],
    delta: dict[str, Any],
    agg: _Aggregate,
    prev: _Aggregate,
    days: int,
    gmi: tuple[bool, bool] | None,
) -> None:
    """Daily records, and with any weight the mean, GMI (CGM: `gmi` says whether each period
    has enough use), SD and CV, each with its delta."""
    count, p_count = agg.records[0], prev.records[0]
    out["averageDailyRecords"] = count / days
    delta["averageDailyRecords"] = count / days - p_count / days
    if not agg.weight:
        return
    mean = agg.glucose / agg.weight
    sd = math.sqrt(max(0.0, agg.m2 / agg.weight))
    p_mean = p_sd = 0.0
    if prev.weight:
        p_mean = prev.glucose / prev.weight
        p_sd = math.sqrt(max(0.0, prev.m2 / prev.weight))
    out["averageGlucoseMmol"] = mean
    delta["averageGlucoseMmol"] = mean - p_mean
    if gmi is not None and gmi[0]:
        out["glucoseManagementIndicator"] = now = glucose_management_indicator(mean)
        before = glucose_management_indicator(p_mean) if prev.weight and gmi[1] else 0
        # Both sides are rounded to 0.1: keep the difference free of binary noise.
        delta["glucoseManagementIndicator"] = round_half_away(now - before)
    out["standardDeviation"] = sd
    delta["standardDeviation"] = sd - p_sd
    if mean > 0:
        out["coefficientOfVariation"] = cv = sd / mean
        delta["coefficientOfVariation"] = cv - (p_sd / p_mean if p_mean > 0 else 0)
