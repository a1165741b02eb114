"""The summary document, `{"cgm": {"dates", "periods"}, "bgm": ...}`: of a user's datums in
full, or from stored buckets; and what a reader takes from a stored one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tidewater.domain.summary.buckets import Buckets
from tidewater.domain.summary.fold import build_buckets
from tidewater.domain.summary.periods import compute_periods
from tidewater.domain.summary.samples import BGM, CGM, sample_from_datum
from tidewater.domain.timeutil import format_utc, from_epoch_ms


def summarize(datums: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`{"cgm": {"dates", "periods"}, "bgm": {...}}` of cbg and smbg datums; others ignored."""
    samples = [s for s in map(sample_from_datum, datums) if s is not None]
    return {kind: summarize_buckets(build_buckets(samples, kind)) for kind in (CGM, BGM)}


def summarize_buckets(buckets: Buckets) -> dict[str, Any]:
    """`{"dates": {"firstData", "lastData"}, "periods": {...}}`; both {} for a type without data.

    firstData is the oldest sample counted in the 60-day window, lastData the newest sample.
    """
    if buckets.last_ms is None or not buckets.hours:
        return {"dates": {}, "periods": {}}
    oldest = buckets.hours[min(buckets.hours)].first_time
    return {
        "dates": {
            "firstData": format_utc(from_epoch_ms(oldest)),
            "lastData": format_utc(from_epoch_ms(buckets.last_ms)),
        },
        "periods": compute_periods(buckets),
    }


def last_data(summary: Mapping[str, Any]) -> str | None:
    """The newest `dates.lastData` of a stored summary's kinds, or None without data."""
    dates = [((summary.get(kind) or {}).get("dates") or {}).get("lastData") for kind in (CGM, BGM)]
    return max((d for d in dates if d), default=None)
