"""The vectorised engine (numpy): samples as columns → hourly buckets as columns → periods.

Imported on the first summary computed, never by `import tidewater.domain.summary`: the
functions that only read summaries (upload, clinic, auth, ...) never load numpy.

Bit for bit the same as the sample-by-sample fold (`fold.accumulate`, which the incremental
update uses): the band sums are `np.bincount` sums (sequential, in time order, from 0.0, as
the loop adds), and Welford's update runs column by column over each hour's i-th reading,
the same IEEE operations in the same order; padding adds weight 0, which changes nothing.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain, pairwise, repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tidewater.domain.samples import MINUTE_MS, Sample, cgm_duration
from tidewater.domain.summary.buckets import (
    HOUR_MS,
    TOLERANCE_MS,
    WINDOW_HOURS,
    Bucket,
    Buckets,
)
from tidewater.domain.units import MGDL, MGDL_PER_MMOLL, canonical_units

if TYPE_CHECKING:
    from tidewater.domain.summary.segments import Sums

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

DAY_MS = 24 * HOUR_MS
# The range table's thresholds per unit: VeryLow <, Low <, Target <=, High <=, ExtremeHigh >=.
_MGDL_EDGES = (54.0, 70.0, 180.0, 250.0, 350.0)
_MMOLL_EDGES = (3.0, 3.9, 10.0, 13.9, 19.4)


@dataclass(slots=True)
class SampleColumns:
    """Counted-or-masked samples of one kind in time order (ties already broken)."""

    time: Ints
    mmol: Floats
    value: Floats  # the reading in the unit the device reported: ranges use it
    mgdl: Bools  # reported in mg/dL (else mmol/L thresholds)
    duration: Ints  # minutes; 0 for BGM


@dataclass(slots=True)
class BucketColumns:
    """Buckets of one kind, one row per hour in time order; 9-wide arrays follow RANGES.

    The fields are stacked, ints beside ints and floats beside floats, so that slicing,
    joining or gathering rows is one numpy call per array, not one per field (an update
    joins a few slices, and gathers the few rows whose segment changes); the fields are
    views of them.
    Rows read from the store may be `unread` until their ints or floats are first read
    (`Unread`): the hours are known, the rest of a stored day is read when it is needed.
    """

    hour: Ints
    _ints: Ints  # (n, 21): first, last, last_duration, minutes (9), records (9)
    _floats: Floats  # (n, 12): glucose (9), variance, minimum, maximum
    # The exact sums of the window's segments (`segments.Sums`), once made: an update moves
    # them on.
    sums: Sums | None = None
    # The arrays these are rows of, when those have spare rows to append into (`Room`),
    # and where in them these rows end.
    room: Room | None = None
    stop: int = 0
    # Stored days not read yet, of the arrays these are rows of from row `at` on.
    unread: Unread | None = None
    at: int = 0

    @property
    def ints(self) -> Ints:
        if self.unread is not None:
            self._read()
        return self._ints

    @property
    def floats(self) -> Floats:
        if self.unread is not None:
            self._read()
        return self._floats

    def _read(self) -> None:
        assert self.unread is not None
        self.unread.read(self.at, self.at + len(self.hour))
        self.unread = None  # (these rows are read, for good)

    @property
    def first(self) -> Ints:
        return self.ints[:, 0]

    @property
    def last(self) -> Ints:
        return self.ints[:, 1]

    @property
    def last_duration(self) -> Ints:
        return self.ints[:, 2]

    @property
    def minutes(self) -> Ints:
        return self.ints[:, 3:12]

    @property
    def records(self) -> Ints:
        return self.ints[:, 12:21]

    @property
    def counts(self) -> Ints:
        """Minutes (9) and records (9) side by side."""
        return self.ints[:, 3:21]

    @property
    def glucose(self) -> Floats:
        return self.floats[:, :9]

    @property
    def variance(self) -> Floats:
        return self.floats[:, 9]

    @property
    def minimum(self) -> Floats:
        return self.floats[:, 10]

    @property
    def maximum(self) -> Floats:
        return self.floats[:, 11]

    def rows(self, lo: int, hi: int) -> BucketColumns:
        out = BucketColumns(self.hour[lo:hi], self._ints[lo:hi], self._floats[lo:hi])
        if self.room is not None and hi >= len(self.hour):  # (they end where these end)
            out.room, out.stop = self.room, self.stop
        if self.unread is not None:
            out.unread, out.at = self.unread, self.at + lo
        return out

    def gathered(self, rows: list[int]) -> tuple[Ints, Floats]:
        """The ints and floats of the given rows (read first where they are unread)."""
        if self.unread is not None:
            self.unread.read_rows([self.at + r for r in rows])
        return self._ints[rows], self._floats[rows]


@dataclass(slots=True, eq=False)
class Unread:
    """Rows of arrays (`hour` known) whose ints and floats are not read yet: each stored
    day's rows [lo, hi) are filled by `read()` (the day's columns) the first time a view
    over any of them reads its ints or floats, and never again."""

    hour: Ints
    ints: Ints
    floats: Floats
    days: list[tuple[int, int, Callable[[], BucketColumns]]]  # in row order, not read yet

    def read(self, lo: int, hi: int) -> None:
        """Read the days with rows in [lo, hi)."""
        if self.days:
            starts = [a for a, _, _ in self.days]
            first = max(0, bisect.bisect_right(starts, lo) - 1)
            end = bisect.bisect_left(starts, hi)
            self._read({k for k in range(first, end) if self.days[k][1] > lo})

    def read_rows(self, rows: list[int]) -> None:
        """Read the days of the given rows."""
        if self.days:
            starts = [a for a, _, _ in self.days]
            at = [(bisect.bisect_right(starts, r) - 1, r) for r in rows]
            self._read({k for k, r in at if k >= 0 and r < self.days[k][1]})

    def _read(self, marked: set[int]) -> None:
        """Read the days of these indices (of `days`)."""
        for k in marked:
            self._fill(*self.days[k])
        if marked:
            self.days = [day for k, day in enumerate(self.days) if k not in marked]

    def _fill(self, lo: int, hi: int, read: Callable[[], BucketColumns]) -> None:
        got = read()
        if got.hour.tobytes() != self.hour[lo:hi].tobytes():
            raise ValueError("a stored day's hours are not those its kind's meta holds")
        self.ints[lo:hi] = got.ints
        self.floats[lo:hi] = got.floats


# Spare rows of joined columns: hours appended go into them, no row copied (`Room`).
SPARE_ROWS = 48


@dataclass(slots=True, eq=False)
class Room:
    """Arrays of rows with spare ones at their end, of which columns are views.

    Rows are appended after a view that ends at `used` (the rows written so far) into the
    spare rows, and a longer view is handed back: no row is copied. Nothing is ever written
    inside a view, so every view keeps what it held; a view that ends before `used` (rows
    were appended after it already) is appended to by copying (`joined`). Columns are a
    summary's, updated by one thread at a time.
    """

    hour: Ints
    ints: Ints
    floats: Floats
    used: int

    def append(self, tail: BucketColumns, made: BucketColumns) -> BucketColumns | None:
        """`tail` (rows of this room) and then `made`; None unless `tail` ends at `used`
        and `made` fits."""
        used, k = self.used, len(made.hour)
        if tail.room is not self or tail.stop != used or used + k > len(self.hour):
            return None
        stop = used + k
        self.hour[used:stop] = made.hour
        self.ints[used:stop] = made.ints
        self.floats[used:stop] = made.floats
        self.used = stop
        first = used - len(tail.hour)
        out = BucketColumns(
            self.hour[first:stop], self.ints[first:stop], self.floats[first:stop], None, self, stop
        )
        if tail.unread is not None:
            out.unread, out.at = tail.unread, tail.at
        return out


def bucket_columns(
    hour: Ints,
    head: Sequence[Ints],
    glucose: Floats,
    minutes: Ints,
    records: Ints,
    spread: Sequence[Floats],
) -> BucketColumns:
    """Columns from their fields: `head` is first, last, last_duration; `spread` variance,
    minimum, maximum."""
    n = len(hour)
    ints = np.empty((n, 21), np.int64)
    floats = np.empty((n, 12))
    ints[:, 0], ints[:, 1], ints[:, 2] = head
    ints[:, 3:12], ints[:, 12:21] = minutes, records
    floats[:, :9] = glucose
    floats[:, 9], floats[:, 10], floats[:, 11] = spread
    return BucketColumns(hour, ints, floats)


# ---------------------------------------------------------------------------------------------
# Samples → columns


def columns_from_samples(ordered: Sequence[Sample]) -> SampleColumns:
    """Columns of samples already in order (the tuple order, deduplicated)."""
    n = len(ordered)
    if not n:
        empty = np.zeros(0, np.int64)
        return SampleColumns(empty, empty.astype(float), empty.astype(float), empty == 0, empty)
    time, mmol, units, value, duration, _, _ = zip(*ordered, strict=True)
    return SampleColumns(
        np.fromiter(time, np.int64, n),
        np.fromiter(mmol, np.float64, n),
        np.fromiter(value, np.float64, n),
        np.fromiter((u == MGDL for u in units), np.bool_, n),
        np.fromiter(duration, np.int64, n),
    )


# `samples.PACKED` as a record (27 bytes, unaligned): a Query's packed samples in one call.
_PACKED = np.dtype(
    [("time", "<i8"), ("mmol", "<f8"), ("value", "<f8"), ("mgdl", "?"), ("duration", "<u2")]
)


def columns_from_packed(packed: bytes) -> SampleColumns | None:
    """Columns of packed samples (`samples.packed_sample`) in time order, as the store
    hands them (`samples_between`), at least one; None when two share a time (the bodies
    break the tie: the per-datum path)."""
    rows = np.frombuffer(packed, _PACKED)
    time = rows["time"].astype(np.int64)
    if not bool((time[1:] > time[:-1]).all()):
        order = np.argsort(time, kind="stable")
        time = time[order]
        if not bool((time[1:] > time[:-1]).all()):
            return None
        rows = rows[order]
    return SampleColumns(
        time,
        rows["mmol"].astype(np.float64),
        rows["value"].astype(np.float64),
        rows["mgdl"].astype(np.bool_),
        rows["duration"].astype(np.int64),
    )


def columns_from_datums(datums: Sequence[Mapping[str, Any]], cgm: bool) -> SampleColumns | None:
    """Columns of stored or raw datums of one type, in time order; None when any of them
    needs the per-datum path (a non-canonical time, a sampleInterval, a tie in time, a
    missing or malformed field, ...): that path gives the answer, or the ValueError."""
    n = len(datums)
    if not n:
        return None
    time = parse_canonical_times(field(datums, "time"))
    if time is None:
        return None
    value = _numbers(field(datums, "value"))
    units = _units(field(datums, "units"))
    if value is None or units is None:
        return None
    mmol = np.where(units, value / MGDL_PER_MMOLL, value)
    originals, original_units = column(datums, "originalValue"), column(datums, "originalUnits")
    if originals is not None and original_units is not None:
        reported_, mgdl_ = _numbers(originals), _units(original_units)
        if reported_ is None or mgdl_ is None:
            return None
        reported, mgdl = reported_, mgdl_
    elif originals is None and original_units is None and not _any_has(datums, ORIGINALS):
        reported, mgdl = value, units
    else:
        return None  # some have them: the per-datum path reads each as it is
    duration = np.zeros(n, np.int64)
    devices = field(datums, "deviceId")
    distinct = _distinct(devices)
    if distinct is None or not all(d is None or isinstance(d, str) for d in distinct):
        return None
    if cgm:
        if _any_has(datums, ("sampleInterval",)):
            return None  # (even when None: rare, and the per-datum path knows what it means)
        minutes = {d: cgm_duration(d or "") for d in distinct}
        if len(minutes) == 1:
            duration[:] = next(iter(minutes.values()))
        else:
            duration = np.fromiter(map(minutes.__getitem__, devices), np.int64, n)
    if n > 1 and not bool((time[1:] > time[:-1]).all()):
        order = np.argsort(time, kind="stable")
        time = time[order]
        if not bool((time[1:] > time[:-1]).all()):
            return None  # equal times: the tuple order (value, units, device) breaks the tie
        mmol, reported, mgdl, duration = mmol[order], reported[order], mgdl[order], duration[order]
    return SampleColumns(time, mmol, reported, mgdl, duration)


def field(datums: Sequence[Mapping[str, Any]], key: str, default: Any = None) -> list[Any]:
    """Each datum's `key`, `default` where it has none: one pass in C when all have it."""
    try:
        return list(map(operator.itemgetter(key), datums))
    except KeyError:
        if not any(map(operator.contains, datums, repeat(key))):
            return [default] * len(datums)
        return [d.get(key, default) for d in datums]


ORIGINALS = ("originalValue", "originalUnits")


def column(datums: Sequence[Mapping[str, Any]], key: str) -> list[Any] | None:
    """Each datum's `key` (one pass in C), or None unless every datum has it."""
    try:
        return list(map(operator.itemgetter(key), datums))
    except KeyError:
        return None


def _any_has(datums: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> bool:
    return any(any(map(operator.contains, datums, repeat(key))) for key in keys)


def _distinct(raw: list[Any]) -> set[Any] | None:
    """The distinct values, None if one cannot be hashed (the per-datum path says why).

    One string throughout is the rule (a unit, a device): counting its equals compares each
    with it, no hashing (no two of them are the same object: each datum is decoded alone).
    """
    first = raw[0] if raw else None
    if type(first) is str and raw.count(first) == len(raw):
        return {first}
    try:
        return set(raw)
    except TypeError:
        return None


def _numbers(raw: list[Any]) -> Floats | None:
    """Finite ints and floats (not bools, not Decimals: the per-datum path converts those)."""
    types = list(map(type, raw))
    floats = types.count(float)
    if floats != len(raw) and floats + types.count(int) != len(raw):
        return None
    out = np.array(raw, dtype=np.float64)
    return out if bool(np.isfinite(out).all()) else None


def _units(raw: list[Any]) -> Bools | None:
    """mg/dL → True, mmol/L → False; None when any is neither."""
    distinct = _distinct(raw)
    if distinct is None or not all(isinstance(u, str) and canonical_units(u) for u in distinct):
        return None
    if len(distinct) == 1:
        return np.full(len(raw), canonical_units(next(iter(distinct))) == MGDL)
    return np.array([canonical_units(u) == MGDL for u in raw])


# One canonical time and the newline that joins it to the next, `2024-01-01T00:00:00.000Z\n`:
# the date as one key (bytes 0-9, to find where it changes), the rest by position.
_ROW = np.dtype(
    {"names": ["date", "day"], "formats": [">u8", ">u2"], "offsets": [0, 8], "itemsize": 25}
)
_MARKS_AT = [4, 7, 10, 13, 16, 19, 23, 24]
_MARKS = np.frombuffer(b"--T::.Z\n", np.uint8)
_CLOCK_AT = [11, 12, 14, 15, 17, 18, 20, 21, 22]  # hh mm ss mmm
# Each clock digit's worth in milliseconds (a float product of digits is exact: < 2^53).
_CLOCK_MS = np.array([36e6, 36e5, 6e5, 6e4, 1e4, 1e3, 100.0, 10.0, 1.0])
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def parse_canonical_times(texts: list[Any]) -> Ints | None:
    """Epoch ms of canonical UTC times (`2024-01-01T00:00:00.000Z`, what the store keeps),
    all at once; None unless every one is canonical and a real date and time.

    Joined by newlines, the texts are rows of 25 bytes exactly when each is 24 characters
    without a newline (the format has none). Dates are read once per run of equal dates.
    """
    n = len(texts)
    try:
        joined = ("\n".join(texts) + "\n").encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    if len(joined) != 25 * n:
        return None
    grid = np.frombuffer(joined, np.uint8).reshape(n, 25)
    if not bool((grid[:, _MARKS_AT] == _MARKS).all()):
        return None
    digits = grid[:, _CLOCK_AT] - np.uint8(48)  # (a byte below "0" wraps past 9)
    if int(digits.max()) > 9:
        return None
    if (
        int((digits[:, 0] * np.uint8(10) + digits[:, 1]).max()) > 23
        or int(digits[:, [2, 4]].max()) > 5
    ):
        return None  # hour past 23, minute or second past 59
    rows = np.frombuffer(joined, _ROW)
    key, day = rows["date"], rows["day"]
    starts = np.ones(n, np.bool_)
    starts[1:] = (key[1:] != key[:-1]) | (day[1:] != day[:-1])
    days = _days([texts[i] for i in np.flatnonzero(starts).tolist()])
    if days is None:
        return None
    clock = (digits @ _CLOCK_MS).astype(np.int64)
    out: Ints = days[np.cumsum(starts) - 1] * DAY_MS + clock
    return out


def _days(texts: list[str]) -> Ints | None:
    """Days since 1970-01-01 of each text's `YYYY-MM-DD`; None if one is not a real date."""
    found: dict[str, int] = {}
    for text in texts:
        ymd = text[:10]
        if ymd in found:
            continue
        if not (ymd[4] == ymd[7] == "-" and (ymd[:4] + ymd[5:7] + ymd[8:]).isdigit()):
            return None
        try:
            found[ymd] = date(int(ymd[:4]), int(ymd[5:7]), int(ymd[8:])).toordinal() - _EPOCH_DAY
        except ValueError:
            return None
    return np.array([found[t[:10]] for t in texts], np.int64)


# ---------------------------------------------------------------------------------------------
# Columns → buckets


def fold(samples: SampleColumns) -> BucketColumns:
    """Hourly buckets of time-ordered samples of the window (no blackout carried in)."""
    t = samples.time
    keep = _unmasked(t, t + samples.duration * MINUTE_MS - TOLERANCE_MS)
    if keep is not None:
        samples = SampleColumns(*(getattr(samples, f)[keep] for f in SampleColumns.__slots__))
        t = samples.time
    n = len(t)
    if not n:
        return _empty_buckets()
    d = samples.duration
    v = samples.mmol
    hour = t - t % HOUR_MS
    starts = np.flatnonzero(np.concatenate(([True], hour[1:] != hour[:-1])))
    count = np.diff(np.append(starts, n))
    nb = len(starts)
    bucket = np.repeat(np.arange(nb), count)
    # CGM readings weigh the minutes they cover, BGM readings (duration 0) one each.
    w = np.where(d == 0, 1, d)
    vw = v * w
    band = _band(samples.value, samples.mgdl)
    cell = bucket * 6 + band
    g = np.bincount(cell, weights=vw, minlength=6 * nb).reshape(nb, 6)
    r = np.bincount(cell, minlength=6 * nb).reshape(nb, 6).astype(np.int64)
    if d[0] == d.min() == d.max():  # one duration (a sensor's): minutes are records x it
        m = r * int(d[0])
    else:
        m = np.bincount(cell, weights=d, minlength=6 * nb).reshape(nb, 6).astype(np.int64)
    sq = _welford(v, w.astype(np.float64), bucket, np.arange(n) - starts[bucket], nb, count)
    stops = starts + count - 1
    return bucket_columns(
        hour[starts],
        (t[starts], t[stops], d[stops]),
        _ranges(g),
        _ranges(m),
        _ranges(r),
        (sq, np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)),
    )


def _unmasked(t: Ints, ends: Ints) -> Bools | None:
    """Which samples no earlier counted sample masks; None when none is masked.

    Where every next sample starts after the previous one's blackout, all count: the chain
    runs sample by sample only from each overlap on, until it is back in step.
    """
    overlaps = np.flatnonzero(t[1:] < ends[:-1]).tolist()
    if not overlaps:
        return None
    n = len(t)
    keep = np.ones(n, np.bool_)
    times, blackout = t.tolist(), ends.tolist()
    counted_from = 0  # samples from here up to the next overlap all count
    for k in overlaps:
        if k < counted_from:
            continue  # k itself is masked: its blackout does not count
        o, until = k + 1, blackout[k]
        while o < n and times[o] < until:
            keep[o] = False
            o += 1
        counted_from = o
    return keep


def _band(value: Floats, mgdl: Bools) -> Ints:
    """0 VeryLow, 1 Low, 2 Target, 3 High, 4 VeryHigh, 5 ExtremeHigh (thresholds ascend)."""
    if bool(mgdl.all()) or not bool(mgdl.any()):  # one unit: scalar thresholds
        e: Sequence[Any] = _MGDL_EDGES if bool(mgdl[0]) else _MMOLL_EDGES
    else:
        e = [np.where(mgdl, a, b) for a, b in zip(_MGDL_EDGES, _MMOLL_EDGES, strict=True)]
    band: Ints = (
        (value >= e[0]).astype(np.int64)
        + (value >= e[1])
        + (value > e[2])
        + (value > e[3])
        + (value >= e[4])
    )
    return band


def _welford(v: Floats, w: Floats, bucket: Ints, pos: Ints, nb: int, count: Ints) -> Floats:
    """Each hour's weighted M2 by Welford's update, the hours side by side."""
    width = int(count.max())
    values = np.zeros((width, nb))
    weights = np.zeros((width, nb))
    values[pos, bucket] = v
    weights[pos, bucket] = w
    weight = np.zeros(nb)
    mean = np.zeros(nb)
    sq = np.zeros(nb)
    for x, wx in zip(values, weights, strict=True):
        weight = weight + wx
        delta = x - mean
        mean = mean + delta * (wx / weight)
        sq = sq + wx * delta * (x - mean)
    return sq


def _ranges(six: Any) -> Any:
    """The 9 RANGES columns from the six bands, added as `fold._bucket` adds them."""
    s0, s1, s2, s3, s4, s5 = six.T
    return np.stack(
        [s0 + s1 + s2 + s3 + s4 + s5, s0, s1, s2, s3, s4 + s5, s5, s0 + s1, s3 + s4 + s5], axis=1
    )


def _empty_buckets() -> BucketColumns:
    return BucketColumns(np.zeros(0, np.int64), np.zeros((0, 21), np.int64), np.zeros((0, 12)))


# ---------------------------------------------------------------------------------------------
# Bucket objects ↔ columns


def to_buckets(cols: BucketColumns, kind: str) -> dict[int, Bucket]:
    hours = cols.hour.tolist()
    made = map(
        Bucket,
        repeat(kind),
        hours,
        cols.first.tolist(),
        cols.last.tolist(),
        cols.last_duration.tolist(),
        map(tuple, cols.glucose.tolist()),
        map(tuple, cols.minutes.tolist()),
        map(tuple, cols.records.tolist()),
        cols.variance.tolist(),
        cols.minimum.tolist(),
        cols.maximum.tolist(),
    )
    return dict(zip(hours, made, strict=True))


def from_buckets(rows: Sequence[Bucket]) -> BucketColumns:
    """Columns of buckets in hour order."""
    if not rows:
        return _empty_buckets()
    n = len(rows)
    if n <= _FEW:  # (an update's few hours) row by row: fewer numpy calls
        return BucketColumns(
            np.array([b.date for b in rows], np.int64),
            np.array([_ints(b) for b in rows], np.int64),
            np.array([_floats(b) for b in rows], np.float64),
        )

    def one(name: str, dtype: Any) -> Any:
        return np.fromiter(map(operator.attrgetter(name), rows), dtype, n)

    def nine(name: str, dtype: Any) -> Any:
        values = chain.from_iterable(map(operator.attrgetter(name), rows))
        return np.fromiter(values, dtype, 9 * n).reshape(n, 9)

    return bucket_columns(
        one("date", np.int64),
        (one("first_time", np.int64), one("last_time", np.int64), one("last_duration", np.int64)),
        nine("glucose", np.float64),
        nine("minutes", np.int64),
        nine("records", np.int64),
        (one("variance", np.float64), one("minimum", np.float64), one("maximum", np.float64)),
    )


_FEW = 8


def _ints(b: Bucket) -> list[int]:
    return [b.first_time, b.last_time, b.last_duration, *b.minutes, *b.records]


def _floats(b: Bucket) -> list[float]:
    return [*b.glucose, b.variance, b.minimum, b.maximum]


def columns_of(buckets: Buckets) -> BucketColumns:
    """The buckets' columns, made once per Buckets (its hours are never changed in place)."""
    cached = buckets.columns
    if buckets.columns_only:
        return cached
    if cached is None or len(cached.hour) != len(buckets.hours):
        cached = from_buckets([buckets.hours[h] for h in sorted(buckets.hours)])
        buckets.columns = cached
    return cached


def replace_rows(
    old: BucketColumns, start: int, end: int, redone: list[tuple[int, int]], made: list[Bucket]
) -> BucketColumns:
    """Old rows in [start, end) outside the `redone` ranges (in time order, apart), with the
    `made` buckets (in hour order, inside them): slices and one concatenation, no sort; hours
    appended after the old ones go into the old arrays' spare rows when they have them."""
    at = np.searchsorted(old.hour, [start, *(p for span in redone for p in span), end]).tolist()
    pieces: list[BucketColumns] = []
    made_at = 0
    for k, (_, b) in enumerate([*redone, (end, end)]):
        if at[2 * k] < at[2 * k + 1]:
            pieces.append(old.rows(at[2 * k], at[2 * k + 1]))
        count = bisect.bisect_left(made, b, lo=made_at, key=_date) - made_at
        if count:
            pieces.append(from_buckets(made[made_at : made_at + count]))
            made_at += count
    if len(pieces) == 2 and pieces[0].room is not None:
        appended = pieces[0].room.append(*pieces)
        if appended is not None:
            return appended
    return joined(pieces) if pieces else _empty_buckets()


def joined(pieces: Sequence[BucketColumns]) -> BucketColumns:
    """Columns of rows one after the other (each piece's hours after the previous'); one
    piece is itself, more are copied into arrays with spare rows (`with_room`)."""
    return pieces[0] if len(pieces) == 1 else with_room(pieces)


def with_room(pieces: Sequence[BucketColumns]) -> BucketColumns:
    """The pieces' rows one after the other, in new arrays with spare rows (`Room`)."""
    n = sum(len(p.hour) for p in pieces)
    room = Room(
        np.empty(n + SPARE_ROWS, np.int64),
        np.empty((n + SPARE_ROWS, 21), np.int64),
        np.empty((n + SPARE_ROWS, 12)),
        n,
    )
    np.concatenate([p.hour for p in pieces], out=room.hour[:n])
    np.concatenate([p.ints for p in pieces], out=room.ints[:n])
    np.concatenate([p.floats for p in pieces], out=room.floats[:n])
    return BucketColumns(room.hour[:n], room.ints[:n], room.floats[:n], None, room, n)


def unread_columns(
    hours: Ints, days: list[tuple[int, int, Callable[[], BucketColumns]]]
) -> BucketColumns:
    """Columns of these hours in arrays with spare rows (`Room`), every row unread: the
    `days` (rows [lo, hi) and how to read them) are read when their rows are (`Unread`)."""
    n = len(hours)
    room = Room(
        np.empty(n + SPARE_ROWS, np.int64),
        np.empty((n + SPARE_ROWS, 21), np.int64),
        np.empty((n + SPARE_ROWS, 12)),
        n,
    )
    room.hour[:n] = hours
    unread = Unread(room.hour, room.ints, room.floats, days)
    return BucketColumns(room.hour[:n], room.ints[:n], room.floats[:n], None, room, n, unread)


def hours_mask(hours: Ints, end: int) -> bytes | None:
    """Which hours of the window that ends at `end` are these (bit i: the hour i + 1 hours
    before `end`), packed; None if one is not an hour of that window."""
    back = (end - hours) // HOUR_MS - 1
    if len(hours) and (
        int(back.min()) < 0 or int(back.max()) >= WINDOW_HOURS or (hours % HOUR_MS).any()
    ):
        return None
    bits = np.zeros(WINDOW_HOURS, np.uint8)
    bits[back] = 1
    return np.packbits(bits).tobytes()


def mask_hours(mask: bytes, end: int) -> Ints | None:
    """The hours of `hours_mask`, in time order; None if it is not one."""
    if len(mask) != (WINDOW_HOURS + 7) // 8:
        return None
    back = np.flatnonzero(np.unpackbits(np.frombuffer(mask, np.uint8))[:WINDOW_HOURS])
    return (end - (back[::-1] + 1) * HOUR_MS).astype(np.int64)


def day_spans(cols: BucketColumns) -> dict[int, tuple[int, int]]:
    """Day start → the rows [lo, hi) of its buckets."""
    return day_spans_of(cols.hour)


def day_spans_of(hour: Ints) -> dict[int, tuple[int, int]]:
    """Day start → the rows [lo, hi) of these hours (in time order)."""
    n = len(hour)
    if not n:
        return {}
    day = hour - hour % DAY_MS
    bounds = [*np.flatnonzero(np.concatenate(([True], day[1:] != day[:-1]))).tolist(), n]
    return {int(day[a]): (a, b) for a, b in pairwise(bounds)}


def _date(bucket: Bucket) -> int:
    return bucket.date


# ---------------------------------------------------------------------------------------------
# Buckets → the periods' day counts


def days_with_data(cols: BucketColumns, end: int, start: int) -> list[int]:
    """k → how many of the k newest days hold any bucket (day 0 is the 24 hours ending with
    the newest hour)."""
    at = np.searchsorted(cols.hour, np.arange(end, start - 1, -DAY_MS))
    return [0, *np.cumsum(at[:-1] > at[1:]).tolist()]
