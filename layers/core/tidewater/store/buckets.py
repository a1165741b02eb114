"""A user's hourly summary buckets, one packed item per day and kind (docs/data-model.md).

A day is written as its columns (`_pack_day`: the engine's arrays, field by field), which
decode into the engine's columns without a number parsed or a Bucket made; days written
before as rows (`{"rows": [Bucket.to_row(), ...]}`) or bucket dicts (`{"buckets": [...]}`)
are read as they are until they are next written.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tidewater.domain.summary import CGM, HOUR_MS, Bucket, Buckets
from tidewater.domain.summary.buckets import utc_text
from tidewater.store import keys
from tidewater.store.batch import BatchWriter, QueryDecoding
from tidewater.store.models import BucketsModel
from tidewater.store.overload import unavailable_when_busy

if TYPE_CHECKING:
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
        hours are read); days stored before, as rows or bucket dicts, through buckets."""
        days: dict[str, dict[str, bytes]] = defaultdict(dict)
        last: dict[str, int | None] = {}
        stored: dict[str, StoredDays] = defaultdict(StoredDays)
        for chunk, packed in self._chunks(user_id):
            kind, _, day = chunk.partition("#")
            stored[kind][day] = _fingerprint(packed)
            if day == META:
                last[kind] = json.loads(zlib.decompress(packed)).get("lastMs")
            else:
                days[kind][day] = packed
        found: dict[str, Buckets] = {}
        for kind in set(days) | set(last):
            found[kind] = stored_buckets(kind, days.get(kind, {}), last.get(kind))
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
        wanted = packed_days(cols, buckets.kind, spans, sorted(changed))
        if buckets.last_ms is not None:
            wanted[META] = _pack({"lastMs": buckets.last_ms})
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
    cols: BucketColumns, kind: str, spans: Mapping[int, tuple[int, int]], starts: list[int]
) -> dict[str, bytes]:
    """The days of `starts` (their rows in `spans`, `vector.day_spans`) as they are stored:
    the day (`2026-11-21`) → its columns and sums, packed."""
    from tidewater.domain.summary import vector

    records = vector.day_records(cols, starts, kind == CGM)
    return {
        _day(day): _pack_day(cols.rows(*spans[day]), record)
        for day, record in zip(starts, records, strict=True)
    }


def stored_buckets(kind: str, days: Mapping[str, bytes], last_ms: int | None) -> Buckets:
    """A kind's buckets from its stored days (the day → packed, as `packed_days` makes them
    or as written before), in arrays with room for the hours an update appends
    (`vector.with_room`). The day sums of the window's whole days are handed on as stored
    when every one of them has its own (days stored before sums were have none: the periods
    then pool them again)."""
    from tidewater.domain.summary import vector

    if not days:
        return Buckets(kind, {}, last_ms)
    read = [(day, *_day_read(kind, zlib.decompress(days[day]))) for day in sorted(days)]
    cols = vector.with_room([piece for _, piece, _ in read])
    if last_ms is not None:
        first, stop = vector.whole_days(last_ms - last_ms % HOUR_MS + HOUR_MS)
        starts = [int(piece.hour[0]) // DAY_MS * DAY_MS for _, piece, _ in read]
        inside = [k for k, start in enumerate(starts) if first <= start < stop]
        records = [read[k][2] for k in inside]
        if all(record is not None for record in records):
            joined_records = b"".join(record for record in records if record is not None)
            cols.days = vector.stored_day_sums([starts[k] for k in inside], joined_records)
    return Buckets(kind, None, last_ms, cols)


def _day_read(kind: str, raw: bytes) -> tuple[BucketColumns, bytes | None]:
    """A stored day's columns and, when stored with them, its sums."""
    if raw.startswith(_COLUMNS):
        return _day_columns(raw)
    from tidewater.domain.summary import vector

    return vector.from_buckets(_buckets_of(kind, json.loads(raw))), None


# A day stored as columns: this mark (JSON days begin with "{"), then its hours (int64),
# the ints' columns (21 x int64) and the floats' columns (12 x float64), little-endian,
# field by field (the same field's values side by side compress best); then (from mark
# "C2") the day's sums (`vector.DAY_RECORD`, 22 numbers).
_COLUMNS = b"\x00C"
_COLUMNS_ONLY = b"\x00C1"
_WITH_SUMS = b"\x00C2"
_MARK = len(_WITH_SUMS)
_WIDTH = 8 * (1 + 21 + 12)  # bytes a bucket


def _pack_day(cols: BucketColumns, record: bytes) -> bytes:
    parts = (cols.hour, cols.ints.T, cols.floats.T)
    body = b"".join(part.astype(part.dtype.newbyteorder("<")).tobytes() for part in parts)
    return zlib.compress(_WITH_SUMS + body + record, 6)


def _day_columns(raw: bytes) -> tuple[BucketColumns, bytes | None]:
    """A day's columns, and its sums when stored with them."""
    from tidewater.domain.summary import vector

    body = len(raw)
    record = None
    if raw.startswith(_WITH_SUMS):
        body -= vector.DAY_RECORD.itemsize
        record = raw[body:]
    elif not raw.startswith(_COLUMNS_ONLY):
        raise ValueError(f"a day stored as {raw[:_MARK]!r}, a form this version cannot read")
    n = (body - _MARK) // _WIDTH
    ints = vector.np.frombuffer(raw, "<i8", 22 * n, _MARK)
    floats = vector.np.frombuffer(raw, "<f8", 12 * n, _MARK + 8 * 22 * n)
    # Views of the bytes, the fields as columns: joining the days (`stored_buckets`) copies
    # them once, into rows.
    cols = vector.BucketColumns(ints[:n], ints[n:].reshape(21, n).T, floats.reshape(12, n).T)
    return cols, record


class StoredDays(dict[str, str]):
    """A kind's stored days (and `meta`) → fingerprint, and the buckets read from them."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: Buckets | None = None


def _touches(day: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a < day + DAY_MS and day < b for a, b in ranges)


def _fingerprint(packed: bytes) -> str:
    return f"{zlib.crc32(packed):08x}{len(packed)}"
