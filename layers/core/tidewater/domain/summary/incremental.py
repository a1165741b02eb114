"""The incremental update: stored buckets and the time ranges that changed → new buckets,
equal bit for bit to a full build of all the data (a property test holds it to that)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tidewater.domain.samples import CGM, MINUTE_MS, Sample, coerce_sample
from tidewater.domain.summary.buckets import (
    HOUR_MS,
    NO_MASK,
    TOLERANCE_MS,
    WINDOW_HOURS,
    Bucket,
    Buckets,
    hour_of,
    merged_ranges,
    window_end,
)
from tidewater.domain.summary.fold import accumulate, build_buckets, dedup, sample_time

# The loader is never asked for anything older (1970-01-01).
EARLIEST_MS = 0

Loader = Callable[[int, int], Iterable[Sample | Mapping[str, Any]]]


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
    if len(spans) == 1 and loaded[0] and spans[0][0] >= hour_of(old_last) + HOUR_MS:
        appended = _appended(current, spans[0], source, last)
        if appended is not None:
            return appended

    cols = current.columns
    columns_only = current.columns_only  # (no Bucket object is made of the old hours then)
    old: dict[int, Bucket] = {} if columns_only else current.hours
    # The columns hold the hours in order already (when they are the hours' columns); an
    # array is searched by numpy (`bisect` would make a numpy scalar at every step).
    in_step = cols is not None and len(cols.hour) == len(current)
    old_hours: Sequence[int] = cols.hour if in_step else sorted(old)
    find = _finder(old_hours)

    def mask_of(k: int) -> int:
        """The blackout the old hour old_hours[k]'s last counted sample casts."""
        if columns_only:  # (its row alone read: of stored days not read yet, its day)
            return _mask(cols.rows(k, k + 1).ints[0])
        return old[int(old_hours[k])].mask

    def stored_at(k: int, hour: int) -> Bucket | None:
        """The old bucket of `hour` (old_hours[k] when there is one)."""
        if k == len(old_hours) or old_hours[k] != hour:
            return None
        if not columns_only:
            return old[hour]
        from tidewater.domain.summary import vector

        return vector.to_buckets(cols.rows(k, k + 1), kind)[hour]

    end = hour_of(last) + HOUR_MS
    start = end - WINDOW_HOURS * HOUR_MS
    old_start = hour_of(old_last) + HOUR_MS - WINDOW_HOURS * HOUR_MS
    forced = [(max(a, start), min(b, end)) for a, b in spans if max(a, start) < min(b, end)]
    if start < old_start:
        forced.append((start, min(old_start, end)))
    forced.sort()

    new: dict[int, Bucket] = {}
    runs: list[tuple[int, int]] = []  # old_hours[i:j] kept
    redone: list[tuple[int, int]] = []  # where buckets were made afresh
    mask = NO_MASK
    pos = start
    while pos < end:
        span = next(((a, b) for a, b in forced if b > pos), None)
        if span is not None and span[0] <= pos:
            made, mask = accumulate(source.get(pos, span[1]), mask)
            new.update((b.date, b) for b in made)
            redone.append((pos, span[1]))
            pos = span[1]
            continue
        stop = end if span is None else span[0]
        i = find(pos, 0)
        carried = mask_of(i - 1) if i else NO_MASK
        if _effective(mask, pos) == _effective(carried, pos):
            # In step with the stored chain: its buckets up to the next forced span hold.
            j = find(stop, i)
            if j > i:
                runs.append((i, j))
                mask = mask_of(j - 1)
            pos = stop
        else:
            made, mask = accumulate(source.get(pos, pos + HOUR_MS), mask)
            stored = stored_at(i, pos)
            if made == ([] if stored is None else [stored]):
                # Made afresh as it was (the blackout that changed masked none of its
                # samples): the stored bucket holds, and nothing changed here.
                if stored is not None:
                    runs.append((i, i + 1))
            else:
                new.update((b.date, b) for b in made)
                redone.append((pos, pos + HOUR_MS))
            pos += HOUR_MS
    differ = _differ(redone, old_last, end)
    made_cols = _columns(current, new, start, end, redone, differ)
    if columns_only:
        return Buckets(kind, None, last, made_cols, (current, differ))
    kept = _kept(old, old_hours, runs)
    kept.update(new)
    return Buckets(kind, kept, last, made_cols, (current, differ))


def _appended(
    current: Buckets, span: tuple[int, int], source: _Source, last: int
) -> Buckets | None:
    """The update of buckets held as columns by samples of hours after every stored one
    (an upload of the newest hours: the summariser's usual case), as the loop above makes
    it, without it: the stored hours the new window holds are kept, and the new hours are
    folded with the blackout of the newest stored bucket. None when the window's first hour
    kept was masked from the hour before it (which the window leaves now): the loop redoes
    it."""
    cols = current.columns
    if not current.columns_only or cols is None or not len(cols.hour):
        return None
    assert current.last_ms is not None
    end = hour_of(last) + HOUR_MS
    start = end - WINDOW_HOURS * HOUR_MS
    n = len(cols.hour)
    i = int(cols.hour.searchsorted(start))
    # (One row read each: of stored days not read yet, only theirs are.)
    if i == n or (i and _effective(_mask(cols.rows(i - 1, i).ints[0]), start) != NO_MASK):
        return None
    a, b = span
    made, _ = accumulate(source.get(a, b), _mask(cols.rows(n - 1, n).ints[0]))
    # (The hours after the span are after the newest sample: end <= b.)
    redone = [(max(a, start), min(b, end))]
    differ = _differ(redone, current.last_ms, end)
    made_cols = _columns(
        current, {bucket.date: bucket for bucket in made}, start, end, redone, differ
    )
    return Buckets(current.kind, None, last, made_cols, (current, differ))


def _differ(redone: list[tuple[int, int]], old_last: int, end: int) -> list[tuple[int, int]]:
    """Where the new buckets (their window ending at `end`) can differ from the old ones
    (newest sample `old_last`): where they were made afresh, and where the window moved."""
    old_end = hour_of(old_last) + HOUR_MS
    old_start, start = old_end - WINDOW_HOURS * HOUR_MS, end - WINDOW_HOURS * HOUR_MS
    moved = [(min(old_start, start), max(old_start, start)), (min(old_end, end), max(old_end, end))]
    return [(a, b) for a, b in [*redone, *moved] if a < b]


def _mask(row: Any) -> int:
    """The blackout an old bucket's last counted sample casts (its row of `ints`)."""
    return int(row[1]) + int(row[2]) * MINUTE_MS - TOLERANCE_MS


def _finder(hours: Sequence[int]) -> Callable[[int, int], int]:
    """bisect_left(hours, x, lo) of hours in order: numpy's for an array."""
    if hasattr(hours, "searchsorted"):
        return lambda x, lo: max(lo, int(hours.searchsorted(x)))
    return lambda x, lo: bisect.bisect_left(hours, x, lo=lo)


def _kept(
    old: dict[int, Bucket], hours: Sequence[int], runs: list[tuple[int, int]]
) -> dict[int, Bucket]:
    """The old buckets of the runs hours[i:j] (hours in order: a list, or the columns' array):
    a copy of all, less the few left out, when the runs hold most of them (an update keeps
    nearly every hour), so that an update does not cost the length of the history."""
    count = sum(j - i for i, j in runs)
    if 2 * count < len(hours):
        return {h: old[h] for i, j in runs for h in _ints(hours[i:j])}
    out = old.copy()
    pos = 0
    for i, j in [*runs, (len(hours), len(hours))]:
        for h in _ints(hours[pos:i]):
            del out[h]
        pos = j
    return out


def _ints(hours: Sequence[int]) -> list[int]:
    return hours.tolist() if hasattr(hours, "tolist") else list(hours)


def _columns(
    current: Buckets,
    new: dict[int, Bucket],
    start: int,
    end: int,
    redone: list[tuple[int, int]],
    differ: list[tuple[int, int]],
) -> Any:
    """The new buckets' columns from the old ones (kept rows) and the buckets made afresh
    (`new`, in the `redone` ranges), so that the periods of an update never read every
    bucket again; None without old ones. The buckets differ only in the `differ` ranges."""
    if current.columns is None or len(current.columns.hour) != len(current):
        return None
    # numpy: only where summaries are computed
    from tidewater.domain.summary import segments, vector

    made = [new[h] for a, b in redone for h in range(a, b, HOUR_MS) if h in new]
    old_cols = current.columns
    cols = vector.replace_rows(old_cols, start, end, redone, made)
    sums = old_cols.sums
    # (Sums of the window the old buckets end: an update moves them on.)
    if sums is not None and sums.end == window_end(current.last_ms or 0):
        cols.sums = segments.moved(sums, old_cols, cols, differ, current.kind == CGM, end)
    return cols


def _hour_spans(changed: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The changed ranges widened to whole hours, merged, in time order."""
    return merged_ranges((hour_of(a), window_end(b - 1)) for a, b in changed if a < b)


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
                i = bisect.bisect_left(samples, a, key=sample_time)
                j = bisect.bisect_left(samples, b, key=sample_time)
                return dedup(samples[i:j], self._kind)
        return dedup(self.load(a, b), self._kind)
