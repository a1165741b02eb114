"""Faults injected where the code under test really talks to DynamoDB.

A botocore hook (`before-parameter-build.dynamodb.*`, the first event of every API call) on
every DynamoDB client the code uses: PynamoDB's connections (a `TransactWrite` makes its
own), the batch writer's client and any boto3 client, those made before the block and
those made in it; the hooks come off when it is left. A fault names an operation (`"*"`:
any), a table (a PynamoDB model or a physical name; None: any) and what DynamoDB answers
(an error code, or a connection that fails), and fails the `times` matching calls after
the first `after` (`times=None`: always).

The batch writers of `repositories()` are given a sleep that only records, so that a test
that throttles a batch until the writer gives up does not wait for its backoff.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

THROTTLED = "ProvisionedThroughputExceededException"
RATE_EXCEEDED = "ThrottlingException"
INTERNAL = "InternalServerError"
CONNECTION = "connection"  # not a code: the connection fails (EndpointConnectionError)
ANY = "*"


@dataclass
class Fault:
    operation: str
    table: Any  # a PynamoDB model, a table's physical name, or None: any table
    code: str
    times: int | None
    after: int = 0
    where: Any = None  # a test of the request's parameters (None: every request)
    seen: int = 0  # matching calls so far
    failed: int = 0  # of which failed

    @property
    def table_name(self) -> str | None:
        if self.table is None or isinstance(self.table, str):
            return self.table
        return str(self.table.Meta.table_name)

    def matches(self, operation: str, tables: set[str], params: Any = None) -> bool:
        name = self.table_name
        return (
            self.operation in (ANY, operation)
            and (name is None or name in tables)
            and (self.where is None or self.where(params))
        )

    def fires(self) -> bool:
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.failed >= self.times):
            return False
        self.failed += 1
        return True


@dataclass
class Gate:
    """Holds the first matching call after `after` until `release` is set: a test runs
    something else at that exact point of the code under test, then lets it go on."""

    operation: str
    table: Any
    after: int = 0
    seen: int = 0
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def matches(self, operation: str, tables: set[str]) -> bool:
        return Fault(self.operation, self.table, "", None).matches(operation, tables)

    def holds(self) -> bool:
        self.seen += 1
        return self.seen == self.after + 1


def _tables(params: dict[str, Any]) -> set[str]:
    """The tables one DynamoDB request names (one, a batch's or a transaction's)."""
    found = {params["TableName"]} if "TableName" in params else set()
    found.update(params.get("RequestItems", {}))
    for item in params.get("TransactItems", []):
        found.update(part["TableName"] for part in item.values())
    return found


def _error(code: str, operation: str) -> Exception:
    if code == CONNECTION:
        return EndpointConnectionError(endpoint_url="https://dynamodb.invalid")
    error = {"Code": code, "Message": "injected"}
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class Faults:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.gates: list[Gate] = []
        self.calls: Counter[str] = Counter()  # operation -> calls made while active
        self.waits: list[float] = []  # what the batch writers would have slept
        self.active = True
        self._lock = threading.Lock()

    def throttle(
        self, operation: str, table: Any = None, times: int | None = 1, *, after: int = 0,
        code: str = THROTTLED, where: Any = None,
    ) -> Fault:  # fmt: skip
        """DynamoDB refusing `operation` for throughput (or `code`: ThrottlingException);
        `where(params)`, if given, picks the requests (one account's, say)."""
        return self.fail(operation, table, times, after=after, code=code, where=where)

    def fail(
        self, operation: str, table: Any = None, times: int | None = 1, *, after: int = 0,
        code: str = INTERNAL, where: Any = None,
    ) -> Fault:  # fmt: skip
        """`operation` failing with `code` (InternalServerError, or CONNECTION)."""
        fault = Fault(operation, table, code, times, after, where)
        with self._lock:
            self.faults.append(fault)
        return fault

    def pause(self, operation: str, table: Any = None, *, after: int = 0) -> Gate:
        """Hold the call of `operation` after the first `after` until the gate is released."""
        gate = Gate(operation, table, after)
        with self._lock:
            self.gates.append(gate)
        return gate

    def clear(self) -> None:
        """No more faults: what comes next is the retry on a good day."""
        with self._lock:
            self.faults.clear()

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.active:
            return
        tables = _tables(params)
        with self._lock:
            self.calls[model.name] += 1
            firing = [f for f in self.faults if f.matches(model.name, tables, params) and f.fires()]
            holding = [g for g in self.gates if g.matches(model.name, tables) and g.holds()]
        for gate in holding:
            gate.reached.set()
            gate.release.wait(timeout=30)
        if firing:
            raise _error(firing[0].code, model.name)


EVENT = "before-parameter-build.dynamodb"


def _store_clients() -> list[Any]:
    """The DynamoDB clients the store has made so far (PynamoDB's, the batch writer's)."""
    from tidewater.store import batch, models

    found = {id(c): c for c in batch._clients.values()}
    for model in models.MODELS:
        connection = model._connection
        if connection is not None and connection.connection._client is not None:
            found[id(connection.connection._client)] = connection.connection._client
    return list(found.values())


@contextmanager
def injected() -> Iterator[Faults]:
    """Faults on every DynamoDB client the store has made, and on every one made inside
    the block; the hooks are taken off on the way out."""
    from tidewater.store.repos import repositories

    faults = Faults()
    hooked = _store_clients()
    original = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register(EVENT, faults.hook)
            hooked.append(client)
        return client

    for client in hooked:
        client.meta.events.register(EVENT, faults.hook)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "create_client", create_client)
        repos = repositories()
        for repo in (repos.datums, repos.datasets, repos.buckets, repos.clinics, repos.donations):
            patch.setattr(repo.writer, "sleep", faults.waits.append)
        try:
            yield faults
        finally:
            faults.active = False
            for client in hooked:
                client.meta.events.unregister(EVENT, faults.hook)
