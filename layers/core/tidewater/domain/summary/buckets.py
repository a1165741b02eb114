"""Hourly buckets of one data type over the 60-day window: the model and its JSON codec.

Built in full by `fold.build_buckets`, updated by `incremental.update_buckets`. The window
is the 1,440 UTC hours ending at the hour of the newest sample of the type. The
blackout chain starts afresh at the window's first hour: samples older than the window
neither count nor mask, so a summary is a function of the window's samples alone, and an
incremental update (which never sees older data) reproduces a full recompute exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from tidewater.domain.samples import CGM, MINUTE_MS, parse_time_ms
from tidewater.domain.timeutil import EPOCH, format_utc, from_epoch_ms

HOUR_MS = 3_600_000
WINDOW_HOURS = 1440
# The window split at every period edge (hours back from its end): a period of 1, 7, 14 or
# 30 days, or the one before it, is a union of consecutive segments.
SEGMENT_BOUNDARIES = (0, 24, 48, 168, 336, 672, 720, WINDOW_HOURS)
# Sensors report a few seconds early or late: the next 5-minute reading must still count.
TOLERANCE_MS = 10_000
NO_MASK = -(1 << 62)
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


_NO_MINUTES = (0,) * len(RANGES)  # BGM
_DAY_MS = 24 * HOUR_MS
_YEAR_10000_MS = 253_402_300_800_000


def hour_of(time_ms: int) -> int:
    return time_ms - time_ms % HOUR_MS


def window_end(last_ms: int) -> int:
    """The end of the window whose newest sample is at `last_ms` (the next hour's start)."""
    return hour_of(last_ms) + HOUR_MS


def merged_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges [a, b) merged where they touch or overlap, in order."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def utc_text(ms: int) -> str:
    """`format_utc` of epoch ms, without a datetime: each day's date is written once."""
    if not 0 <= ms < _YEAR_10000_MS:
        return format_utc(from_epoch_ms(ms))
    day, rest = divmod(ms, _DAY_MS)
    seconds, millis = divmod(rest, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{_date_text(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


@lru_cache(maxsize=1024)
def _date_text(day: int) -> str:
    return (EPOCH.date() + timedelta(days=day)).isoformat()


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
            "date": utc_text(self.date),
            "firstRecordTime": utc_text(self.first_time),
            "lastRecordTime": utc_text(self.last_time),
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

    def to_row(self) -> list[Any]:
        """The bucket as the store packs it: `[date, first, last, lastDuration, glucose (9),
        minutes (9, CGM only), records (9), variance, min, max]`, times in epoch ms. Rows
        decode without a key per field or a time to parse."""
        minutes = self.minutes if self.kind == CGM else ()
        return [
            self.date, self.first_time, self.last_time, self.last_duration, *self.glucose,
            *minutes, *self.records, self.variance, self.minimum, self.maximum,
        ]  # fmt: skip

    @classmethod
    def from_row(cls, kind: str, row: Sequence[Any]) -> Bucket:
        n = len(RANGES)
        g = 4 + n  # where the glucose sums end
        minutes, r = (tuple(row[g : g + n]), g + n) if kind == CGM else (_NO_MINUTES, g)
        return cls(kind, row[0], row[1], row[2], row[3], tuple(row[4:g]), minutes,
                   tuple(row[r : r + n]), row[r + n], row[r + n + 1], row[r + n + 2])  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bucket:
        kind = data["type"]
        cgm = kind == CGM
        ranges = [data[name] for name in RANGES]
        total = ranges[0]
        return cls(
            kind=kind,
            date=parse_time_ms(data["date"]),
            first_time=parse_time_ms(data["firstRecordTime"]),
            last_time=parse_time_ms(data["lastRecordTime"]),
            last_duration=int(data["lastRecordDuration"]) if cgm else 0,
            glucose=tuple([float(r["glucose"]) for r in ranges]),
            minutes=tuple([int(r["minutes"]) for r in ranges]) if cgm else _NO_MINUTES,
            records=tuple([int(r["records"]) for r in ranges]),
            variance=float(total["variance"]),
            minimum=float(total["min"]),
            maximum=float(total["max"]),
        )


class Buckets:
    """The buckets of one type, keyed by hour start (epoch ms), and its newest sample.

    `last_ms` is the newest sample of the type, counted or masked: the window and the periods
    end at its hour. It is None exactly when there is no data. `columns` is the engine's
    columnar copy of `hours` (`vector.BucketColumns`), made on first use and handed on by
    the incremental update; `hours` is never changed in place. Buckets built from samples
    (`build_buckets`, `buckets_from_packed`, ...) are their columns alone: `hours`, a Bucket
    object an hour, is made from them only when read (a first summary's periods and its
    store read the columns alone).
    """

    __slots__ = ("_hours", "columns", "derived", "kind", "last_ms")

    def __init__(
        self,
        kind: str,
        hours: dict[int, Bucket] | None = None,
        last_ms: int | None = None,
        columns: Any = None,
        derived: tuple[Buckets, list[tuple[int, int]]] | None = None,
    ) -> None:
        self.kind = kind
        self._hours = {} if hours is None and columns is None else hours
        self.last_ms = last_ms
        self.columns = columns
        # Made by an update: the buckets it updated, and the hour ranges [a, b) outside
        # which every bucket is the same as theirs (the store writes only those days).
        self.derived = derived

    @property
    def hours(self) -> dict[int, Bucket]:
        if self._hours is None:
            from tidewater.domain.summary import vector  # (columns are numpy's)

            self._hours = vector.to_buckets(self.columns, self.kind)
        return self._hours

    @property
    def columns_only(self) -> bool:
        """Whether the hours are the columns' alone (no Bucket objects made yet)."""
        return self._hours is None

    def __len__(self) -> int:
        """The number of hours with a bucket."""
        return len(self.columns.hour) if self._hours is None else len(self._hours)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Buckets):
            return NotImplemented
        return (self.kind, self.last_ms, self.hours) == (other.kind, other.last_ms, other.hours)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Buckets(kind={self.kind!r}, hours={self.hours!r}, last_ms={self.last_ms!r})"

    def to_dict(self) -> dict[str, Any]:
        last = None if self.last_ms is None else utc_text(self.last_ms)
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
        return cls(data["type"], hours, None if last is None else parse_time_ms(last))
