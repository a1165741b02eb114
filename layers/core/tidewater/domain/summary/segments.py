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
from typing import TYPE_CHECKING, Any

import numpy as np

from tidewater.domain.summary.buckets import HOUR_MS, SEGMENT_BOUNDARIES

if TYPE_CHECKING:
    from tidewater.domain.summary.vector import BucketColumns, Floats, Ints

BOUNDARIES = SEGMENT_BOUNDARIES
SEGMENTS = len(BOUNDARIES) - 1
COUNTS = 2 * 9 + 1  # minutes by range (9), records by range (9), buckets
# An update that moves more buckets than this sums the window afresh.
MOST_MOVED = 96


@dataclass(slots=True, frozen=True)
class Sums:
    """Exact sums of the buckets of each segment of the window that ends at `end`."""

    end: int
    glucose_scale: int  # Σ glucose = glucose / 2**glucose_scale
    m2_scale: int  # Σ M2 = m2 / 2**m2_scale
    lcm: int  # of the weights; Σ glucose² / w = spread / (4**glucose_scale * lcm)
    glucose: tuple[int, ...]
    m2: tuple[int, ...]
    spread: tuple[int, ...]
    counts: Ints  # (SEGMENTS, COUNTS), never written after it is made

    def to_json(self) -> dict[str, object]:
        return {
            "end": self.end,
            "scales": [self.glucose_scale, self.m2_scale, self.lcm],
            "glucose": list(self.glucose),
            "m2": list(self.m2),
            "spread": list(self.spread),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sums:
        """Sums as `to_json` wrote them; ValueError (or KeyError, TypeError) if they are not."""
        glucose_scale, m2_scale, lcm = (int(v) for v in data["scales"])
        glucose, m2, spread = (tuple(int(v) for v in data[k]) for k in ("glucose", "m2", "spread"))
        counts = np.array(data["counts"], np.int64)
        if counts.shape != (SEGMENTS, COUNTS) or {len(glucose), len(m2), len(spread)} != {SEGMENTS}:
            raise ValueError("segment sums of another shape")
        return cls(int(data["end"]), glucose_scale, m2_scale, lcm, glucose, m2, spread, counts)


def edges_of(end: int) -> list[int]:
    """The segments' edges (epoch ms, descending from `end`)."""
    return [end - b * HOUR_MS for b in BOUNDARIES]


def _weights(cols: BucketColumns, lo: int, hi: int, cgm: bool) -> Ints:
    return cols.ints[lo:hi, 3 if cgm else 12]


def sums_of(cols: BucketColumns, cgm: bool, end: int) -> Sums:
    """The sums of every segment of the window that ends at `end`, from its buckets."""
    edges = edges_of(end)[::-1]
    at = np.searchsorted(cols.hour, edges).tolist()
    lo, hi = at[0], at[-1]
    bounds = [a - lo for a in at]
    prefix = np.zeros((hi - lo + 1, COUNTS), np.int64)
    np.cumsum(cols.ints[lo:hi, 3:21], axis=0, out=prefix[1:, :18])
    prefix[:, 18] = np.arange(hi - lo + 1)
    counts = (prefix[bounds[1:]] - prefix[bounds[:-1]])[::-1].copy()
    gscale, g = _exact(cols.floats[lo:hi, 0])
    mscale, m = _exact(cols.floats[lo:hi, 9])
    w = _weights(cols, lo, hi, cgm).tolist()
    lcm = math.lcm(*set(w) - {0})
    share = {k: lcm // k if k else 0 for k in set(w)}
    glucose, m2, spread = [], [], []
    for a, b in zip(bounds[-2::-1], bounds[:0:-1], strict=True):  # newest segment first
        glucose.append(sum(g[a:b]))
        m2.append(sum(m[a:b]))
        spread.append(sum(n * n * share[k] for n, k in zip(g[a:b], w[a:b], strict=True)))
    return Sums(end, gscale, mscale, lcm, tuple(glucose), tuple(m2), tuple(spread), counts)


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
    out = []
    for v in values.tolist():
        n, d = v.as_integer_ratio()
        out.append(n << (scale - d.bit_length() + 1))
    return scale, out


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
    old_edges, new_edges = edges_of(old.end)[::-1], edges_of(end)[::-1]
    changed = _merged(differ)
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
    count = len(off) + len(on)
    if count > MOST_MOVED:
        return None
    if not count:
        return dataclasses.replace(old, end=end)
    ints = np.concatenate((before.ints[off], after.ints[on]))
    floats = np.concatenate((before.floats[off], after.floats[on]))
    w = ints[:, 3 if cgm else 12].tolist()
    gscale, g = _ratios(floats[:, 0].tolist(), old.glucose_scale)
    mscale, m = _ratios(floats[:, 9].tolist(), old.m2_scale)
    lcm = math.lcm(old.lcm, *set(w) - {0})
    glucose, m2, spread = list(old.glucose), list(old.m2), list(old.spread)
    if gscale != old.glucose_scale:
        glucose = [v << (gscale - old.glucose_scale) for v in glucose]
    if mscale != old.m2_scale:
        m2 = [v << (mscale - old.m2_scale) for v in m2]
    grow = (lcm // old.lcm) << 2 * (gscale - old.glucose_scale)
    if grow != 1:
        spread = [v * grow for v in spread]
    segments = off_segments + on_segments
    signs = np.ones(count, np.int64)
    signs[: len(off)] = -1
    for i, (seg, n, v, k) in enumerate(zip(segments, g, m, w, strict=True)):
        sign = -1 if i < len(off) else 1
        glucose[seg] += sign * n
        m2[seg] += sign * v
        if k:
            spread[seg] += sign * n * n * (lcm // k)
    by_segment = np.zeros((SEGMENTS, count), np.int64)
    by_segment[segments, np.arange(count)] = signs
    rows = np.ones((count, COUNTS), np.int64)
    rows[:, :18] = ints[:, 3:21]
    counts = old.counts + by_segment @ rows
    return Sums(end, gscale, mscale, lcm, tuple(glucose), tuple(m2), tuple(spread), counts)


def _ratios(values: list[float], scale: int) -> tuple[int, list[int]]:
    """`_exact` of a few values, without numpy."""
    pairs = [v.as_integer_ratio() for v in values]
    scale = max(scale, *(d.bit_length() - 1 for _, d in pairs))
    return scale, [n << (scale - d.bit_length() + 1) for n, d in pairs]


def _merged(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


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
# exact value rounded once) and the counts.
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
    return _rounded(sums, sums.glucose[k], sums.m2[k], sums.spread[k], sums.counts[k].tolist(), cgm)


def newest(sums: Sums, stops: Sequence[int], cgm: bool) -> list[Pooled]:
    """The unions of segments [0, stop) for each stop (ascending)."""
    running = np.cumsum(sums.counts, axis=0).tolist()
    out = []
    g = m = q = 0
    at = 0
    for stop in stops:
        g += sum(sums.glucose[at:stop])
        m += sum(sums.m2[at:stop])
        q += sum(sums.spread[at:stop])
        at = stop
        out.append(_rounded(sums, g, m, q, running[stop - 1], cgm))
    return out


def _rounded(sums: Sums, g: int, m: int, q: int, counts: list[int], cgm: bool) -> Pooled:
    weight = counts[0 if cgm else 9]
    if not weight:
        return 0.0, 0, 0.0, counts
    gs, ms, lcm = sums.glucose_scale, sums.m2_scale, sums.lcm
    # Σ M2 + Σ g²/w - (Σ g)²/W over one denominator: 2^ms · 4^gs · lcm · W.
    top = ((m * lcm * weight) << 2 * gs) + ((q * weight - g * g * lcm) << ms)
    return g / (1 << gs), weight, top / ((lcm * weight) << (ms + 2 * gs)), counts
