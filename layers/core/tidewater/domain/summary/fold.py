"""Time-ordered samples into hourly buckets: the sample-by-sample loop (what the incremental
update folds its few hours with) and a full build of the window (numpy, `vector.fold`, the
same buckets bit for bit)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from tidewater.domain.samples import BGM, CGM, MINUTE_MS, Sample
from tidewater.domain.summary.buckets import (
    HOUR_MS,
    NO_MASK,
    TOLERANCE_MS,
    WINDOW_HOURS,
    Bucket,
    Buckets,
    hour_of,
)
from tidewater.domain.units import MGDL, MMOLL


def build_buckets(samples: Iterable[Sample], kind: str) -> Buckets:
    """All buckets of `kind` from scratch. Other kinds in `samples` are ignored."""
    from tidewater.domain.summary import vector  # numpy: only where summaries are computed

    ordered = [s for s in samples if s.kind == kind]
    ordered.sort()
    if not ordered:
        return Buckets(kind)
    last = ordered[-1].time_ms
    first = bisect.bisect_left(ordered, window_start(last), key=sample_time)
    made = vector.fold(vector.columns_from_samples(dedup(ordered[first:], kind)))
    return Buckets(kind, None, last, made)


def window_start(last_ms: int) -> int:
    """The first hour of the window that ends with the hour of `last_ms`."""
    return hour_of(last_ms) - (WINDOW_HOURS - 1) * HOUR_MS


# The range table's glucose thresholds (VeryLow <, Low <, Target <=, High <=, ExtremeHigh >=),
# by the unit the device reported.
RANGE_THRESHOLDS = {MGDL: (54, 70, 180, 250, 350), MMOLL: (3.0, 3.9, 10.0, 13.9, 19.4)}


def accumulate(samples: Sequence[Sample], mask: int) -> tuple[list[Bucket], int]:
    """Buckets of time-ordered samples, given the blackout carried in; returns the mask out.

    The incremental update's fold of the hours it recomputes (a whole window goes through
    `vector.fold`): samples are unpacked as tuples, and the six bands' sums live in local
    variables, the fastest storage CPython has.
    """
    out: list[Bucket] = []
    hour = NO_MASK
    first = last = last_d = weight = 0
    g0 = g1 = g2 = g3 = g4 = g5 = 0.0
    m0 = m1 = m2 = m3 = m4 = m5 = r0 = r1 = r2 = r3 = r4 = r5 = 0
    mean = sq = lo = hi = 0.0
    kind = CGM
    units_now = MGDL
    e54, e70, e180, e250, e350 = RANGE_THRESHOLDS[MGDL]
    hour_end = NO_MASK
    minute, tolerance, hour_ms = MINUTE_MS, TOLERANCE_MS, HOUR_MS
    for t, v, units, value, d, _device, kind in samples:
        if t < mask:
            continue
        mask = t + d * minute - tolerance
        if t >= hour_end:
            if weight:
                out.append(
                    _bucket(
                        (kind, hour, first, last, last_d),
                        (g0, g1, g2, g3, g4, g5),
                        (m0, m1, m2, m3, m4, m5),
                        (r0, r1, r2, r3, r4, r5),
                        (sq, lo, hi),
                    )
                )
            hour = t - t % hour_ms
            hour_end, first = hour + hour_ms, t
            g0 = g1 = g2 = g3 = g4 = g5 = 0.0
            m0 = m1 = m2 = m3 = m4 = m5 = r0 = r1 = r2 = r3 = r4 = r5 = 0
            weight = 0
            mean = sq = 0.0
            lo = hi = v
        if units != units_now:
            units_now = units
            e54, e70, e180, e250, e350 = (
                RANGE_THRESHOLDS[units] if units in RANGE_THRESHOLDS else RANGE_THRESHOLDS[MMOLL]
            )
        # CGM readings weigh the minutes they cover, BGM readings (duration 0) one each.
        w = d or 1
        vw = v * w
        if value < e70:
            if value < e54:
                g0 += vw
                m0 += d
                r0 += 1
            else:
                g1 += vw
                m1 += d
                r1 += 1
        elif value <= e180:
            g2 += vw
            m2 += d
            r2 += 1
        elif value <= e250:
            g3 += vw
            m3 += d
            r3 += 1
        elif value < e350:
            g4 += vw
            m4 += d
            r4 += 1
        else:
            g5 += vw
            m5 += d
            r5 += 1
        # Welford's update, weighted: sq is the hour's M2, exact to pool later (Chan).
        weight += w
        delta = v - mean
        mean += delta * (w / weight)  # exactly v for an hour's first reading
        sq += w * delta * (v - mean)
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
        last, last_d = t, d
    if weight:
        out.append(
            _bucket(
                (kind, hour, first, last, last_d),
                (g0, g1, g2, g3, g4, g5),
                (m0, m1, m2, m3, m4, m5),
                (r0, r1, r2, r3, r4, r5),
                (sq, lo, hi),
            )
        )
    return out, mask


def _bucket(
    head: tuple[str, int, int, int, int],
    g: tuple[float, float, float, float, float, float],
    m: tuple[int, int, int, int, int, int],
    r: tuple[int, int, int, int, int, int],
    spread: tuple[float, float, float],
) -> Bucket:
    """A bucket from the six bands: VeryHigh includes ExtremeHigh; AnyLow, AnyHigh are sums."""
    g0, g1, g2, g3, g4, g5 = g
    m0, m1, m2, m3, m4, m5 = m
    r0, r1, r2, r3, r4, r5 = r
    return Bucket(
        *head,
        (g0 + g1 + g2 + g3 + g4 + g5, g0, g1, g2, g3, g4 + g5, g5, g0 + g1, g3 + g4 + g5),
        (m0 + m1 + m2 + m3 + m4 + m5, m0, m1, m2, m3, m4 + m5, m5, m0 + m1, m3 + m4 + m5),
        (r0 + r1 + r2 + r3 + r4 + r5, r0, r1, r2, r3, r4 + r5, r5, r0 + r1, r3 + r4 + r5),
        *spread,
    )


def dedup(samples: list[Sample], kind: str) -> list[Sample]:
    """BGM: the same reading stored twice counts once (CGM duplicates are masked anyway)."""
    if kind != BGM or len(samples) < 2:
        return samples
    return [s for i, s in enumerate(samples) if i == 0 or s != samples[i - 1]]


def sample_time(sample: Sample) -> int:
    return sample.time_ms
