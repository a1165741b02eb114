"""Summary statistics of CGM and BGM data: hourly buckets, then 1/7/14/30-day periods.

No I/O. Importing this package loads the standard library only (cold starts matter);
numpy is imported by the functions that compute (`summarize`, `build_buckets`,
`update_buckets`, `compute_periods`, `summarize_buckets`), so only the summariser pays for it.
Modules: `buckets` (the hourly bucket model and its JSON codec),
`fold` (the sample-by-sample loop the incremental update folds hours with, and a full build),
`vector` (numpy: canonical datums read as columns, whole windows folded, the periods' sums),
`incremental` (the update from changed ranges), `periods` (buckets → 1/7/14/30-day
periods), `document` (the `{cgm, bgm}` summary a store keeps). The contract is DESIGN.md's "Domain
decisions" and "Period JSON"; spec/summary-statistics-v2.txt where DESIGN is silent.

Public API
----------
- ``summarize(datums) -> {"cgm": {"dates", "periods"}, "bgm": {...}}``: the full summary of
  an iterable of datum dicts (cbg → cgm, smbg → bgm, other types ignored).
- ``Sample`` (a NamedTuple: time_ms, mmol, units, value, duration, device_id, kind) and
  ``sample_from_datum(datum) -> Sample | None`` for raw or stored datums (`domain/samples.py`,
  outside this package: the upload packs each stored datum's sample, ``packed_sample``);
  ``samples_from_packed(packed, kind)``: those samples again, without device ids.
- ``build_buckets(samples, kind) -> Buckets``: the 60-day hourly buckets of one type;
  ``buckets_from_datums(datums, kind)``: the same of one type's datums (column by column);
  ``buckets_from_packed(packed, kind)``: the same of their packed samples (None on a tie in
  time, which only the datums can break).
- ``update_buckets(buckets, changed, load) -> Buckets``: the same after the samples with
  times in the ``changed`` ranges ``[(start_ms, end_ms), ...]`` changed (added, replaced or
  deleted); ``load(a, b)`` returns the samples (or stored datums) with a <= time < b, and is
  asked only for what must be recomputed: the changed hours, the hours a changed blackout
  spills into, hours the window regains when it moves back, and, when the newest sample was
  deleted, where the new newest is (at worst ``load(0, start)``). Equal to ``build_buckets``
  of all the data, bucket for bucket, bit for bit.
- ``compute_periods(buckets) -> {"1d": ..., "7d": ..., "14d": ..., "30d": ...}`` and
  ``summarize_buckets(buckets) -> {"dates", "periods"}``; ``last_data(summary)``: the newest
  ``dates.lastData`` of a stored summary.
- ``Bucket`` (one hour; ``date`` is its start in epoch ms) and ``Buckets`` (``kind``,
  ``hours: {hour_ms: Bucket}``, ``last_ms``: the newest sample): ``to_dict()`` /
  ``from_dict()`` round-trip exactly through JSON.

Decisions where the specs are silent
------------------------------------
- Window: the 1,440 UTC hours ending at the hour of the type's newest sample (counted or
  masked). Samples older than the window neither count nor mask: the blackout chain starts
  afresh at the window's first hour, so a summary depends on the window's samples only.
- Samples are processed in time order, ties by value, then units, duration and device id:
  upload order never matters. An identical BGM reading stored twice counts once; CGM
  duplicates are masked by the blackout. A sampleInterval under one minute counts one minute.
- Bucket M2 comes from Welford's weighted update; periods pool the buckets' M2 with Chan's
  parallel formula, so SD = sqrt(M2 / weight) is exact (population SD, as DESIGN says).
  The numpy fold of a whole window performs the loop's operations in the loop's order
  (bit for bit the same buckets), and a segment's sums are `math.fsum`s (exactly rounded).
- Malformed cbg/smbg datums (units, value, time, sampleInterval) raise ValueError.
- Periods hold only the current periods; each has ``delta`` = current - previous for every
  number it has (inside ``total`` and the ranges too), a number the previous period lacks
  counting as 0, and no delta for what the current period lacks. GMI's delta is rounded to
  0.1, as both sides are.
- ``total.percent`` is the CGM use for CGM (as in spec v2: GMI needs Total.Percent > 70 %),
  and 1 (or 0 without records) for BGM. CGM use is capped at 1: readings at the window's
  edge can cover minutes past it.
- CGM has every DESIGN field plus ``timeCGMUsePercent``. BGM has no minutes anywhere, no
  GMI and no CGM use; it keeps days/hours with data, mean, and the record-weighted
  population SD and CV. Ranges of BGM are present whenever the period has records.
- Mean, SD and CV are absent when a period has no records; ``total`` is always present.
- A type without samples summarises to ``{"dates": {}, "periods": {}}`` (never null).
- ``dates.firstData`` is the oldest sample counted in the window, ``lastData`` the newest.
"""

from tidewater.domain.samples import (
    BGM,
    CGM,
    Sample,
    packed_sample,
    sample_from_datum,
    samples_from_packed,
)
from tidewater.domain.summary.buckets import HOUR_MS, RANGES, Bucket, Buckets
from tidewater.domain.summary.document import (
    buckets_from_datums,
    buckets_from_packed,
    last_data,
    summarize,
    summarize_buckets,
)
from tidewater.domain.summary.fold import build_buckets
from tidewater.domain.summary.incremental import Loader, update_buckets
from tidewater.domain.summary.periods import compute_periods, glucose_management_indicator

__all__ = [
    "BGM",
    "CGM",
    "HOUR_MS",
    "RANGES",
    "Bucket",
    "Buckets",
    "Loader",
    "Sample",
    "buckets_from_datums",
    "buckets_from_packed",
    "build_buckets",
    "compute_periods",
    "glucose_management_indicator",
    "last_data",
    "packed_sample",
    "sample_from_datum",
    "samples_from_packed",
    "summarize",
    "summarize_buckets",
    "update_buckets",
]
