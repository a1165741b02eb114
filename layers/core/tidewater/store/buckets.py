"""A user's hourly summary buckets, one packed item per day and kind (docs/data-model.md).

A day is written as its columns (`_pack_day`: the engine's arrays, field by field), which
decode into the engine's columns without a number parsed or a Bucket made; days written
before as rows (`{"rows": [Bucket.to_row(), ...]}`) or bucket dicts (`{"buckets": [...]}`)
are read as they are until they are next written. A kind's `meta` holds its newest
sample's time, the window's exact segment sums and which hours have a bucket: read with the
very days it was written with, the days stay packed until their rows are read.
"""

from __future__ import annotations

import base64
import functools
import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tidewater.domain.summary import CGM, HOUR_MS, Bucket, Buckets
from tidewater.domain.summary.buckets import utc_text, window_end
from tidewater.store import keys
from tidewater.store.batch import BatchWriter, QueryDecoding
from tidewater.store.models import BucketsModel
from tidewater.store.overload import unavailable_when_busy

if TYPE_CHECKING:
    from tidewater.domain.summary.segments import Sums
    from tidewater.domain.summary.vector import BucketColumns

DAY_MS = 24 * HOUR_MS
# A day's buckets outlive their use (60 days) by as much again: then TTL removes them.
KEEP_MS = 120 * DAY_MS
META = "meta"
_USER = BucketsModel.user_id.attr_name
_CHUNK = BucketsModel.chunk.attr_name
_PACKED = BucketsModel.packed.attr_name


def _pack(payload: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)


def _day(day_ms: int) -> str:
    return utc_text(day_ms)[:10]


@unavailable_when_busy
class BucketsRepository:
    def __init__(self, writer: BatchWriter | None = None) -> None:
        self.writer = writer or BatchWriter(BucketsModel)
        self._queries = QueryDecoding()

    def load(self, user_id: str) -> tuple[dict[str, Buckets], dict[str, StoredDays]]:
        """Both kinds' buckets (one Query, paginated past 1 MB: `_chunks`) and, per kind,
        each stored chunk's fingerprint, so that `save` writes only the days that changed.
        Days stored as columns are read as columns (no Bucket object is made until the
        hours are read); days stored before, as rows or bucket dicts, through buckets. The
        window's exact segment sums are handed on when the kind's `meta` holds them for the
        very days read."""
        chunks: dict[str, dict[str, bytes]] = defaultdict(dict)
        stored: dict[str, StoredDays] = defaultdict(StoredDays)
        for chunk, packed in self._chunks(user_id):
            kind, _, day = chunk.partition("#")
            stored[kind][day] = _fingerprint(packed)
            chunks[kind][day] = packed
        found: dict[str, Buckets] = {}
        for kind, kept in chunks.items():
            found[kind] = stored_kind(kind, kept, stored[kind])
            stored[kind].loaded = found[kind]
        return found, stored

    def _chunks(self, user_id: str) -> Iterator[tuple[str, bytes]]:
        """The user's items as (chunk, packed bytes): one Query, page by page, each answer
        read in one decode (the packed bytes are the wire's base64, decoded here), not
        attribute by attribute into a model object per item."""
        client = self._queries.on(self.writer.client)
        query: dict[str, Any] = {
            "TableName": BucketsModel.Meta.table_name,
            "KeyConditionExpression": "#u = :u",
            "ProjectionExpression": "#c, #p",
            "ExpressionAttributeNames": {"#u": _USER, "#c": _CHUNK, "#p": _PACKED},
            "ExpressionAttributeValues": {":u": {"S": user_id}},
        }
        while True:
            answer = client.query(**query)
            for item in answer.get("Items", ()):
                yield item[_CHUNK]["S"], base64.b64decode(item[_PACKED]["B"])
            if "LastEvaluatedKey" not in answer:
                return
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def save(self, user_id: str, buckets: Buckets, stored: Mapping[str, str]) -> int:
        """Write the days whose buckets changed (as columns), delete the days that left;
        returns the number of items written or deleted (one BatchWriteItem per 25). Of an
        update of what was read, only the days it changed are packed (`Buckets.derived`)."""
        from tidewater.domain.summary import vector

        cols = vector.columns_of(buckets)
        spans = vector.day_spans(cols)
        days = {_day(day) for day in spans}
        loaded = stored.loaded if isinstance(stored, StoredDays) else None
        derived = buckets.derived
        if buckets is loaded:
            changed: set[int] = set()
        elif derived is not None and derived[0] is loaded and loaded is not None:
            # Updated from what was read: the days the update changed (or that it filled).
            changed = {day for day in spans if _touches(day, derived[1])}
        else:  # made afresh (or by hand): every day is packed, the unchanged not written
            changed = set(spans)
        wanted = packed_days(cols, spans, sorted(changed))
        if buckets.last_ms is not None:
            # The days as they will be stored: those written, and the others as read.
            kept = {d: _fingerprint(wanted[d]) if d in wanted else stored.get(d) for d in days}
            wanted[META] = packed_meta(cols, buckets.kind, buckets.last_ms, kept)
        expires = ((buckets.last_ms or 0) + KEEP_MS) // 1000
        saves = [
            BucketsModel(
                user_id, keys.bucket_chunk(buckets.kind, day), packed=packed, expires_at=expires
            )
            for day, packed in wanted.items()
            if stored.get(day) != _fingerprint(packed)
        ]
        deletes = [
            BucketsModel(user_id, keys.bucket_chunk(buckets.kind, day))
            for day in set(stored) - days - set(wanted)
        ]
        return self.writer.save_and_delete(saves, deletes)

    def delete_user(self, user_id: str) -> int:
        """Delete every bucket item of the user (one Query, batched deletes)."""
        found = [item.chunk for item in BucketsModel.query(user_id, attributes_to_get=["chunk"])]
        self.writer.save_and_delete(deletes=[BucketsModel(user_id, chunk) for chunk in found])
        return len(found)


def _buckets_of(kind: str, payload: dict[str, Any]) -> list[Bucket]:
    """A day stored before columns: its buckets, from rows or (before rows) bucket dicts."""
    if "rows" in payload:
        return [Bucket.from_row(kind, row) for row in payload["rows"]]
    return [Bucket.from_dict(entry) for entry in payload["buckets"]]


def packed_days(
    cols: BucketColumns, spans: Mapping[int, tuple[int, int]], starts: list[int]
) -> dict[str, bytes]:
    """The days of `starts` (their rows in `spans`, `vector.day_spans`) as they are stored:
    the day (`2026-11-21`) → its columns, packed."""
    return {_day(day): _pack_day(cols.rows(*spans[day])) for day in starts}


def packed_meta(
    cols: BucketColumns, kind: str, last_ms: int, days: Mapping[str, str | None]
) -> bytes:
    """A kind's `meta` as stored: its newest sample's time and, when every day stored is
    known (`days`: day → fingerprint), the window's exact segment sums and which hours have
    a bucket, with the fingerprint of those days: a read hands them on only with the very
    buckets they are of, and then reads a day's buckets only when they are needed."""
    from tidewater.domain.summary import segments, vector

    meta: dict[str, Any] = {"lastMs": last_ms}
    if all(days.values()):
        end = window_end(last_ms)
        meta["sums"] = segments.sums_for(cols, kind == CGM, end).to_json()
        hours = vector.hours_mask(cols.hour, end)
        if hours is not None:
            meta["hours"] = base64.b64encode(hours).decode()
        meta["of"] = _days_fingerprint(days)
    return _pack(meta)


def packed_kind(buckets: Buckets) -> dict[str, bytes]:
    """Every chunk of a kind as `save` writes buckets made afresh: its days and `meta`."""
    from tidewater.domain.summary import vector

    cols = vector.columns_of(buckets)
    spans = vector.day_spans(cols)
    chunks = packed_days(cols, spans, list(spans))
    if buckets.last_ms is not None:
        fingerprints = {day: _fingerprint(packed) for day, packed in chunks.items()}
        chunks[META] = packed_meta(cols, buckets.kind, buckets.last_ms, fingerprints)
    return chunks


def stored_kind(
    kind: str, chunks: Mapping[str, bytes], fingerprints: Mapping[str, str] | None = None
) -> Buckets:
    """A kind's buckets from its stored chunks (its days, as `packed_days` makes them or as
    written before, and its `meta`; `fingerprints` of them if known), in arrays with room
    for the hours an update appends (`vector.with_room`). The window's segment sums are
    handed on when `meta` holds them for the very days read (else a day was written without
    its `meta`, or by a version that kept none, and the periods sum the buckets again)."""
    from tidewater.domain.summary import vector

    meta = json.loads(zlib.decompress(chunks[META])) if META in chunks else {}
    last_ms = meta.get("lastMs")
    days = sorted(day for day in chunks if day != META)
    if not days:
        return Buckets(kind, {}, last_ms)
    sums = _meta_sums(meta, days, chunks, fingerprints)
    cols = None
    if sums is not None and "hours" in meta:
        cols = _unread(kind, meta["hours"], sums, days, chunks)
    if cols is None:
        cols = vector.with_room([_read_day(kind, chunks[day]) for day in days])
    cols.sums = sums
    return Buckets(kind, None, last_ms, cols)


def _meta_sums(
    meta: Mapping[str, Any],
    days: list[str],
    chunks: Mapping[str, bytes],
    fingerprints: Mapping[str, str] | None,
) -> Sums | None:
    """The segment sums of `meta` if they are of these very days and of its window."""
    from tidewater.domain.summary import segments

    last_ms = meta.get("lastMs")
    if "sums" not in meta or not isinstance(last_ms, int):
        return None
    if fingerprints is None:
        fingerprints = {day: _fingerprint(chunks[day]) for day in days}
    if meta.get("of") != _days_fingerprint({day: fingerprints[day] for day in days}):
        return None
    try:
        sums = segments.Sums.from_json(meta["sums"])
    except (KeyError, TypeError, ValueError):
        return None
    return sums if sums.end == window_end(last_ms) else None


def _unread(
    kind: str, hours_text: str, sums: Sums, days: list[str], chunks: Mapping[str, bytes]
) -> BucketColumns | None:
    """The days' columns with their hours from `meta` and every day unread until its rows
    are read (`vector.Unread`); None if the hours are not those of these days."""
    from tidewater.domain.summary import vector

    try:
        hours = vector.mask_hours(base64.b64decode(hours_text, validate=True), sums.end)
    except (TypeError, ValueError):  # (binascii.Error is a ValueError)
        return None
    if hours is None or len(hours) != sum(sums.buckets):
        return None
    spans = vector.day_spans_of(hours)
    if [_day(day) for day in spans] != days:
        return None
    reads: list[tuple[int, int, Callable[[], BucketColumns]]] = [
        (lo, hi, functools.partial(_read_day, kind, chunks[_day(day)]))
        for day, (lo, hi) in spans.items()
    ]
    return vector.unread_columns(hours, reads)


def _read_day(kind: str, packed: bytes) -> BucketColumns:
    return _day_read(kind, zlib.decompress(packed))


def _day_read(kind: str, raw: bytes) -> BucketColumns:
    """A stored day's columns."""
    if raw.startswith(_COLUMNS):
        return _day_columns(raw)
    from tidewater.domain.summary import vector

    return vector.from_buckets(_buckets_of(kind, json.loads(raw)))


# A day stored as columns: this mark (JSON days begin with "{"), then its hours (int64),
# the ints' columns (21 x int64) and the floats' columns (12 x float64), little-endian,
# field by field (the same field's values side by side compress best). Days marked "C2"
# (written by an earlier version) end with 22 numbers of day sums, which are left unread.
_COLUMNS = b"\x00C"
_COLUMNS_ONLY = b"\x00C1"
_WITH_DAY_SUMS = b"\x00C2"
_DAY_SUMS_BYTES = 8 * 22
_MARK = len(_COLUMNS_ONLY)
_WIDTH = 8 * (1 + 21 + 12)  # bytes a bucket


def _pack_day(cols: BucketColumns) -> bytes:
    parts = (cols.hour, cols.ints.T, cols.floats.T)
    body = b"".join(part.astype(part.dtype.newbyteorder("<")).tobytes() for part in parts)
    return zlib.compress(_COLUMNS_ONLY + body, 6)


def _day_columns(raw: bytes) -> BucketColumns:
    """A day's columns."""
    from tidewater.domain.summary import vector

    body = len(raw)
    if raw.startswith(_WITH_DAY_SUMS):
        body -= _DAY_SUMS_BYTES
    elif not raw.startswith(_COLUMNS_ONLY):
        raise ValueError(f"a day stored as {raw[:_MARK]!r}, a form this version cannot read")
    n = (body - _MARK) // _WIDTH
    ints = vector.np.frombuffer(raw, "<i8", 22 * n, _MARK)
    floats = vector.np.frombuffer(raw, "<f8", 12 * n, _MARK + 8 * 22 * n)
    # Views of the bytes, the fields as columns: joining the days (`stored_buckets`) copies
    # them once, into rows.
    return vector.BucketColumns(ints[:n], ints[n:].reshape(21, n).T, floats.reshape(12, n).T)


class StoredDays(dict[str, str]):
    """A kind's stored days (and `meta`) → fingerprint, and the buckets read from them."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: Buckets | None = None


def _touches(day: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a < day + DAY_MS and day < b for a, b in ranges)


def _days_fingerprint(days: Mapping[str, str | None]) -> str:
    """One fingerprint of a kind's stored days (day → its fingerprint; `meta` left out)."""
    text = ";".join(f"{day}={fp}" for day, fp in sorted(days.items()) if day != META)
    return f"{zlib.crc32(text.encode()):08x}"


def _fingerprint(packed: bytes) -> str:
    return f"{zlib.crc32(packed):08x}{len(packed)}"
