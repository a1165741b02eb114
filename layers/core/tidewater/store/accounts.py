"""Accounts: profile, summary and the out-of-date marker the summariser works from."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError
from pynamodb.transactions import TransactWrite

from tidewater.domain.errors import Conflict, NotFound
from tidewater.store import keys
from tidewater.store.models import AccountModel, NightscoutSecretModel


@dataclass(frozen=True)
class OutdatedAccount:
    user_id: str
    outdated_since: str


@dataclass(frozen=True)
class Profile:
    user_id: str
    full_name: str
    role: str
    created_time: str

    def as_dict(self) -> dict[str, str]:
        return {"userId": self.user_id, "fullName": self.full_name, "role": self.role,
                "createdTime": self.created_time}  # fmt: skip


class AccountsRepository:
    def __init__(self, region: str) -> None:
        self.region = region

    def create(self, profile: Profile) -> None:
        """A new account; Conflict if the id is taken (ids are short and random)."""
        item = AccountModel(
            profile.user_id,
            profile={"fullName": profile.full_name, "role": profile.role,
                     "createdTime": profile.created_time},
        )  # fmt: skip
        try:
            item.save(condition=AccountModel.user_id.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict("account id taken", code="id-taken") from None
            raise

    def delete(self, user_id: str) -> None:
        AccountModel(user_id).delete()

    def profile(self, user_id: str) -> Profile:
        try:
            item = AccountModel.get(user_id, attributes_to_get=["userId", "profile"])
        except AccountModel.DoesNotExist:
            raise NotFound("no such user") from None
        stored = item.profile.as_dict() if item.profile else {}
        return Profile(user_id, str(stored.get("fullName", "")), str(stored.get("role", "")),
                       str(stored.get("createdTime", "")))  # fmt: skip

    def set_nightscout_secret(self, user_id: str, digest: str) -> None:
        """Replace the user's Nightscout secret, atomically: the old one stops working."""
        try:
            account = AccountModel.get(user_id, attributes_to_get=["userId", "nightscoutDigest"])
        except AccountModel.DoesNotExist:
            raise NotFound("no such user") from None
        with TransactWrite(connection=Connection(region=self.region)) as tx:
            if account.nightscout_digest and account.nightscout_digest != digest:
                tx.delete(
                    NightscoutSecretModel(keys.nightscout_secret_key(account.nightscout_digest))
                )
            tx.save(NightscoutSecretModel(keys.nightscout_secret_key(digest), owner=user_id))
            tx.update(AccountModel(user_id), actions=[AccountModel.nightscout_digest.set(digest)],
                      condition=AccountModel.user_id.exists())  # fmt: skip

    def nightscout_owner(self, digest: str) -> str | None:
        try:
            return NightscoutSecretModel.get(keys.nightscout_secret_key(digest)).owner
        except NightscoutSecretModel.DoesNotExist:
            return None

    def oldest_outdated(self, limit: int, now: str) -> list[OutdatedAccount]:
        """The `limit` accounts outdated longest (outdatedSince <= now), oldest first: one
        Query per shard of the sparse `outdated` index, merged."""
        per_shard = [
            [
                OutdatedAccount(item.user_id, item.outdated_since or "")
                for item in AccountModel.outdated_index.query(
                    shard,
                    AccountModel.outdated_since <= now,
                    limit=limit,
                    page_size=limit,
                )
            ]
            for shard in keys.all_outdated_shards()
        ]
        merged = heapq.merge(*per_shard, key=lambda a: (a.outdated_since, a.user_id))
        return list(merged)[:limit]
