"""An upload, from the request body to the items the store writes.

Validate the whole array first (one InvalidData listing every problem, nothing stored),
then normalise, link and give every datum its id and dedup key. The store keys a datum by
`type#time#dedupKey`, so a datum sent again replaces the copy stored before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tidewater.domain.datums import linking, normalize, valid_only, validate_all
from tidewater.domain.datums.checks import Datum
from tidewater.domain.datums.ids import dedup_key, legacy_id, random_id
from tidewater.domain.timeutil import format_utc


@dataclass(frozen=True)
class Prepared:
    """What the store needs: the items, and which of them it may leave as they are."""

    items: list[Datum]
    # Legacy path only: ids of items that arrived only embedded in another datum. The same
    # datum may have been uploaded on its own before, with more fields, under the same id:
    # a store may keep that copy. (On the platform path an embedded datum's id is new and
    # the outer points at it, so it must be written.)
    embedded_only: frozenset[str]
    # The id of each datum of the request, in its order (an embedded datum has its own).
    outer_ids: tuple[str, ...] = ()
    # Datums left out as invalid (`drop_invalid` only).
    refused: int = 0


@dataclass(slots=True)
class _Slot:
    item: Datum
    embedded: bool


def prepare(
    datums: object,
    *,
    legacy: bool,
    user_id: str,
    upload_id: str,
    now: datetime,
    new_id: Callable[[], str] = random_id,
) -> list[Datum]:
    """The items to store for an upload; InvalidData (nothing prepared) if any datum is bad."""
    return prepare_batch(
        datums, legacy=legacy, user_id=user_id, upload_id=upload_id, now=now, new_id=new_id
    ).items


def prepare_batch(
    datums: object,
    *,
    legacy: bool,
    user_id: str,
    upload_id: str,
    now: datetime,
    new_id: Callable[[], str] = random_id,
    drop_invalid: bool = False,
) -> Prepared:
    """`prepare`, with the ids a legacy upload carried only embedded in another datum.
    `drop_invalid`: leave invalid datums out (counted in `refused`) instead of refusing all."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if drop_invalid and isinstance(datums, list):
        valid = valid_only(datums, now)
    else:
        valid = validate_all(datums, now)
    refused = len(datums) - len(valid) if isinstance(datums, list) else 0
    created = format_utc(now)
    # (type, time, dedupKey) -> [item, embedded only]; one item per store key.
    slots: dict[tuple[str, str, str], _Slot] = {}

    def put(item: Datum, embedded: bool) -> str:
        if legacy:
            key = legacy_id(item)
            item_id = key
        else:
            key = dedup_key(item)
            item_id = ""
        slot_key = (item["type"], item["time"], key)
        slot = slots.get(slot_key)
        if slot is None:
            item["id"] = item_id or new_id()
            slots[slot_key] = _Slot(item, embedded)
        else:
            # The same event twice: one item keeps the first id (links already point at it).
            # The later copy wins, except that an embedded copy never replaces one sent
            # on its own, which may carry more fields; so upload order does not matter.
            item["id"] = slot.item["id"]
            if not embedded or slot.embedded:
                slot.item, slot.embedded = item, embedded
        item["dedupKey"] = key
        item["userId"] = user_id
        item["uploadId"] = upload_id
        item["createdTime"] = created
        return str(item["id"])

    outer: list[str] = []
    for datum in valid:
        item = normalize(datum)
        linking.split(item, put)
        outer.append(put(item, False))

    items: list[Datum] = []
    embedded_only: set[str] = set()
    for slot in slots.values():
        items.append(slot.item)
        if legacy and slot.embedded:
            embedded_only.add(slot.item["id"])
    return Prepared(items, frozenset(embedded_only), tuple(outer), refused)
