"""Which AWS errors are "busy, send the same again" (503), and which are bugs (left as they are)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from pynamodb.exceptions import (
    CancellationReason,
    GetError,
    TransactWriteError,
    UpdateError,
    VerboseClientError,
)

from tidewater.domain.errors import Unavailable
from tidewater.store.overload import busy, unavailable_when_busy


def client_error(code: str, operation: str = "UpdateItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, operation)


def cancelled(*reasons: str | None) -> TransactWriteError:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "m"}},
        "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code=r) if r else None for r in reasons],
    )
    return TransactWriteError("cancelled", cause=cause)


@pytest.mark.parametrize(
    "error",
    [
        client_error("ProvisionedThroughputExceededException"),
        client_error("ThrottlingException"),
        client_error("RequestLimitExceeded"),
        client_error("InternalServerError"),
        client_error("SlowDown", "PutObject"),
        UpdateError("u", cause=client_error("ProvisionedThroughputExceededException")),
        GetError("g", cause=EndpointConnectionError(endpoint_url="https://x.invalid")),
        EndpointConnectionError(endpoint_url="https://x.invalid"),
        ReadTimeoutError(endpoint_url="https://x.invalid"),
        cancelled(None, "ThrottlingError"),
        cancelled("TransactionConflict", None),
    ],
)
def test_busy(error: BaseException) -> None:
    assert busy(error)


@pytest.mark.parametrize(
    "error",
    [
        client_error("ConditionalCheckFailedException"),
        client_error("ValidationException"),
        client_error("AccessDeniedException"),
        client_error("ResourceNotFoundException"),
        UpdateError("u", cause=client_error("ValidationException")),
        cancelled("ConditionalCheckFailed", None),
        NoCredentialsError(),
        ValueError("not AWS"),
    ],
)
def test_not_busy(error: BaseException) -> None:
    assert not busy(error)


@unavailable_when_busy
class Repository:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def read(self) -> Any:
        raise self.error

    def rows(self) -> Iterator[int]:
        yield 1
        raise self.error

    def _private(self) -> Any:
        raise self.error


def test_a_repository_turns_busy_into_unavailable_and_leaves_bugs_alone() -> None:
    throttled = Repository(client_error("ThrottlingException"))
    with pytest.raises(Unavailable) as raised:
        throttled.read()
    assert isinstance(raised.value.__cause__, ClientError)  # kept for the logs
    with pytest.raises(Unavailable):
        list(throttled.rows())
    with pytest.raises(ClientError):  # private helpers are the public methods' to wrap
        throttled._private()
    with pytest.raises(ClientError):
        Repository(client_error("ValidationException")).read()
