"""Periods of 1, 7, 14 and 30 days from hourly buckets, each with its delta to the previous."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tidewater.domain.summary.buckets import HOUR_MS, RANGES, WINDOW_HOURS, Bucket, Buckets, hour_of
from tidewater.domain.summary.samples import CGM

PERIOD_DAYS = (1, 7, 14, 30)
DAY_MS = 24 * HOUR_MS
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
    step = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


class _Aggregate:
    """Sums of a run of buckets and their pooled M2: Chan's parallel formula, exact."""

    __slots__ = ("glucose", "hours", "m2", "mean", "minutes", "records", "weight")

    def __init__(self, rows: list[Bucket] | None = None, cgm: bool = True) -> None:
        self.glucose = 0.0  # Σ mmol x weight: ranges report minutes and records only
        self.minutes = [0] * len(RANGES)
        self.records = [0] * len(RANGES)
        self.weight = 0
        self.mean = self.m2 = 0.0
        self.hours = 0
        if rows:
            minutes = list(zip(*[b.minutes for b in rows], strict=True))
            records = list(zip(*[b.records for b in rows], strict=True))
            glucose = [b.glucose[0] for b in rows]
            weights = (minutes if cgm else records)[0]
            self.minutes = [sum(c) for c in minutes]
            self.records = [sum(c) for c in records]
            self.glucose = total = math.fsum(glucose)
            self.hours = len(rows)
            self.weight = weight = sum(weights)
            self.mean = mean = total / weight
            # M2 of the union: the buckets' M2s plus each bucket's weight x (its mean - mean)^2.
            self.m2 = math.fsum([b.variance for b in rows]) + math.fsum(
                [w * (g / w - mean) ** 2 for g, w in zip(glucose, weights, strict=True)]
            )

    def merge(self, other: _Aggregate) -> None:
        self.glucose += other.glucose
        self.minutes = [a + b for a, b in zip(self.minutes, other.minutes, strict=True)]
        self.records = [a + b for a, b in zip(self.records, other.records, strict=True)]
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
    end = hour_of(buckets.last_ms) + HOUR_MS
    hours = sorted(h for h in buckets.hours if end - WINDOW_HOURS * HOUR_MS <= h < end)
    cuts = [bisect.bisect_left(hours, end - e * HOUR_MS) for e in _HOUR_BOUNDARIES]
    cgm = buckets.kind == CGM
    segments = [
        _Aggregate([buckets.hours[h] for h in hours[cuts[i + 1] : cuts[i]]], cgm)
        for i in range(len(_HOUR_BOUNDARIES) - 1)
    ]
    # Day d is the 24-hour block d days before the one ending with the newest hour.
    days_with_data = {(end - 1 - h) // DAY_MS for h in hours}
    out = {}
    for days in PERIOD_DAYS:
        current = _period(
            _union(segments, _CURRENT[days]),
            days,
            sum(1 for d in days_with_data if d < days),
            buckets.kind,
        )
        previous = _period(
            _union(segments, _PREVIOUS[days]),
            days,
            sum(1 for d in days_with_data if days <= d < 2 * days),
            buckets.kind,
        )
        current["delta"] = _delta(current, previous)
        out[f"{days}d"] = current
    return out


def _union(segments: list[_Aggregate], indexes: Iterable[int]) -> _Aggregate:
    # Oldest first, so that sums accumulate in time order.
    total = _Aggregate()
    for i in sorted(indexes, reverse=True):
        total.merge(segments[i])
    return total


def _period(agg: _Aggregate, days: int, days_with_data: int, kind: str) -> dict[str, Any]:
    cgm = kind == CGM
    minutes, records = agg.minutes, agg.records
    out: dict[str, Any] = {
        "daysInPeriod": days,
        "daysWithData": days_with_data,
        "hoursWithData": agg.hours,
    }
    use = 0.0
    if cgm:
        # Readings at the window's edge may spill past it: use is capped at 100 %.
        use = min(1.0, minutes[0] / (days * MINUTES_PER_DAY))
        out["total"] = {
            "glucose": agg.glucose,
            "minutes": minutes[0],
            "records": records[0],
            "percent": use,
            "variance": agg.m2,
        }
        if (use > MIN_CGM_USE) if days == 1 else minutes[0] > MINUTES_PER_DAY:
            for i in range(1, len(RANGES)):
                out[RANGES[i]] = {
                    "minutes": minutes[i],
                    "records": records[i],
                    "percent": minutes[i] / minutes[0],
                }
    else:
        out["total"] = {
            "glucose": agg.glucose,
            "records": records[0],
            "percent": 1.0 if records[0] else 0.0,
            "variance": agg.m2,
        }
        if records[0]:
            for i in range(1, len(RANGES)):
                out[RANGES[i]] = {"records": records[i], "percent": records[i] / records[0]}
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
    for key, value in current.items():
        if isinstance(value, dict):
            before = previous.get(key, {})
            out[key] = {k: v - before.get(k, 0) for k, v in value.items()}
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = value - previous.get(key, 0)
    if "glucoseManagementIndicator" in out:
        # Both sides are rounded to 0.1: keep the difference free of binary noise (7.6 - 7.5).
        out["glucoseManagementIndicator"] = round_half_away(out["glucoseManagementIndicator"])
    return out
