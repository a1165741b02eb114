"""AWS saying "not now": throttling, a 500 of its own, a connection that failed or timed out.

botocore has already retried such a call (with backoff) by the time its error reaches us, and
the batch writer has retried its batches. What is left is for the client: every repository's
public method turns such an error into `Unavailable` (503 with Retry-After), whatever the call
(PynamoDB's or botocore's, a read, a write or a transaction). Every write here is a put,
update or delete by key, so sending the same request again is safe. Any other AWS error is
left as it is: it is a bug, not a busy day.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pynamodb.exceptions import PynamoDBException

from tidewater.domain.errors import Unavailable

# Error codes after which the same request may simply be sent again (DynamoDB's, S3's).
BUSY_CODES: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "SlowDown",
        "InternalError",
        "RequestTimeout",
    }
)
# Why a transaction was cancelled, when trying again is the answer.
BUSY_CANCELLATIONS: Final = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}
)
BUSY: Final = "the store is busy; send the same request again"

C = TypeVar("C", bound=type)


def busy(error: BaseException) -> bool:
    """Is `error` AWS being busy or out of reach (worth the same request later)?"""
    if isinstance(error, PynamoDBException):
        reasons = getattr(error, "cancellation_reasons", None) or []
        if any(r is not None and r.code in BUSY_CANCELLATIONS for r in reasons):
            return True
        return error.cause is not None and busy(error.cause)
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in BUSY_CODES
    return isinstance(error, BotocoreConnectionError | HTTPClientError)


_AWS_ERRORS: Final = (PynamoDBException, ClientError, BotoCoreError)


def _translated(function: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from function(*args, **kwargs)
            except _AWS_ERRORS as error:
                if busy(error):
                    raise Unavailable(BUSY) from error
                raise

        return generator

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except _AWS_ERRORS as error:
            if busy(error):
                raise Unavailable(BUSY) from error
            raise

    return call


def unavailable_when_busy(cls: C) -> C:
    """Class decorator: every public method (and generator) of a repository raises
    `Unavailable` where AWS was busy or unreachable."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _translated(member))
    return cls
