"""The Nightscout sites people follow: one item each in the aggregator table, and the sparse
`due` index the poller reads (docs/data-model.md, "aggregator")."""

from __future__ import annotations

import heapq
import itertools

from pynamodb.exceptions import DeleteError, UpdateError

from tidewater.domain.sources import Source
from tidewater.store import keys
from tidewater.store.conditions import condition_failed
from tidewater.store.models import SourceModel
from tidewater.store.overload import unavailable_when_busy


def _source(item: SourceModel) -> Source:
    return Source.from_state(
        item.owner, item.url, item.sealed, item.linked_time, item.poll_due, dict(item.body or {})
    )


@unavailable_when_busy
class SourcesRepository:
    def link(self, source: Source) -> None:
        """Store the person's site, replacing the one linked before (and its progress)."""
        SourceModel(
            keys.source_pk(source.owner), keys.SOURCE_SK, owner=source.owner, url=source.url,
            sealed=source.sealed, linked_time=source.linked_time,
            poll_shard=keys.poll_shard(source.owner), poll_due=source.poll_due,
            body=source.state(),
        ).save()  # fmt: skip

    def get(self, owner: str) -> Source | None:
        try:
            return _source(SourceModel.get(keys.source_pk(owner), keys.SOURCE_SK,
                                           consistent_read=True))  # fmt: skip
        except SourceModel.DoesNotExist:
            return None

    def unlink(self, owner: str) -> bool:
        """Forget the site and its token; whether there was one."""
        try:
            SourceModel(keys.source_pk(owner), keys.SOURCE_SK).delete(
                condition=SourceModel.pk.exists()
            )
        except DeleteError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def due(self, now: str, limit: int) -> list[Source]:
        """The sites due by `now`, longest due first, at most `limit`: a Query a shard
        (the index projects the whole item), merged. Each shard is read a page at a time
        as the merge needs it, a page being a shard's share of `limit`: a backlog costs
        about `limit` items read, not `limit` a shard."""
        all_shards = keys.all_poll_shards()
        page = max(1, -(-limit // len(all_shards)))
        shards = [
            SourceModel.due.query(shard, SourceModel.poll_due <= now, limit=limit, page_size=page)
            for shard in all_shards
        ]
        merged = heapq.merge(*shards, key=lambda item: item.poll_due or "")
        return [_source(item) for item in itertools.islice(merged, limit)]

    def claim(self, source: Source, until: str) -> bool:
        """Take the site for one run: its due time moves to `until`, if no other run has
        moved it since it was read and it is still the same link."""
        try:
            self._item(source).update(
                actions=[SourceModel.poll_due.set(until)],
                condition=(SourceModel.poll_due == (source.poll_due or ""))
                & (SourceModel.linked_time == source.linked_time),
            )
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def record(self, source: Source) -> bool:
        """Store the poll's outcome and the next due time, unless the site was unlinked or
        linked again meanwhile (False then: the new link starts afresh)."""
        try:
            self._item(source).update(
                actions=[
                    SourceModel.body.set(source.state()),
                    SourceModel.poll_due.set(source.poll_due or ""),
                ],
                condition=SourceModel.linked_time == source.linked_time,
            )
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True

    @staticmethod
    def _item(source: Source) -> SourceModel:
        return SourceModel(keys.source_pk(source.owner), keys.SOURCE_SK)
