"""The summary document, `{"cgm": {"dates", "periods"}, "bgm": ...}`: of a user's datums in
full, or from stored buckets; and what a reader takes from a stored one."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from itertools import compress, repeat
from typing import TYPE_CHECKING, Any

from tidewater.domain.samples import BGM, CGM, KIND_OF_TYPE, sample_from_datum
from tidewater.domain.summary.buckets import Buckets
from tidewater.domain.summary.fold import build_buckets, window_start
from tidewater.domain.summary.periods import periods_of
from tidewater.domain.timeutil import format_utc, from_epoch_ms

if TYPE_CHECKING:
    from tidewater.domain.summary.vector import BucketColumns, SampleColumns


def summarize(datums: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`{"cgm": {"dates", "periods"}, "bgm": {...}}` of cbg and smbg datums; others ignored.

    Datums in the canonical form the store keeps are read column by column (vector); any
    other form takes the per-datum path, with the same result.
    """
    rows = datums if isinstance(datums, list) else list(datums)
    kinds = _kinds(rows)
    out: dict[str, dict[str, Any]] = {}
    for kind in KIND_OF_TYPE.values():
        # The kinds are the constants themselves: they compare by identity.
        if kinds.count(kind) == len(rows):
            group = rows
        else:
            group = list(compress(rows, map(operator.is_, kinds, repeat(kind))))
        folded = _fold(group, kind)
        if folded is None:
            samples = [s for s in map(sample_from_datum, group) if s is not None]
            out[kind] = summarize_buckets(build_buckets(samples, kind))
        else:
            out[kind] = _summary(*folded, kind)
    return {kind: out[kind] for kind in (CGM, BGM)}


def _kinds(datums: list[Mapping[str, Any]]) -> list[str | None]:
    """CGM, BGM or None for each datum, by its type: each type string is read once."""
    try:
        return list(map(KIND_OF_TYPE.get, map(operator.itemgetter("type"), datums)))
    except (KeyError, TypeError):  # no type, or an unhashable one: neither cbg nor smbg
        types = [d.get("type") for d in datums]
        return [KIND_OF_TYPE.get(t) if isinstance(t, str) else None for t in types]


def buckets_from_datums(datums: Sequence[Mapping[str, Any]], kind: str) -> Buckets:
    """`build_buckets` of the samples of stored (or raw) datums of one type, read column by
    column when they are in the canonical form the store keeps."""
    folded = _fold(datums, kind)
    if folded is None:
        return build_buckets([s for s in map(sample_from_datum, datums) if s is not None], kind)
    made, last = folded
    return Buckets(kind, None, last, made)


def buckets_from_packed(packed: bytes, kind: str) -> Buckets | None:
    """`build_buckets` of one type's packed samples (`samples.packed_sample`, in time order
    as the store keeps them), or None when they need the datums (two share a time)."""
    if not packed:
        return Buckets(kind)
    from tidewater.domain.summary import vector

    cols = vector.columns_from_packed(packed)
    if cols is None:
        return None
    made, last = _fold_window(cols)
    return Buckets(kind, None, last, made)


def _fold(datums: Sequence[Mapping[str, Any]], kind: str) -> tuple[BucketColumns, int] | None:
    """The window's buckets (as columns) and the newest sample's time, or None when the
    datums need the per-datum path (vector.columns_from_datums says when)."""
    from tidewater.domain.summary import vector

    cols = vector.columns_from_datums(datums, kind == CGM)
    return None if cols is None else _fold_window(cols)


def _fold_window(cols: SampleColumns) -> tuple[BucketColumns, int]:
    """The buckets of the window that ends with the newest of samples in time order."""
    from tidewater.domain.summary import vector

    last = int(cols.time[-1])
    first = int(vector.np.searchsorted(cols.time, window_start(last)))
    window = vector.SampleColumns(*(getattr(cols, f)[first:] for f in cols.__slots__))
    return vector.fold(window), last


def summarize_buckets(buckets: Buckets) -> dict[str, Any]:
    """`{"dates": {"firstData", "lastData"}, "periods": {...}}`; both {} for a type without data.

    firstData is the oldest sample counted in the 60-day window, lastData the newest sample.
    """
    if buckets.last_ms is None or not len(buckets):
        return {"dates": {}, "periods": {}}
    from tidewater.domain.summary import vector

    return _summary(vector.columns_of(buckets), buckets.last_ms, buckets.kind)


def _summary(cols: BucketColumns, last_ms: int, kind: str) -> dict[str, Any]:
    return {
        "dates": {
            "firstData": format_utc(from_epoch_ms(int(cols.rows(0, 1).first[0]))),
            "lastData": format_utc(from_epoch_ms(last_ms)),
        },
        "periods": periods_of(cols, last_ms, kind == CGM),
    }


def last_data(summary: Mapping[str, Any]) -> str | None:
    """The newest `dates.lastData` of a stored summary's kinds, or None without data."""
    dates = [((summary.get(kind) or {}).get("dates") or {}).get("lastData") for kind in (CGM, BGM)]
    return max((d for d in dates if d), default=None)
