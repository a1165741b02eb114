"""The one batch writer every table's writes and deletes go through.

A request is a BatchWriteItem of at most 25. botocore retries each request itself (the
client's `adaptive` mode: backoff, and a client-side rate that follows throttling); what it
cannot do is send again the items DynamoDB answers as `UnprocessedItems`. That loop is here,
with exponential backoff and full jitter; a batch refused whole for throughput once botocore
has given up is the same case, every item unprocessed, and so is a connection that failed or
timed out (store/overload.py says which errors are AWS being busy). After `max_attempts` the
writer raises `Unavailable` (503 with Retry-After: writes are puts or deletes by key, so the
client simply sends the same request again). Nothing is dropped.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, TypeVar
from weakref import WeakKeyDictionary

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.models import Model

from tidewater.domain.errors import Unavailable
from tidewater.observability import logger
from tidewater.store.overload import BUSY, busy

BATCH_WRITE: Final = 25  # DynamoDB's limit per BatchWriteItem
BATCH_GET: Final = 100  # and per BatchGetItem
# Attempts of one request, botocore's own retries included (adaptive mode).
REQUEST_ATTEMPTS: Final = 4

Request = dict[str, Any]
M = TypeVar("M", bound=Model)


def client_config() -> Config:
    """The DynamoDB client's configuration: botocore's adaptive retries."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": REQUEST_ATTEMPTS},
        parameter_validation=False,  # requests are built here, not typed in by hand
    )


# One client per PynamoDB connection: made again when `bind` makes new connections.
_clients: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def dynamodb_client(model: type[Model]) -> Any:
    """A DynamoDB client in `model`'s region, from PynamoDB's botocore session (its service
    model already loaded: no boto3 import, no second session)."""
    connection = model._get_connection().connection
    if connection not in _clients:
        _clients[connection] = connection.session.create_client(
            "dynamodb", connection.region, endpoint_url=connection.host, config=client_config()
        )
    return _clients[connection]


# Set by `QueryDecoding.unparsed` for the Queries its thread makes within it.
_unparsed = threading.local()


def _decoded_query(response_dict: dict[str, Any], customized_response_dict: dict[str, Any],
                   **_: Any) -> None:  # fmt: skip
    """A Query answer read by `json.loads` in one call rather than by botocore's parser
    attribute by attribute (a page of 1,000 datums took it some 10 ms); an error is left to
    botocore. Strings and numbers come out as botocore gives them (`{"S": ...}`,
    `{"N": "..."}`); binary stays the wire's base64 text (`{"B": "..."}`), for the reader.
    Within `QueryDecoding.unparsed`, the answer is handed on as its bytes (`{"Body": ...}`)."""
    if response_dict["status_code"] == 200:
        if getattr(_unparsed, "on", False):
            customized_response_dict["Body"] = response_dict["body"]
        else:
            customized_response_dict.update(json.loads(response_dict["body"]))
        response_dict["body"] = b"{}"


class QueryDecoding:
    """`_decoded_query` on a repository's client, registered once per client (a client is
    made again when PynamoDB's connection is)."""

    _ID: Final = "tidewater-query-decoded"

    def __init__(self) -> None:
        self._client: Any = None

    def on(self, client: Any) -> Any:
        if client is not self._client:
            client.meta.events.register(
                "before-parse.dynamodb.Query", _decoded_query, unique_id=self._ID
            )
            self._client = client
        return client

    @staticmethod
    @contextmanager
    def unparsed() -> Iterator[None]:
        """Within it, the Query answers this thread receives come back as their bytes
        (`{"Body": b"..."}`, errors raised as ever), for a reader that needs one attribute of
        each item and knows the answer's form (`datums.samples_between`)."""
        _unparsed.on = True
        try:
            yield
        finally:
            _unparsed.on = False


class BatchWriter:
    def __init__(
        self,
        model: type[Model],
        client: Any = None,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """`client`, or one made on first use in the region `model`'s table is in."""
        self._model = model
        self._client = client
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.jitter = jitter

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else dynamodb_client(self._model)

    def backoff(self, attempt: int) -> None:
        """Full jitter: a random wait up to base * 2^(attempt-1), capped."""
        self.sleep(self.jitter() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def write(self, table: str, requests: Sequence[Request]) -> int:
        """Send `PutRequest`/`DeleteRequest`s to `table`, 25 a request; their number."""
        for start in range(0, len(requests), BATCH_WRITE):
            self._write_batch(table, list(requests[start : start + BATCH_WRITE]))
        return len(requests)

    def _write_batch(self, table: str, pending: list[Request]) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                answer = self.client.batch_write_item(RequestItems={table: pending})
                pending = answer.get("UnprocessedItems", {}).get(table, [])
            except (ClientError, BotoCoreError) as error:
                if not busy(error):
                    raise
            if not pending:
                return
            if attempt < self.max_attempts:
                self.backoff(attempt)
        logger.warning("batch write gave up", extra={"unprocessed": len(pending)})
        raise Unavailable(BUSY)

    def get(self, table: str, request: dict[str, Any]) -> list[dict[str, Any]]:
        """One BatchGetItem `request` (at most 100 keys) on `table`, UnprocessedKeys and
        throttling retried as writes are; the items found."""
        found: list[dict[str, Any]] = []
        for attempt in range(1, self.max_attempts + 1):
            try:
                answer = self.client.batch_get_item(RequestItems={table: request})
            except (ClientError, BotoCoreError) as error:
                if not busy(error):
                    raise
                answer = {"UnprocessedKeys": {table: request}}
            found.extend(answer.get("Responses", {}).get(table, []))
            unprocessed = answer.get("UnprocessedKeys", {}).get(table)
            if not unprocessed:
                return found
            request = unprocessed
            if attempt < self.max_attempts:
                self.backoff(attempt)
        raise Unavailable(BUSY)

    def get_items(
        self, model: type[M], item_keys: Iterable[tuple[str, str]], attributes: Sequence[str] = ()
    ) -> list[M]:
        """`model`'s items with these (hash, range) keys that exist, 100 a BatchGetItem,
        retried as `get` retries (PynamoDB's own `batch_get` resends without backoff)."""
        wanted = [_key(model(hash_key, range)) for hash_key, range in dict.fromkeys(item_keys)]
        table = str(model.Meta.table_name)
        found: list[M] = []
        for start in range(0, len(wanted), BATCH_GET):
            request: dict[str, Any] = {"Keys": wanted[start : start + BATCH_GET]}
            if attributes:
                names = {f"#a{i}": name for i, name in enumerate(attributes)}
                request["ProjectionExpression"] = ", ".join(names)
                request["ExpressionAttributeNames"] = names
            found.extend(model.from_raw_data(item) for item in self.get(table, request))
        return found

    def save_and_delete(self, saves: Iterable[Model] = (), deletes: Iterable[Model] = ()) -> int:
        """Put `saves` and delete `deletes` (PynamoDB items, of any tables), table by table;
        every item is serialised before the first write. The number of items."""
        by_table: dict[str, list[Request]] = defaultdict(list)
        for item in saves:
            put = {"PutRequest": {"Item": item.serialize()}}
            by_table[str(type(item).Meta.table_name)].append(put)
        for item in deletes:
            delete = {"DeleteRequest": {"Key": _key(item)}}
            by_table[str(type(item).Meta.table_name)].append(delete)
        return sum(self.write(table, requests) for table, requests in by_table.items())


def _key(item: Model) -> dict[str, Any]:
    serialized = item.serialize(null_check=False)
    return {
        attribute.attr_name: serialized[attribute.attr_name]
        for attribute in type(item).get_attributes().values()
        if attribute.is_hash_key or attribute.is_range_key
    }
