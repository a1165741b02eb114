"""Account deletions under way: one item each in the donations table (`erasure` /
`<userId>`), written in the same transaction that marks the account `deleting`, so that a
deletion that fails halfway is always found (one Query) and resumed, and the account is
unusable from the first write."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from tidewater.domain.errors import NotFound
from tidewater.store import keys
from tidewater.store.conditions import condition_failed
from tidewater.store.models import AccountModel, ErasureModel
from tidewater.store.overload import unavailable_when_busy

DELETING = "deleting"


@dataclass(frozen=True)
class Erasure:
    user_id: str
    requested_time: str
    email: str | None  # until the Cognito user is deleted


@unavailable_when_busy
class ErasuresRepository:
    def __init__(self, region: str) -> None:
        self.region = region

    def begin(self, user_id: str, email: str, now: str) -> None:
        """Record the deletion and mark the account `deleting`, together. The summariser's
        lease and out-of-date mark go too: a summariser at work on it stores nothing more.
        NotFound if there is no such account."""
        try:
            with TransactWrite(connection=Connection(region=self.region)) as tx:
                tx.save(ErasureModel(keys.DONATION_ERASURES, user_id, requested_time=now,
                                     email=email))  # fmt: skip
                tx.update(
                    AccountModel(user_id),
                    actions=[
                        AccountModel.account_state.set(DELETING),
                        AccountModel.summary_lease.remove(),
                        AccountModel.outdated_since.remove(),
                        AccountModel.outdated_shard.remove(),
                    ],
                    condition=AccountModel.user_id.exists(),
                )
        except TransactWriteError as error:
            if condition_failed(error):
                raise NotFound("no such user") from None
            raise

    def get(self, user_id: str) -> Erasure | None:
        try:
            item = ErasureModel.get(keys.DONATION_ERASURES, user_id, consistent_read=True)
        except ErasureModel.DoesNotExist:
            return None
        return Erasure(item.sk, item.requested_time, item.email)

    def pending(self) -> list[Erasure]:
        """Every deletion under way (a Query on one partition: deletions are few)."""
        return [
            Erasure(item.sk, item.requested_time, item.email)
            for item in ErasureModel.query(keys.DONATION_ERASURES, consistent_read=True)
        ]

    def forget_email(self, user_id: str) -> None:
        ErasureModel(keys.DONATION_ERASURES, user_id).update(
            actions=[ErasureModel.email.remove()], condition=ErasureModel.sk.exists()
        )

    def finish(self, user_id: str) -> None:
        ErasureModel(keys.DONATION_ERASURES, user_id).delete()
