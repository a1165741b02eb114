"""A user's hourly summary buckets, one packed item per day and kind (docs/data-model.md).

A day is written as rows (`{"rows": [Bucket.to_row(), ...]}`), which decode without a key
per field or a time to parse; days written before as `{"buckets": [Bucket.to_dict(), ...]}`
are read as they are until they are next written.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from tidewater.domain.summary import HOUR_MS, Bucket, Buckets
from tidewater.domain.summary.buckets import utc_text
from tidewater.store import keys
from tidewater.store.batch import BatchWriter, QueryDecoding
from tidewater.store.models import BucketsModel
from tidewater.store.overload import unavailable_when_busy

DAY_MS = 24 * HOUR_MS
# A day's buckets outlive their use (60 days) by as much again: then TTL removes them.
KEEP_MS = 120 * DAY_MS
META = "meta"
_USER = BucketsModel.user_id.attr_name
_CHUNK = BucketsModel.chunk.attr_name
_PACKED = BucketsModel.packed.attr_name


def _pack(payload: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)


def _unpack(packed: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(zlib.decompress(packed))
    return loaded


def _day(day_ms: int) -> str:
    return utc_text(day_ms)[:10]


@unavailable_when_busy
class BucketsRepository:
    def __init__(self, writer: BatchWriter | None = None) -> None:
        self.writer = writer or BatchWriter(BucketsModel)
        self._queries = QueryDecoding()

    def load(self, user_id: str) -> tuple[dict[str, Buckets], dict[str, StoredDays]]:
        """Both kinds' buckets (one Query, paginated past 1 MB: `_chunks`) and, per kind,
        each stored chunk's fingerprint and the buckets it was read as, so that `save` writes
        only the days that changed (and packs only the days whose buckets are not the ones
        read)."""
        hours: dict[str, dict[int, Bucket]] = defaultdict(dict)
        last: dict[str, int | None] = {}
        stored: dict[str, StoredDays] = defaultdict(StoredDays)
        for chunk, packed in self._chunks(user_id):
            kind, _, day = chunk.partition("#")
            payload = _unpack(packed)
            stored[kind][day] = _fingerprint(packed)
            if day == META:
                last[kind] = payload.get("lastMs")
            else:
                read = _buckets_of(kind, payload)
                stored[kind].read[day] = read
                hours[kind].update((bucket.date, bucket) for bucket in read)
        found = {
            kind: Buckets(kind, hours.get(kind, {}), last.get(kind))
            for kind in set(hours) | set(last)
        }
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
        """Write the days whose buckets changed, delete the days that left; returns the
        number of items written or deleted (one BatchWriteItem per 25)."""
        if buckets.columns_only:  # made afresh from samples: no day is one read
            rows = buckets.rows_by_day()
            days = {_day(day) for day in rows}
            wanted = {_day(day): _pack({"rows": day_rows}) for day, day_rows in rows.items()}
        else:
            by_day: dict[int, list[Bucket]] = defaultdict(list)
            for hour in sorted(buckets.hours):
                by_day[hour - hour % DAY_MS].append(buckets.hours[hour])
            days = {_day(day) for day in by_day}
            read = stored.read if isinstance(stored, StoredDays) else {}
            wanted = {
                _day(day): _pack({"rows": [b.to_row() for b in day_buckets]})
                for day, day_buckets in by_day.items()
                if not _same(read.get(_day(day)), day_buckets)
            }
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
    """A stored day's buckets, from rows or (written before rows) from bucket dicts."""
    if "rows" in payload:
        return [Bucket.from_row(kind, row) for row in payload["rows"]]
    return [Bucket.from_dict(entry) for entry in payload["buckets"]]


class StoredDays(dict[str, str]):
    """A kind's stored days (and `meta`) → fingerprint, and the buckets each day was read as."""

    def __init__(self) -> None:
        super().__init__()
        self.read: dict[str, list[Bucket]] = {}


def _same(read: list[Bucket] | None, buckets: list[Bucket]) -> bool:
    """The very buckets read (never changed in place: Buckets says so): nothing to write."""
    return (
        read is not None
        and len(read) == len(buckets)
        and all(a is b for a, b in zip(read, buckets, strict=True))
    )


def _fingerprint(packed: bytes) -> str:
    return f"{zlib.crc32(packed):08x}{len(packed)}"
