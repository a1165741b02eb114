"""Datums: a user's device events, each stored whole (`body`, JSON) under `type#time#dedupKey`,
cbg and smbg with their glucose sample packed beside it (`sample`) for the summariser.

Writes and deletes go through the one batch writer (store/batch.py: 25 a request, what
DynamoDB leaves unprocessed sent again with full-jitter backoff, 503 when it gives up);
nothing is ever dropped. Reads are Queries on the key or an index, never a Scan.

The low-level client is botocore's (no boto3 import), with adaptive retries: items are few
plain strings, and a batch needs `UnprocessedItems`/`UnprocessedKeys`, which botocore does
not send again.
"""

from __future__ import annotations

import binascii
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tidewater.domain.datums.checks import VALUE_OUT_OF_RANGE, Datum
from tidewater.domain.errors import InvalidData, Problem
from tidewater.domain.paging import Page, Position
from tidewater.domain.samples import KIND_OF_TYPE, PACKED, packed_sample
from tidewater.store import keys
from tidewater.store.batch import BatchWriter, QueryDecoding
from tidewater.store.models import DatumModel
from tidewater.store.overload import unavailable_when_busy

BATCH_GET: Final = 100  # and per BatchGetItem
# A datum's JSON, at most; DynamoDB's item limit is 400 KB, keys and names take the rest.
MAX_BODY_BYTES: Final = 350_000
# A page of GET data stays well under Lambda's 6 MB response limit.
PAGE_BYTES: Final = 4_500_000
QUERY_PAGE_MAX: Final = 1000
DEDUP_KEY: Final = "dedupKey"  # part of the sort key, not of the stored body

_USER: Final = DatumModel.user_id.attr_name
_SK: Final = DatumModel.sk.attr_name
_UPLOAD: Final = DatumModel.upload_id.attr_name
_ID: Final = DatumModel.id.attr_name
_BODY: Final = DatumModel.body.attr_name
_SAMPLE: Final = DatumModel.sample.attr_name
# A packed sample's base64, as the wire carries it (no padding: PACKED is 27 bytes).
_SAMPLE_TEXT: Final = PACKED.size * 4 // 3
_EXPIRES: Final = DatumModel.expires_at.attr_name
_BY_UPLOAD: Final = DatumModel.by_upload.Meta.index_name
_BY_ID: Final = DatumModel.by_id.Meta.index_name


@dataclass(frozen=True)
class DatumKey:
    """Where a datum is stored; its type and time are read from the sort key."""

    user_id: str
    sk: str

    @property
    def type(self) -> str:
        return self.sk.split("#", 2)[0]

    @property
    def time(self) -> str:
        return self.sk.split("#", 2)[1]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


@unavailable_when_busy
class DatumsRepository:
    def __init__(
        self,
        client: Any = None,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.writer = BatchWriter(
            DatumModel,
            client,
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            jitter=jitter,
        )
        self._queries = QueryDecoding()

    @property
    def client(self) -> Any:
        """The writer's client, its Query answers read in one decode (`QueryDecoding`): the
        table's attributes are strings and one number, which the wire format and botocore's
        parse give alike (`{"S": ...}`, `{"N": "..."}`); `samples_between` reads its answers
        as bytes."""
        return self._queries.on(self.writer.client)

    @property
    def max_delay(self) -> float:
        return self.writer.max_delay

    @property
    def table(self) -> str:
        return str(DatumModel.Meta.table_name)

    # ------------------------------------------------------------------ writes
    def put_many(self, items: Sequence[Datum]) -> int:
        """Store prepared items (with their `dedupKey`), replacing what has the same key.
        Every item is encoded before the first write: one that cannot be stored fails the
        request with nothing written."""
        requests = [{"PutRequest": {"Item": self._encode(item)}} for item in items]
        return self.writer.write(self.table, requests)

    def _encode(self, item: Datum) -> dict[str, Any]:
        body = {k: v for k, v in item.items() if k != DEDUP_KEY}
        text = json.dumps(body, separators=(",", ":"), allow_nan=False)
        if len(text) > MAX_BODY_BYTES:  # ASCII (ensure_ascii): characters are bytes
            detail = f"a `{item['type']}` datum is larger than {MAX_BODY_BYTES // 1000} KB"
            raise InvalidData([Problem("", VALUE_OUT_OF_RANGE, "value out of range", detail)])
        encoded: dict[str, dict[str, Any]] = {
            _USER: _s(item["userId"]),
            _SK: _s(keys.datum_sk(item["type"], item["time"], item[DEDUP_KEY])),
            _UPLOAD: _s(item["uploadId"]),
            _ID: _s(item["id"]),
            _BODY: _s(text),
        }
        if item["type"] in KIND_OF_TYPE:
            packed = packed_sample(body)
            if packed is not None:
                encoded[_SAMPLE] = {"B": packed}
        if type(item.get(_EXPIRES)) is int:  # kept for a while only (Nightscout's device status)
            encoded[_EXPIRES] = {"N": str(item[_EXPIRES])}
        return encoded

    def delete_keys(self, datum_keys: Iterable[DatumKey]) -> int:
        requests = [
            {"DeleteRequest": {"Key": {_USER: _s(k.user_id), _SK: _s(k.sk)}}} for k in datum_keys
        ]
        return self.writer.write(self.table, requests)

    def delete_items(self, items: Sequence[Datum]) -> int:
        """Delete prepared items by their keys (an upload taking back what it wrote)."""
        return self.delete_keys(
            DatumKey(item["userId"], keys.datum_sk(item["type"], item["time"], item[DEDUP_KEY]))
            for item in items
        )

    def upload_keys(self, user_id: str, upload_id: str) -> list[DatumKey]:
        """The keys of the user's datums of one upload, found on the `byUpload` index."""
        found: list[DatumKey] = []
        pages = self._pages(
            IndexName=_BY_UPLOAD,
            KeyConditionExpression="#up = :up",
            ExpressionAttributeNames={"#up": _UPLOAD},
            ExpressionAttributeValues={":up": _s(upload_id)},
        )
        for page in pages:
            found.extend(
                DatumKey(item[_USER]["S"], item[_SK]["S"])
                for item in page.get("Items", [])
                if item[_USER]["S"] == user_id
            )
        return found

    def delete_user(
        self, user_id: str, more: Callable[[], bool] = lambda: True
    ) -> tuple[int, bool]:
        """Delete the user's datums, a Query page (keys only) at a time, while `more()` says
        there is time: (how many were deleted, whether none is left)."""
        deleted = 0
        pages = self._pages(
            KeyConditionExpression="#u = :u",
            ProjectionExpression="#u, #sk",
            ExpressionAttributeNames={"#u": _USER, "#sk": _SK},
            ExpressionAttributeValues={":u": _s(user_id)},
            ConsistentRead=True,
        )
        for page in pages:
            deleted += self.delete_keys(
                DatumKey(user_id, item[_SK]["S"]) for item in page.get("Items", [])
            )
            if page.get("LastEvaluatedKey") and not more():
                return deleted, False
        return deleted, True

    # ------------------------------------------------------------------ reads
    def find(self, user_id: str, datum_id: str) -> tuple[DatumKey, Datum] | None:
        """The user's datum with this id (the `byId` index, then the item), or None."""
        pages = self._pages(
            IndexName=_BY_ID,
            KeyConditionExpression="#id = :id",
            ExpressionAttributeNames={"#id": _ID},
            ExpressionAttributeValues={":id": _s(datum_id)},
        )
        for page in pages:
            for item in page.get("Items", []):
                if item[_USER]["S"] != user_id:
                    continue
                key = DatumKey(user_id, item[_SK]["S"])
                answer = self.client.get_item(
                    TableName=self.table,
                    Key={_USER: _s(user_id), _SK: _s(key.sk)},
                    ConsistentRead=True,
                )
                if "Item" in answer:
                    return key, json.loads(answer["Item"][_BODY]["S"])
        return None

    def stored_ids(self, items: Sequence[Datum]) -> set[str]:
        """The ids of those prepared items whose key already holds a datum (BatchGetItem of
        100, unprocessed keys retried like unprocessed writes)."""
        by_key: dict[tuple[str, str], str] = {
            (item["userId"], keys.datum_sk(item["type"], item["time"], item[DEDUP_KEY])): item["id"]
            for item in items
        }
        wanted = sorted(by_key)
        found: set[str] = set()
        table = self.table
        for start in range(0, len(wanted), BATCH_GET):
            request: dict[str, Any] = {
                "Keys": [
                    {_USER: _s(u), _SK: _s(sk)} for u, sk in wanted[start : start + BATCH_GET]
                ],
                "ProjectionExpression": "#u, #sk",
                "ExpressionAttributeNames": {"#u": _USER, "#sk": _SK},
                "ConsistentRead": True,
            }
            for item in self.writer.get(table, request):
                found.add(by_key[(item[_USER]["S"], item[_SK]["S"])])
        return found

    def bodies(self, user_id: str, sort_keys: Sequence[str]) -> dict[str, Datum]:
        """The stored items of the user under those sort keys, by key (BatchGetItem of 100,
        consistent); a key with nothing stored is absent."""
        wanted = sorted(set(sort_keys))
        found: dict[str, Datum] = {}
        for start in range(0, len(wanted), BATCH_GET):
            request: dict[str, Any] = {
                "Keys": [
                    {_USER: _s(user_id), _SK: _s(sk)} for sk in wanted[start : start + BATCH_GET]
                ],
                "ConsistentRead": True,
            }
            for item in self.writer.get(self.table, request):
                found[item[_SK]["S"]] = json.loads(item[_BODY]["S"])
        return found

    def page(
        self,
        user_id: str,
        types: Sequence[str],
        start: str,
        end: str,
        *,
        limit: int,
        after: Position | None = None,
        max_bytes: int = PAGE_BYTES,
    ) -> Page:
        """Up to `limit` of the user's datums of `types` with start <= time <= end, type by
        type, each in time order; one Query per type (and per 1 MB), resumed `after` the
        position a page before ended at. A page is always read in the partition of the user
        the caller was authorised for."""
        first_type, start_sk = after if after else (types[0], "")
        items: list[Datum] = []
        used = 0
        for kind in types[types.index(first_type) :]:
            last_sk = start_sk if kind == first_type else ""
            lo, hi = keys.datum_sk_range(kind, start, end)
            size = min(limit - len(items) + 1, QUERY_PAGE_MAX)
            for raw in self._range(user_id, lo, hi, forward=True, after=last_sk, page_size=size):
                text = raw[_BODY]["S"]
                if len(items) == limit or (items and used + len(text) > max_bytes):
                    return Page(items, (kind, last_sk))
                items.append(json.loads(text))
                used += len(text)
                last_sk = raw[_SK]["S"]
        return Page(items, None)

    def latest(
        self,
        user_id: str,
        kind: str,
        start: str,
        end: str,
        limit: int,
        keep: Callable[[Datum], bool] | None = None,
    ) -> list[Datum]:
        """The user's newest `limit` datums of one type (that `keep` accepts) in the window,
        newest first."""
        lo, hi = keys.datum_sk_range(kind, start, end)
        found: list[Datum] = []
        if limit <= 0:
            return found
        size = min(limit, QUERY_PAGE_MAX)
        for raw in self._range(user_id, lo, hi, forward=False, after="", page_size=size):
            datum = json.loads(raw[_BODY]["S"])
            if keep is None or keep(datum):
                found.append(datum)
                if len(found) == limit:
                    break
        return found

    def between(self, user_id: str, kind: str, start: str, end: str) -> Iterator[Datum]:
        """All the user's datums of one type with start <= time <= end, in time order,
        page by page (the summariser reads the hours that changed this way)."""
        lo, hi = keys.datum_sk_range(kind, start, end)
        for page in self._range_pages(
            user_id, lo, hi, forward=True, after="", page_size=QUERY_PAGE_MAX
        ):
            yield from _bodies(page)

    def samples_between(self, user_id: str, kind: str, start: str, end: str) -> bytes | None:
        """The packed samples (`domain.samples.PACKED`) of the user's datums of one type with
        start <= time <= end, in time order: a Query that reads `sample` alone, its answers
        read as bytes (`sample_page`), every page's values decoded at once. None as soon as
        one lacks it (stored before samples were packed, or with nothing to pack): the
        caller reads the bodies (`between`)."""
        lo, hi = keys.datum_sk_range(kind, start, end)
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#u = :u AND #sk BETWEEN :lo AND :hi",
            "ProjectionExpression": "#s",
            "ExpressionAttributeNames": {"#u": _USER, "#sk": _SK, "#s": _SAMPLE},
            "ExpressionAttributeValues": {":u": _s(user_id), ":lo": _s(lo), ":hi": _s(hi)},
            "Limit": QUERY_PAGE_MAX,
        }
        found: list[bytes] = []
        client = self.client
        with self._queries.unparsed():
            while True:
                page = sample_page(client.query(**query)["Body"])
                if page is None:
                    return None
                found.append(page.text)
                if not page.last:
                    return _decoded(found)
                query["ExclusiveStartKey"] = page.last

    def every(self, user_id: str, page_size: int = QUERY_PAGE_MAX) -> Iterator[Datum]:
        """Every datum of the user, type by type (the sort key's order), each in time order:
        one Query on the partition, page by page (the personal export reads it this way)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "#u = :u",
            "ProjectionExpression": "#b",
            "ExpressionAttributeNames": {"#u": _USER, "#b": _BODY},
            "ExpressionAttributeValues": {":u": _s(user_id)},
            "Limit": page_size,
        }
        for page in self._pages(**query):
            yield from _bodies(page.get("Items", []))

    def _range(
        self, user_id: str, lo: str, hi: str, *, forward: bool, after: str, page_size: int
    ) -> Iterator[dict[str, Any]]:
        for items in self._range_pages(
            user_id, lo, hi, forward=forward, after=after, page_size=page_size
        ):
            yield from items

    def _range_pages(
        self, user_id: str, lo: str, hi: str, *, forward: bool, after: str, page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        query: dict[str, Any] = {
            "KeyConditionExpression": "#u = :u AND #sk BETWEEN :lo AND :hi",
            "ProjectionExpression": "#sk, #b",
            "ExpressionAttributeNames": {"#u": _USER, "#sk": _SK, "#b": _BODY},
            "ExpressionAttributeValues": {":u": _s(user_id), ":lo": _s(lo), ":hi": _s(hi)},
            "ScanIndexForward": forward,
            "Limit": page_size,
        }
        if after:
            query["ExclusiveStartKey"] = {_USER: _s(user_id), _SK: _s(after)}
        for page in self._pages(**query):
            yield page.get("Items", [])

    def _pages(self, **query: Any) -> Iterator[dict[str, Any]]:
        while True:
            answer: dict[str, Any] = self.client.query(TableName=self.table, **query)
            yield answer
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            query["ExclusiveStartKey"] = last


def _bodies(items: list[dict[str, Any]]) -> list[Datum]:
    """The datums of a page's items, their bodies decoded in one `json.loads` (a JSON array
    of them): a third less CPU than a call per body. Every body is a JSON object this
    store wrote (`_encode`), so the joined text is exactly the array of them."""
    decoded: list[Datum] = json.loads("[" + ",".join([item[_BODY]["S"] for item in items]) + "]")
    return decoded


def _decoded(texts: list[bytes]) -> bytes | None:
    """The packed samples of pages' base64 texts (36 characters a sample, no padding); None
    if one is not base64."""
    try:
        return binascii.a2b_base64(b"".join(texts), strict_mode=True)
    except binascii.Error:
        return None


@dataclass(frozen=True, slots=True)
class SamplePage:
    text: bytes  # the items' samples, the wire's base64 of their 27 bytes each, joined
    last: dict[str, Any] | None  # LastEvaluatedKey


# An answer's `Items` array. The Query reads `sample` alone, so each item is
# `{"sample": {"B": "<36 characters of base64>"}}` (or `{}`, without one), which the service
# writes compact and moto with spaces: no `]` inside the array. Per form: what comes before
# the first value, between two values (it starts with what ends the last), after the last.
_ITEMS: Final = re.compile(rb'"Items"\s*:\s*\[')
_ITEM_FORMS: Final = [
    (b'{"sample":{"B":"', b'"}},{"sample":{"B":"', b'"}}'),
    (b'{"sample": {"B": "', b'"}}, {"sample": {"B": "', b'"}}'),
]


_FEW_ITEMS: Final = 64
# An answer's text outside its Items array, on a page after which none is left.
_FINAL_PAGE: Final = re.compile(
    rb'\{"Count": ?([0-9]{1,4}), ?"Items": ?\[\], ?"ScannedCount": ?[0-9]{1,4}\}'
)


def sample_page(answer: bytes) -> SamplePage | None:
    """The samples of a Query answer (its bytes) that projects `sample` alone, the items'
    values taken out side by side (`_values`), not decoded as JSON (an object each: some
    6 ms for 17,000); the rest of the answer is decoded as JSON. None unless every item has
    one, in one of the forms above (the caller then reads the bodies)."""
    items = _ITEMS.search(answer)
    z = -1 if items is None else answer.find(b"]", items.end())
    if items is None or z < 0:
        return None
    a = items.end()
    outside = answer[:a] + answer[z:]
    final = _FINAL_PAGE.fullmatch(outside)  # (the usual last page, read without json)
    try:
        rest: dict[str, Any] = (
            {"Count": int(final[1]), "Items": []} if final else json.loads(outside)
        )
    except ValueError:
        return None
    count = rest.get("Count")
    if rest.get("Items") != [] or type(count) is not int:
        return None
    array = answer[a:z].strip()
    if not count:
        return SamplePage(b"", rest.get("LastEvaluatedKey")) if not array else None
    for first, between, last in _ITEM_FORMS:
        stride = _SAMPLE_TEXT + len(between)
        if (
            len(array) == len(first) + count * stride - len(between) + len(last)
            and array.startswith(first)
            and array.endswith(last)
        ):
            return _values(array[len(first) :] + between[len(last) :], between, count, rest)
    return None


def _values(rows: bytes, between: bytes, count: int, rest: dict[str, Any]) -> SamplePage | None:
    """The values of `count` items laid side by side (each its 36 characters and then the
    bytes to the next value), when every item is so: rows of a fixed width, the values
    their first 36 bytes (numpy, which only the summariser, the caller, loads; a few rows,
    an update's hour, are sliced: fewer steps than numpy's)."""
    if count <= _FEW_ITEMS:
        width = _SAMPLE_TEXT + len(between)
        starts = range(0, count * width, width)
        if any(rows[k + _SAMPLE_TEXT : k + width] != between for k in starts):
            return None
        values = b"".join([rows[k : k + _SAMPLE_TEXT] for k in starts])
        return SamplePage(values, rest.get("LastEvaluatedKey"))
    import numpy as np

    grid = np.frombuffer(rows, np.uint8).reshape(count, -1)
    if not bool((grid[:, _SAMPLE_TEXT:] == np.frombuffer(between, np.uint8)).all()):
        return None
    return SamplePage(grid[:, :_SAMPLE_TEXT].tobytes(), rest.get("LastEvaluatedKey"))
