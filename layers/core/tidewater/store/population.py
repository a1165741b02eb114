"""The population view's storage, in the aggregator table (store/keys.py):

  population / <userId>        a person who shares, and since when        aggregator fn
  population-key / <UTC day>   that day's random hash key (TTL)            aggregator fn

Who shares is one Query of one partition; a day's key is one GetItem (once per process and
day), written once by whichever function needs it first. The CGM a view read is kept for the
rest of its minute (the view's times are minutes): views of the same people and hours in
that minute read nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from tidewater.store import keys
from tidewater.store.conditions import condition_failed
from tidewater.store.models import PopulationKeyModel, PopulationMemberModel
from tidewater.store.overload import unavailable_when_busy


@unavailable_when_busy
class PopulationRepository:
    def __init__(self) -> None:
        self._day_keys: dict[str, bytes] = {}
        self._read: dict[tuple[Hashable, ...], Any] = {}

    # ------------------------------------------------------------------ a view's reads
    def recently_read(self, key: tuple[Hashable, ...], read: Callable[[], Any]) -> Any:
        """What `read()` gave for `key` in this process, or `read()` now. Only the latest
        key of each kind (its first element: the view's hours) is kept."""
        if key not in self._read:
            self._read = {k: v for k, v in self._read.items() if k[0] != key[0]}
            self._read[key] = read()
        return self._read[key]

    # ------------------------------------------------------------------ who shares
    def shared_since(self, user_id: str) -> str | None:
        """When the person began to share, or None if they do not."""
        try:
            item = PopulationMemberModel.get(keys.POPULATION_MEMBERS, user_id, consistent_read=True)
        except PopulationMemberModel.DoesNotExist:
            return None
        return item.shared_time

    def share(self, user_id: str, now: str) -> str:
        """The person shares from `now` on, or from when they first did if they still do:
        the answer is that time."""
        item = PopulationMemberModel(keys.POPULATION_MEMBERS, user_id, shared_time=now)
        try:
            item.save(condition=PopulationMemberModel.pk.does_not_exist())
        except PutError as error:
            if not condition_failed(error):
                raise
            return self.shared_since(user_id) or now
        return now

    def unshare(self, user_id: str) -> bool:
        """The person no longer shares (from the next view on); True if they did."""
        item = PopulationMemberModel(keys.POPULATION_MEMBERS, user_id)
        try:
            item.delete(condition=PopulationMemberModel.pk.exists())
        except DeleteError as error:
            if not condition_failed(error):
                raise
            return False
        return True

    def members(self) -> list[str]:
        """Everyone who shares: one Query of the partition, keys only, page by page."""
        return [
            item.sk
            for item in PopulationMemberModel.query(
                keys.POPULATION_MEMBERS, consistent_read=True, attributes_to_get=["sk"]
            )
        ]

    # ------------------------------------------------------------------ the day's key
    def day_key(self, day: str, new_key: Callable[[], bytes], expires_at: int) -> bytes:
        """The key of `day`: the one stored, or `new_key()` stored now. A conditional put,
        so that functions starting at once all end up with the first one written."""
        found = self._day_keys.get(day)
        if found is not None:
            return found
        sk = day  # the UTC day, as keys.POPULATION_DAY_KEYS says
        try:
            found = PopulationKeyModel.get(keys.POPULATION_DAY_KEYS, sk, consistent_read=True).key
        except PopulationKeyModel.DoesNotExist:
            candidate = new_key()
            item = PopulationKeyModel(keys.POPULATION_DAY_KEYS, sk, key=candidate,
                                      expires_at=expires_at)  # fmt: skip
            try:
                item.save(condition=PopulationKeyModel.pk.does_not_exist())
                found = candidate
            except PutError as error:  # another function wrote it first: theirs holds
                if not condition_failed(error):
                    raise
                found = PopulationKeyModel.get(
                    keys.POPULATION_DAY_KEYS, sk, consistent_read=True
                ).key
        self._day_keys = {day: found}  # the previous day's key is never needed again
        return found
