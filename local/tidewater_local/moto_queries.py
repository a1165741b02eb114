"""moto's DynamoDB Query without sorting the whole table first.

moto 5 answers every Query by sorting all of the table's items by key (`Table.all_items`),
keeping the queried ones and sorting those again. A Query therefore costs O(n log n) in the
table's size with moto's slow key comparisons: a demo stack's start-up and the larger tests
spent most of their time there. While a Query runs, `all_items` here gives the items
unsorted, and for a Query on the table's own key only the queried partition's. What Query
answers is unchanged: it sorts what it keeps by the full key itself. Scans keep moto's order
(their paging relies on it)."""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.models.table import Item, Table

_query = threading.local()


def quicker_queries() -> None:
    """Install the patch in this process (once; safe to call again)."""
    if getattr(Table, "_tidewater_quicker_queries", False):
        return
    sorted_items = Table.all_items
    query = Table.query

    def all_items(self: Table) -> list[Item]:
        if getattr(_query, "table", None) is not self:
            return sorted_items(self)
        if _query.partition is None:  # an index: every item is a candidate
            return _unsorted(self, self.items.values())
        held = self.items.get(_query.partition)
        return _unsorted(self, [] if held is None else [held])

    def quick_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_query, "table", None), getattr(_query, "partition", None)
        _query.table = self
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        _query.partition = None if index_name else hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _query.table, _query.partition = outer

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = quick_query  # type: ignore[method-assign]
    Table._tidewater_quicker_queries = True  # type: ignore[attr-defined]


def _unsorted(table: Table, partitions: Any) -> list[Item]:
    if not table.range_key_attr:
        return list(partitions)
    return [item for partition in partitions for item in partition.values()]
