"""Whether a DynamoDB write was refused by its condition, the one refusal the stores turn
into an answer (NotFound, Conflict, "someone else has it") rather than an error."""

from __future__ import annotations

from typing import Final

from pynamodb.exceptions import PynamoDBException, TransactWriteError

_SINGLE: Final = "ConditionalCheckFailedException"  # PutItem, UpdateItem, DeleteItem
_IN_TRANSACTION: Final = "ConditionalCheckFailed"  # a cancellation reason of one item


def condition_failed(error: PynamoDBException, item: int | None = None) -> bool:
    """A single-item write's condition failed; for a transaction, the condition of any of
    its items (or of the `item`-th, in the order written)."""
    if isinstance(error, TransactWriteError):
        reasons = list(error.cancellation_reasons or [])
        if item is not None:
            reasons = reasons[item : item + 1]
        return any(reason is not None and reason.code == _IN_TRANSACTION for reason in reasons)
    return error.cause_response_code == _SINGLE
