"""Accounts: profile, summary and the out-of-date marker the summariser works from."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from tidewater.store import keys
from tidewater.store.models import AccountModel


@dataclass(frozen=True)
class OutdatedAccount:
    user_id: str
    outdated_since: str


class AccountsRepository:
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
