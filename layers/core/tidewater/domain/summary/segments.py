"""The window's segments, summed exactly: what every period is made of, and how an update
moves them on by the few buckets that changed, in constant time.

The window is split at every period edge (hours back from its end, `BOUNDARIES`), so that a
period is a union of consecutive segments. Each segment keeps exact sums of its buckets:

- the counts (minutes by range, records by range, buckets): ints;
- Σ glucose and Σ M2 (each bucket's pooled squared deviations) as integers over a power of
  two (every float is an integer times a power of two);
- the spread Σ glucoseᵢ² / wᵢ (w: a bucket's minutes for CGM, records for BGM) as an integer
  over 4^scale times the least common multiple of the weights.

Pooled M2 of a union is then Σ M2ᵢ + Σ glucoseᵢ² / wᵢ - (Σ glucoseᵢ)² / W: Chan's formula
summed out, exact in rationals, so subtracting a bucket undoes adding it and nothing cancels
(no float sum of squares). Every reported float is the exact rational rounded once (Python's
int / int is correctly rounded): a function of the set of buckets, whatever the order they
were added and removed in. An update adds the buckets entering each segment and subtracts
those leaving it (an hour appended: 2 a segment); a first summary sums every bucket once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from tidewater.domain.summary.buckets import (
    HOUR_MS,
    SEGMENT_BOUNDARIES,
    WINDOW_HOURS,
    merged_ranges,
)

if TYPE_CHECKING:
    from tidewater.domain.summary.vector import BucketColumns, Floats, Ints

BOUNDARIES = SEGMENT_BOUNDARIES
SEGMENTS = len(BOUNDARIES) - 1
# An update that moves more buckets than this sums the window afresh.
MOST_MOVED = 96
_COUNTED = slice(3, 21)  # of a bucket's ints: minutes by range (9), records by range (9)


@dataclass(slots=True, frozen=True)
class Sums:
    """Exact sums of the buckets of each segment of the window that ends at `end` (segment 0
    the newest)."""

    end: int
    glucose_scale: int  # Σ glucose = glucose / 2**glucose_scale
    m2_scale: int  # Σ M2 = m2 / 2**m2_scale
    lcm: int  # of the weights; Σ glucose² / w = spread / (4**glucose_scale * lcm)
    glucose: tuple[int, ...]
    m2: tuple[int, ...]
    spread: tuple[int, ...]
    counts: Ints  # (SEGMENTS, 18): minutes by range, records by range; never written to
    buckets: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "end": self.end,
            "scales": [self.glucose_scale, self.m2_scale, self.lcm],
            "glucose": list(self.glucose),
            "m2": list(self.m2),
            "spread": list(self.spread),
            "counts": self.counts.tolist(),
            "buckets": list(self.buckets),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sums:
        """Sums as `to_json` wrote them; ValueError (or KeyError, TypeError) if they are not."""
        glucose_scale, m2_scale, lcm = (int(v) for v in data["scales"])
        glucose, m2, spread, buckets = (
            tuple(int(v) for v in data[k]) for k in ("glucose", "m2", "spread", "buckets")
        )
        counts = np.array(data["counts"], np.int64)
        lengths = {len(glucose), len(m2), len(spread), len(buckets)}
        if counts.shape != (SEGMENTS, 18) or lengths != {SEGMENTS}:
            raise ValueError("segment sums of another shape")
        if glucose_scale < 0 or m2_scale < 0 or lcm < 1:
            raise ValueError("segment sums over no power of two or lcm")
        end = int(data["end"])
        return cls(end, glucose_scale, m2_scale, lcm, glucose, m2, spread, counts, buckets)


def edges_of(end: int) -> list[int]:
    """The segments' edges (epoch ms, descending from `end`)."""
    return [end - b * HOUR_MS for b in BOUNDARIES]


def sums_of(cols: BucketColumns, cgm: bool, end: int) -> Sums:
    """The sums of every segment of the window that ends at `end`, from its buckets."""
    at = np.searchsorted(cols.hour, edges_of(end)[::-1]).tolist()
    lo, hi = at[0], at[-1]
    buckets = tuple(b - a for a, b in pairwise(at))[::-1]
    # The segments that hold rows, oldest first: (the first row, the segment).
    runs = [(a - lo, SEGMENTS - 1 - k) for k, (a, b) in enumerate(pairwise(at)) if a < b]
    counts = np.zeros((SEGMENTS, 18), np.int64)
    if runs:
        starts, segments = zip(*runs, strict=True)
        counts[list(segments)] = np.add.reduceat(cols.ints[lo:hi, _COUNTED], starts, axis=0)
    g, m = cols.floats[lo:hi, 0], cols.floats[lo:hi, 9]
    w = cols.ints[lo:hi, 3 if cgm else 12]
    made = _summed(g, m, w, runs) or _summed_one_by_one(g, m, w, [a - lo for a in at])
    gscale, mscale, lcm, glucose, m2, spread = made
    return Sums(end, gscale, mscale, lcm, glucose, m2, spread, counts, buckets)


_Summed = tuple[int, int, int, tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def _summed_one_by_one(
    g_values: Floats, m_values: Floats, weights: Ints, bounds: list[int]
) -> _Summed:
    """(glucose scale, M2 scale, lcm, and each segment's Σ glucose, Σ M2 and spread), every
    bucket's values made Python ints."""
    gscale, g = _exact(g_values)
    mscale, m = _exact(m_values)
    w = weights.tolist()
    lcm = math.lcm(*set(w) - {0})
    share = {k: lcm // k if k else 0 for k in set(w)}
    glucose, m2, spread = [], [], []
    for a, b in zip(bounds[-2::-1], bounds[:0:-1], strict=True):  # newest segment first
        glucose.append(sum(g[a:b]))
        m2.append(sum(m[a:b]))
        spread.append(sum(n * n * share[k] for n, k in zip(g[a:b], w[a:b], strict=True)))
    return gscale, mscale, lcm, tuple(glucose), tuple(m2), tuple(spread)


_LIMB = 16  # bits: a limb's products, times a weight's share, summed, stay in int64
_MASK = (1 << _LIMB) - 1
_MOST_SHARE = 1 << 18  # (4 limbs' position sums < 2^34 each, a window's < 2^45)


def _summed(
    g_values: Floats, m_values: Floats, weights: Ints, runs: list[tuple[int, int]]
) -> _Summed | None:
    """`_summed_one_by_one` in a few numpy calls: each scaled value split into int64 limbs
    (every split, product and sum exact), one table of them summed segment by segment: Σ
    glucose and Σ M2 as two limbs of 32 bits, and the spread's squares by position of 16
    bits, each times its weight's share of the lcm. None when a value is too wide for that,
    or the lcm too large (the caller sums one by one)."""
    if not runs:
        return 0, 0, 1, (0,) * SEGMENTS, (0,) * SEGMENTS, (0,) * SEGMENTS
    # Below 2^63, and 2^84 (limbs of 32 bits and 52 at most: a window's 1,440 sums of
    # either stay below 2^63).
    gscale, g = _scaled(g_values, 63)
    mscale, m = _scaled(m_values, 84)
    lcm = math.lcm(*set(np.unique(weights).tolist()) - {0})
    if g is None or m is None or lcm >= _MOST_SHARE:
        return None
    n = len(g)
    table = np.empty((n, 11), np.int64)
    table[:, 0] = g >> 32
    table[:, 1] = g & 0xFFFFFFFF
    m_hi = np.floor(m * 2.0**-32)
    table[:, 2] = m_hi
    table[:, 3] = m - m_hi * 2.0**32
    # g² by positions of 16 bits: (a·2^48 + b·2^32 + c·2^16 + d)², each position's sum of
    # limb products times the bucket's share of the lcm (0 for a weight of 0).
    a, b, c, d = (g >> 3 * _LIMB) & _MASK, (g >> 2 * _LIMB) & _MASK, (g >> _LIMB) & _MASK, g & _MASK
    table[:, 4] = a * a
    table[:, 5] = 2 * a * b
    table[:, 6] = 2 * a * c + b * b
    table[:, 7] = 2 * (a * d + b * c)
    table[:, 8] = 2 * b * d + c * c
    table[:, 9] = 2 * c * d
    table[:, 10] = d * d
    share = np.where(weights > 0, lcm // np.maximum(weights, 1), 0)
    table[:, 4:] *= share[:, None]
    glucose, m2, spread = [0] * SEGMENTS, [0] * SEGMENTS, [0] * SEGMENTS
    starts, segments = zip(*runs, strict=True)
    for seg, row in zip(segments, np.add.reduceat(table, starts, axis=0).tolist(), strict=True):
        glucose[seg] = (row[0] << 32) + row[1]
        m2[seg] = (row[2] << 32) + row[3]
        spread[seg] = sum(v << (_LIMB * (6 - p)) for p, v in enumerate(row[4:]))
    return gscale, mscale, lcm, tuple(glucose), tuple(m2), tuple(spread)


def _scaled(values: Floats, width: int) -> tuple[int, Any]:
    """(s, the values times 2^s) with every scaled value an integer (exactly: s from the
    values' exponents) and below 2^width: as int64 for width 63, else as floats; (s, None)
    if a value would not fit (or is negative)."""
    mantissa, exponent = np.frexp(values)
    nonzero = exponent[mantissa != 0]
    if not len(nonzero):
        return 0, np.zeros(len(values), np.int64 if width <= 63 else np.float64)
    scale = max(0, 53 - int(nonzero.min()))
    if scale + int(nonzero.max()) > width or mantissa.min() < 0:
        return scale, None
    scaled = np.ldexp(values, scale)
    return scale, scaled.astype(np.int64) if width <= 63 else scaled


def _exact(values: Floats, scale: int = 0) -> tuple[int, list[int]]:
    """(s, ints) with every value == ints[i] / 2**s exactly; s is at least `scale`."""
    if not len(values):
        return scale, []
    mantissa, exponent = np.frexp(values)
    nonzero = exponent[mantissa != 0]
    if len(nonzero):
        # A float is a 53-bit integer times 2**(exponent - 53).
        scale = max(scale, 53 - int(nonzero.min()))
        if scale + int(nonzero.max()) < 1000:  # scaled, every value is a float integer
            return scale, [int(v) for v in np.ldexp(values, scale).tolist()]
    return _ratios(values.tolist(), scale)


def _ratios(values: list[float], scale: int) -> tuple[int, list[int]]:
    """`_exact` of values as a list (a few: no numpy)."""
    pairs = [v.as_integer_ratio() for v in values]
    scale = max(scale, max(d for _, d in pairs).bit_length() - 1)  # (d: a power of two)
    return scale, [n << (scale - d.bit_length() + 1) for n, d in pairs]


Move = tuple[int | None, int | None]  # a bucket taken off one segment, added to another


def moved(
    old: Sums,
    before: BucketColumns,
    after: BucketColumns,
    differ: Sequence[tuple[int, int]],
    cgm: bool,
    end: int,
) -> Sums | None:
    """The sums of `after`'s window (ending at `end`) from `old`, the sums of `before`'s: the
    buckets differ only in the `differ` ranges. Each segment takes off the old buckets it no
    longer holds as they were and adds the new ones it holds now. None when that is more
    buckets than summing afresh would cost (`MOST_MOVED`)."""
    changed = merged_ranges(differ)
    start, old_start = end - WINDOW_HOURS * HOUR_MS, old.end - WINDOW_HOURS * HOUR_MS
    if end == old.end + HOUR_MS and all(
        (old_start <= a and b <= start + HOUR_MS) or (old.end <= a and b <= end) for a, b in changed
    ):
        redone = any(a < start + HOUR_MS and start < b for a, b in changed)
        return _an_hour_on(old, before, after, cgm, redone)
    old_edges, new_edges = edges_of(old.end)[::-1], edges_of(end)[::-1]
    gone: list[tuple[int, int, int]] = []  # (segment, first hour, stop)
    come: list[tuple[int, int, int]] = []
    for k in range(SEGMENTS):
        seg = SEGMENTS - 1 - k  # edges ascend: the oldest segment first
        oa, ob = old_edges[k], old_edges[k + 1]
        na, nb = new_edges[k], new_edges[k + 1]
        c, d = max(oa, na), min(ob, nb)
        if c >= d:
            gone.append((seg, oa, ob))
            come.append((seg, na, nb))
            continue
        inside = [(max(a, c), min(b, d)) for a, b in changed if max(a, c) < min(b, d)]
        gone += [(seg, a, b) for a, b in ((oa, c), (d, ob), *inside) if a < b]
        come += [(seg, a, b) for a, b in ((na, c), (d, nb), *inside) if a < b]
    off_segments, off = _rows(before, gone)
    on_segments, on = _rows(after, come)
    if len(off) + len(on) > MOST_MOVED:
        return None
    moves: list[Move] = [(seg, None) for seg in off_segments]
    moves += [(None, seg) for seg in on_segments]
    return _apply(old, before, off, after, on, moves, cgm, end)


def _an_hour_on(
    old: Sums, before: BucketColumns, after: BucketColumns, cgm: bool, first_redone: bool
) -> Sums:
    """`moved` of the usual update: the window moved on by an hour, the buckets differing
    only in the hour appended (and in the window's new first hour when `first_redone`).
    Each segment's oldest hour passes to the next segment (the last one's leaves the
    window), and the new hour enters the first: one search of each columns."""
    end = old.end + HOUR_MS
    last = SEGMENTS - 1
    passing = [old.end - b * HOUR_MS for b in BOUNDARIES[1:]]
    start = passing[-1] + HOUR_MS
    if first_redone:  # (its old bucket leaves the last segment, its new one enters it)
        passing.append(start)
    at = before.hour.searchsorted([p for h in passing for p in (h, h + HOUR_MS)]).tolist()
    off: list[int] = []
    moves: list[Move] = []
    for j in range(len(passing)):
        if at[2 * j] < at[2 * j + 1]:
            off.append(at[2 * j])
            moves.append((min(j, last), j + 1 if j < last else None))
    ends = [old.end, end, start, start + HOUR_MS] if first_redone else [old.end, end]
    new = after.hour.searchsorted(ends).tolist()
    on = [*range(new[0], new[1])]
    moves += [(None, 0)] * len(on)
    if first_redone:
        on += range(new[2], new[3])
        moves += [(None, last)] * (new[3] - new[2])
    return _apply(old, before, off, after, on, moves, cgm, end)


def _apply(
    old: Sums,
    before: BucketColumns,
    off: list[int],
    after: BucketColumns,
    on: list[int],
    moves: list[Move],
    cgm: bool,
    end: int,
) -> Sums:
    """`old` with the buckets of rows `off` of `before`, then of rows `on` of `after`, each
    taken off the segment `moves[i][0]` and added to `moves[i][1]` (None: neither)."""
    count = len(moves)
    if not count:
        return dataclasses.replace(old, end=end)
    room = before.room
    if room is not None and after.room is room:  # rows of the same arrays: gathered at once
        b0, a0 = before.stop - len(before.hour), after.stop - len(after.hour)
        at = [b0 + r for r in off] + [a0 + r for r in on]
        for unread in {c.unread for c in (before, after) if c.unread is not None}:
            unread.read_rows(at)  # (the days of these rows, if stored days are unread)
        ints, floats = room.ints[at], room.floats[at]
    else:
        (bi, bf), (ai, af) = before.gathered(off), after.gathered(on)
        ints, floats = np.concatenate((bi, ai)), np.concatenate((bf, af))
    w = ints[:, 3 if cgm else 12].tolist()
    gscale, g = _ratios(floats[:, 0].tolist(), old.glucose_scale)
    mscale, m = _ratios(floats[:, 9].tolist(), old.m2_scale)
    lcm = math.lcm(old.lcm, *set(w) - {0})
    glucose, m2, spread = _rescaled(old, gscale, mscale, lcm)
    buckets = list(old.buckets)
    by_segment = [[0] * count for _ in range(SEGMENTS)]
    for i, ((frm, to), n, v, k) in enumerate(zip(moves, g, m, w, strict=True)):
        q = n * n * (lcm // k) if k else 0
        if frm is not None:
            glucose[frm] -= n
            m2[frm] -= v
            spread[frm] -= q
            buckets[frm] -= 1
            by_segment[frm][i] = -1
        if to is not None:
            glucose[to] += n
            m2[to] += v
            spread[to] += q
            buckets[to] += 1
            by_segment[to][i] = 1
    counts = old.counts + np.array(by_segment, np.int64) @ ints[:, _COUNTED]
    g_, m_, q_, b_ = tuple(glucose), tuple(m2), tuple(spread), tuple(buckets)
    return Sums(end, gscale, mscale, lcm, g_, m_, q_, counts, b_)


def _rescaled(old: Sums, gscale: int, mscale: int, lcm: int) -> tuple[list[int], ...]:
    """The old sums' glucose, M2 and spread over the new scales and lcm."""
    glucose, m2, spread = list(old.glucose), list(old.m2), list(old.spread)
    if gscale != old.glucose_scale:
        glucose = [v << (gscale - old.glucose_scale) for v in glucose]
    if mscale != old.m2_scale:
        m2 = [v << (mscale - old.m2_scale) for v in m2]
    grow = (lcm // old.lcm) << 2 * (gscale - old.glucose_scale)
    if grow != 1:
        spread = [v * grow for v in spread]
    return glucose, m2, spread


def _rows(cols: BucketColumns, spans: list[tuple[int, int, int]]) -> tuple[list[int], list[int]]:
    """The rows of `cols` with an hour in each span: (each row's segment, the rows)."""
    if not spans:
        return [], []
    at = np.searchsorted(cols.hour, [p for _, a, b in spans for p in (a, b)]).tolist()
    segments: list[int] = []
    rows: list[int] = []
    for (seg, _, _), lo, hi in zip(spans, at[::2], at[1::2], strict=True):
        segments += [seg] * (hi - lo)
        rows += range(lo, hi)
    return segments, rows


# A union of segments as the periods read it: Σ glucose, its weight, the pooled M2 (each the
# exact value rounded once) and the counts (minutes by range, records by range, buckets).
Pooled = tuple[float, int, float, list[int]]


def sums_for(cols: BucketColumns, cgm: bool, end: int) -> Sums:
    """The columns' sums for the window that ends at `end`: those an update handed on, else
    summed (and kept with the columns)."""
    sums = cols.sums
    if sums is None or sums.end != end:
        sums = cols.sums = sums_of(cols, cgm, end)
    return sums


def pooled(sums: Sums, k: int, cgm: bool) -> Pooled:
    """Segment k (0 the newest)."""
    counts = [*sums.counts[k].tolist(), sums.buckets[k]]
    return _rounded(sums, sums.glucose[k], sums.m2[k], sums.spread[k], counts, cgm)


def newest(sums: Sums, stops: Sequence[int], cgm: bool) -> list[Pooled]:
    """The unions of segments [0, stop) for each stop (ascending)."""
    running = np.cumsum(sums.counts, axis=0).tolist()
    out = []
    g = m = q = buckets = at = 0
    for stop in stops:
        g += sum(sums.glucose[at:stop])
        m += sum(sums.m2[at:stop])
        q += sum(sums.spread[at:stop])
        buckets += sum(sums.buckets[at:stop])
        at = stop
        out.append(_rounded(sums, g, m, q, [*running[stop - 1], buckets], cgm))
    return out


def _rounded(sums: Sums, g: int, m: int, q: int, counts: list[int], cgm: bool) -> Pooled:
    weight = counts[0 if cgm else 9]
    if not weight:
        return 0.0, 0, 0.0, counts
    gs, ms, lcm = sums.glucose_scale, sums.m2_scale, sums.lcm
    # Σ M2 + Σ g²/w - (Σ g)²/W over one denominator: 2^ms · 4^gs · lcm · W.
    top = ((m * lcm * weight) << 2 * gs) + ((q * weight - g * g * lcm) << ms)
    return g / (1 << gs), weight, top / ((lcm * weight) << (ms + 2 * gs)), counts
