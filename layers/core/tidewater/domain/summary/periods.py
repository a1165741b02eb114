"""Periods of 1, 7, 14 and 30 days from hourly buckets, each with its delta to the previous."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from operator import add
from typing import TYPE_CHECKING, Any

from tidewater.domain.samples import CGM
from tidewater.domain.summary.buckets import HOUR_MS, RANGES, WINDOW_HOURS, Buckets, hour_of

if TYPE_CHECKING:
    from tidewater.domain.summary.vector import BucketColumns, SegmentSums

PERIOD_DAYS = (1, 7, 14, 30)
MINUTES_PER_DAY = 1440
# GMI, and ranges of a 1-day period, need more than 70 % of the period's minutes covered.
MIN_CGM_USE = 0.7

# The window, split at every period edge (hours back from the newest hour), so that each
# bucket is visited once: a period is the union of consecutive segments.
_HOUR_BOUNDARIES = (0, 24, 48, 168, 336, 672, 720, WINDOW_HOURS)
_CURRENT = {
    days: [i for i, e in enumerate(_HOUR_BOUNDARIES[1:]) if e <= 24 * days] for days in PERIOD_DAYS
}
_PREVIOUS = {
    days: [
        i for i in range(len(_HOUR_BOUNDARIES) - 1) if 24 * days <= _HOUR_BOUNDARIES[i] < 48 * days
    ]
    for days in PERIOD_DAYS
}


def glucose_management_indicator(mean_mmol: float) -> float:
    """GMI in % HbA1c: the Jaeb formula (mmol/mol), then NGSP, to one decimal."""
    return round_half_away(0.09148 * (12.71 + 4.70587 * mean_mmol) + 2.152)


def round_half_away(value: float, places: int = 1) -> float:
    """Round as people do (2.25 → 2.3), on the decimal the float prints as, not its binary."""
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
    """Sums of a run of buckets and their pooled M2; runs merge by Chan's parallel formula."""

    __slots__ = ("glucose", "hours", "m2", "mean", "minutes", "records", "weight")

    def __init__(self, sums: SegmentSums | None = None) -> None:
        self.glucose = 0.0  # Σ mmol x weight: ranges report minutes and records only
        self.minutes = [0] * len(RANGES)
        self.records = [0] * len(RANGES)
        self.weight = 0
        self.mean = self.m2 = 0.0
        self.hours = 0
        if sums is not None:
            self.glucose, self.weight, self.mean, self.m2 = (
                sums.glucose,
                sums.weight,
                sums.mean,
                sums.m2,
            )
            self.minutes, self.records, self.hours = sums.minutes, sums.records, sums.hours

    def merge(self, other: _Aggregate) -> None:
        self.glucose += other.glucose
        self.minutes = list(map(add, self.minutes, other.minutes))
        self.records = list(map(add, self.records, other.records))
        self.hours += other.hours
        if not other.weight:
            return
        if not self.weight:
            self.weight, self.mean, self.m2 = other.weight, other.mean, other.m2
            return
        total = self.weight + other.weight
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.weight * other.weight / total
        self.mean += delta * other.weight / total
        self.weight = total


def compute_periods(buckets: Buckets) -> dict[str, dict[str, Any]]:
    """`{"1d": period, "7d": ..., "14d": ..., "30d": ...}`, each with its `delta`; {} if no data."""
    if buckets.last_ms is None:
        return {}
    from tidewater.domain.summary import vector  # numpy: only where summaries are computed

    return periods_of(vector.columns_of(buckets), buckets.last_ms, buckets.kind == CGM)


def periods_of(cols: BucketColumns, last_ms: int, cgm: bool) -> dict[str, dict[str, Any]]:
    """The periods of buckets as columns (`vector.BucketColumns`) whose newest sample is at
    `last_ms`."""
    from tidewater.domain.summary import vector

    end = hour_of(last_ms) + HOUR_MS
    edges = [end - e * HOUR_MS for e in _HOUR_BOUNDARIES]
    pooled = vector.days_of(cols, cgm, end)
    segments = [_Aggregate(s) for s in vector.segment_sums(cols, pooled, edges, cgm)]
    # Day d is the 24-hour block d days before the one ending with the newest hour.
    present = vector.days_with_data(cols, end, edges[-1])
    out = {}
    # Current periods all end with the newest hour: each is the one before and more segments
    # (merged newest first); a previous period is one segment.
    current = _Aggregate()
    merged = 0
    for days in PERIOD_DAYS:
        for i in range(merged, len(_CURRENT[days])):
            current.merge(segments[i])
        merged = len(_CURRENT[days])
        (before,) = _PREVIOUS[days]
        now = _period(current, days, sum(present[:days]), cgm)
        previous = _period(segments[before], days, sum(present[days : 2 * days]), cgm)
        now["delta"] = _delta(now, previous)
        out[f"{days}d"] = now
    return out


def _period(agg: _Aggregate, days: int, days_with_data: int, cgm: bool) -> dict[str, Any]:
    minutes, records = agg.minutes, agg.records
    out: dict[str, Any] = {
        "daysInPeriod": days,
        "daysWithData": days_with_data,
        "hoursWithData": agg.hours,
    }
    use = 0.0
    if cgm:
        # Readings at the window's edge may spill past it: use is capped at 100 %.
        total = minutes[0]
        use = min(1.0, total / (days * MINUTES_PER_DAY))
        out["total"] = {
            "glucose": agg.glucose,
            "minutes": total,
            "records": records[0],
            "percent": use,
            "variance": agg.m2,
        }
        if (use > MIN_CGM_USE) if days == 1 else total > MINUTES_PER_DAY:
            for name, m, r in islice(zip(RANGES, minutes, records, strict=True), 1, None):
                out[name] = {"minutes": m, "records": r, "percent": m / total}
    else:
        count = records[0]
        out["total"] = {
            "glucose": agg.glucose,
            "records": count,
            "percent": 1.0 if count else 0.0,
            "variance": agg.m2,
        }
        if count:
            for name, r in islice(zip(RANGES, records, strict=True), 1, None):
                out[name] = {"records": r, "percent": r / count}
    out["averageDailyRecords"] = records[0] / days
    if agg.weight:
        mean = agg.glucose / agg.weight
        sd = math.sqrt(max(0.0, agg.m2 / agg.weight))
        out["averageGlucoseMmol"] = mean
        if cgm and use > MIN_CGM_USE:
            out["glucoseManagementIndicator"] = glucose_management_indicator(mean)
        out["standardDeviation"] = sd
        if mean > 0:
            out["coefficientOfVariation"] = sd / mean
    if cgm:
        out["timeCGMUsePercent"] = use
    return out


def _delta(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """current - previous for every number the current period has; a missing previous is 0."""
    out: dict[str, Any] = {}
    earlier = previous.get
    for key, value in current.items():
        kind = type(value)
        if kind is dict:
            before = earlier(key)
            # (x - 0 is x, for ints and floats alike.)
            out[key] = {k: v - before[k] for k, v in value.items()} if before else value.copy()
        elif kind is float or kind is int:
            out[key] = value - earlier(key, 0)
    if "glucoseManagementIndicator" in out:
        # Both sides are rounded to 0.1: keep the difference free of binary noise (7.6 - 7.5).
        out["glucoseManagementIndicator"] = round_half_away(out["glucoseManagementIndicator"])
    return out
