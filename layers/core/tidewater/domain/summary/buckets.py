"""Hourly buckets of one data type over the 60-day window, built in full or incrementally.

The window is the 1,440 UTC hours ending at the hour of the newest sample of the type. The
blackout chain starts afresh at the window's first hour: samples older than the window
neither count nor mask, so a summary is a function of the window's samples alone, and an
incremental update (which never sees older data) reproduces a full recompute exactly.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidewater.domain.summary.samples import (
    BGM,
    CGM,
    MINUTE_MS,
    Sample,
    coerce_sample,
)
from tidewater.domain.timeutil import format_utc, from_epoch_ms, parse_rfc3339, to_epoch_ms
from tidewater.domain.units import MGDL, MMOLL

HOUR_MS = 3_600_000
WINDOW_HOURS = 1440
# Sensors report a few seconds early or late: the next 5-minute reading must still count.
TOLERANCE_MS = 10_000
NO_MASK = -(1 << 62)
# The loader is never asked for anything older (1970-01-01).
EARLIEST_MS = 0
# All ranges of a bucket or period, `total` first; the index is the position in its tuples.
RANGES = (
    "total",
    "inVeryLow",
    "inLow",
    "inTarget",
    "inHigh",
    "inVeryHigh",
    "inExtremeHigh",
    "inAnyLow",
    "inAnyHigh",
)

Loader = Callable[[int, int], Iterable[Sample | Mapping[str, Any]]]


def hour_of(time_ms: int) -> int:
    return time_ms - time_ms % HOUR_MS


@dataclass(slots=True)
class Bucket:
    """One UTC hour of counted samples of one type. Tuples hold one number per RANGES entry.

    CGM sums are weighted by minutes (`glucose` is Σ mmol·minutes), BGM by records.
    `variance` is the weighted M2 (Σ w·(v - mean)²) of the hour, from Welford's update.
    """

    kind: str
    date: int
    first_time: int
    last_time: int
    last_duration: int
    glucose: tuple[float, ...]
    minutes: tuple[int, ...]
    records: tuple[int, ...]
    variance: float
    minimum: float
    maximum: float

    @property
    def mask(self) -> int:
        """Until when this hour's last counted sample masks later ones."""
        return self.last_time + self.last_duration * MINUTE_MS - TOLERANCE_MS

    @property
    def weight(self) -> int:
        return self.minutes[0] if self.kind == CGM else self.records[0]

    def to_dict(self) -> dict[str, Any]:
        cgm = self.kind == CGM
        out: dict[str, Any] = {
            "type": self.kind,
            "date": format_utc(from_epoch_ms(self.date)),
            "firstRecordTime": format_utc(from_epoch_ms(self.first_time)),
            "lastRecordTime": format_utc(from_epoch_ms(self.last_time)),
        }
        if cgm:
            out["lastRecordDuration"] = self.last_duration
        for i, name in enumerate(RANGES):
            stats: dict[str, Any] = {"glucose": self.glucose[i]}
            if cgm:
                stats["minutes"] = self.minutes[i]
            stats["records"] = self.records[i]
            out[name] = stats
        out["total"].update(variance=self.variance, min=self.minimum, max=self.maximum)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bucket:
        kind = data["type"]
        cgm = kind == CGM
        ranges = [data[name] for name in RANGES]
        total = ranges[0]
        return cls(
            kind=kind,
            date=_ms(data["date"]),
            first_time=_ms(data["firstRecordTime"]),
            last_time=_ms(data["lastRecordTime"]),
            last_duration=int(data["lastRecordDuration"]) if cgm else 0,
            glucose=tuple(float(r["glucose"]) for r in ranges),
            minutes=tuple(int(r["minutes"]) if cgm else 0 for r in ranges),
            records=tuple(int(r["records"]) for r in ranges),
            variance=float(total["variance"]),
            minimum=float(total["min"]),
            maximum=float(total["max"]),
        )


@dataclass
class Buckets:
    """The buckets of one type, keyed by hour start (epoch ms), and its newest sample.

    `last_ms` is the newest sample of the type, counted or masked: the window and the periods
    end at its hour. It is None exactly when there is no data.
    """

    kind: str
    hours: dict[int, Bucket] = field(default_factory=dict)
    last_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        last = None if self.last_ms is None else format_utc(from_epoch_ms(self.last_ms))
        out: dict[str, Any] = {
            "type": self.kind,
            "buckets": [self.hours[h].to_dict() for h in sorted(self.hours)],
        }
        if last is not None:
            out["lastData"] = last
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Buckets:
        hours = {b.date: b for b in map(Bucket.from_dict, data.get("buckets", ()))}
        last = data.get("lastData")
        return cls(data["type"], hours, None if last is None else _ms(last))


def build_buckets(samples: Iterable[Sample], kind: str) -> Buckets:
    """All buckets of `kind` from scratch. Other kinds in `samples` are ignored."""
    ordered = [s for s in samples if s.kind == kind]
    ordered.sort()
    if not ordered:
        return Buckets(kind)
    last = ordered[-1].time_ms
    start = hour_of(last) - (WINDOW_HOURS - 1) * HOUR_MS
    first = bisect.bisect_left(ordered, start, key=_time)
    made, _ = accumulate(_dedup(ordered[first:], kind), NO_MASK)
    return Buckets(kind, {b.date: b for b in made}, last)


# The table's edges (VeryLow <, Low <, Target <=, High <=, ExtremeHigh >=) by reported unit.
_EDGES = {MGDL: (54, 70, 180, 250, 350), MMOLL: (3.0, 3.9, 10.0, 13.9, 19.4)}


def accumulate(samples: Sequence[Sample], mask: int) -> tuple[list[Bucket], int]:
    """Buckets of time-ordered samples, given the blackout carried in; returns the mask out.

    The hot loop of the engine (17,280 readings for 60 days of CGM): samples are unpacked as
    tuples, and the six bands' sums live in local variables, the fastest storage CPython has.
    """
    out: list[Bucket] = []
    hour = NO_MASK
    first = last = last_d = weight = 0
    g0 = g1 = g2 = g3 = g4 = g5 = 0.0
    m0 = m1 = m2 = m3 = m4 = m5 = r0 = r1 = r2 = r3 = r4 = r5 = 0
    mean = sq = lo = hi = 0.0
    kind = CGM
    units_now = MGDL
    e54, e70, e180, e250, e350 = _EDGES[MGDL]
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
            e54, e70, e180, e250, e350 = _EDGES[units] if units in _EDGES else _EDGES[MMOLL]
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


def update_buckets(current: Buckets, changed: Iterable[tuple[int, int]], load: Loader) -> Buckets:
    """Buckets after the samples in the `changed` ranges [start_ms, end_ms) changed (added,
    replaced or deleted).

    `current` must be the buckets of the data as it was; samples outside the ranges must not
    have changed. `load(a, b)` returns the samples (or datums) with a <= time < b; the engine
    asks for the changed hours, for hours whose blackout carried in changed, for hours that
    enter the window when it moves back, and (only when the newest sample was deleted) for
    the range where the new newest one is. The result equals `build_buckets` of all the data.
    """
    kind = current.kind
    spans = _hour_spans(changed)
    if not spans:
        return current
    source = _Source(load, kind)
    loaded = [source.load(a, b) for a, b in spans]
    newest_loaded = max((found[-1].time_ms for found in loaded if found), default=None)
    old_last = current.last_ms
    if old_last is None:
        # Nothing stored outside the ranges: everything there is is in them.
        return build_buckets([s for found in loaded for s in found], kind)
    inside = next((a for a, b in spans if a <= old_last < b), None)
    if inside is None:
        last: int | None = max(old_last, newest_loaded or old_last)
    else:
        # The newest stored sample may be gone: the newest unchanged one is before its span.
        unchanged = _newest_unchanged(current, inside, spans, source)
        last = max((t for t in (unchanged, newest_loaded) if t is not None), default=None)
    if last is None:
        return Buckets(kind)

    old = current.hours
    old_hours = sorted(old)
    end = hour_of(last) + HOUR_MS
    start = end - WINDOW_HOURS * HOUR_MS
    old_start = hour_of(old_last) + HOUR_MS - WINDOW_HOURS * HOUR_MS
    forced = [(max(a, start), min(b, end)) for a, b in spans if max(a, start) < min(b, end)]
    if start < old_start:
        forced.append((start, min(old_start, end)))
    forced.sort()

    new: dict[int, Bucket] = {}
    mask = NO_MASK
    pos = start
    while pos < end:
        span = next(((a, b) for a, b in forced if b > pos), None)
        if span is not None and span[0] <= pos:
            made, mask = accumulate(source.get(pos, span[1]), mask)
            new.update((b.date, b) for b in made)
            pos = span[1]
            continue
        stop = end if span is None else span[0]
        i = bisect.bisect_left(old_hours, pos)
        carried = old[old_hours[i - 1]].mask if i else NO_MASK
        if _effective(mask, pos) == _effective(carried, pos):
            # In step with the stored chain: its buckets up to the next forced span hold.
            j = bisect.bisect_left(old_hours, stop, lo=i)
            for h in old_hours[i:j]:
                new[h] = old[h]
            if j > i:
                mask = old[old_hours[j - 1]].mask
            pos = stop
        else:
            made, mask = accumulate(source.get(pos, pos + HOUR_MS), mask)
            new.update((b.date, b) for b in made)
            pos += HOUR_MS
    return Buckets(kind, new, last)


def _hour_spans(changed: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The changed ranges widened to whole hours, merged, in time order."""
    spans: list[tuple[int, int]] = []
    for a, b in sorted((hour_of(a), hour_of(b - 1) + HOUR_MS) for a, b in changed if a < b):
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
        else:
            spans.append((a, b))
    return spans


def _newest_unchanged(
    current: Buckets, before: int, spans: list[tuple[int, int]], source: _Source
) -> int | None:
    """The newest sample before `before` outside the changed spans."""

    def unchanged(t: int) -> bool:
        return not any(a <= t < b for a, b in spans)

    earlier = [h for h in current.hours if h < before and unchanged(h)]
    # That bucket's last sample is unchanged; only samples it masked can be newer than it.
    since = current.hours[max(earlier)].last_time if earlier else EARLIEST_MS
    found = [s.time_ms for s in source.load(since, before) if unchanged(s.time_ms)]
    return max(found, default=None)


def _effective(mask: int, hour: int) -> int:
    """A mask that ends before the hour starts masks nothing in it."""
    return mask if mask > hour else NO_MASK


class _Source:
    """Samples fetched through the loader, kept so no range is asked for twice."""

    def __init__(self, load: Loader, kind: str) -> None:
        self._load = load
        self._kind = kind
        self._spans: list[tuple[int, int, list[Sample]]] = []

    def load(self, a: int, b: int) -> list[Sample]:
        samples = [
            s
            for s in (coerce_sample(item) for item in self._load(a, b))
            if s is not None and s.kind == self._kind and a <= s.time_ms < b
        ]
        samples.sort()
        self._spans.append((a, b, samples))
        return samples

    def get(self, a: int, b: int) -> list[Sample]:
        for lo, hi, samples in self._spans:
            if lo <= a and b <= hi:
                i = bisect.bisect_left(samples, a, key=_time)
                j = bisect.bisect_left(samples, b, key=_time)
                return _dedup(samples[i:j], self._kind)
        return _dedup(self.load(a, b), self._kind)


def _dedup(samples: list[Sample], kind: str) -> list[Sample]:
    """BGM: the same reading stored twice counts once (CGM duplicates are masked anyway)."""
    if kind != BGM or len(samples) < 2:
        return samples
    return [s for i, s in enumerate(samples) if i == 0 or s != samples[i - 1]]


def _time(sample: Sample) -> int:
    return sample.time_ms


def _ms(text: str) -> int:
    return to_epoch_ms(parse_rfc3339(text))
