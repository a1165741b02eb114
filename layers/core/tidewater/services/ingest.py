"""Uploads: datasets, device data on the platform and legacy paths, and reading it back.

Every use case checks access first (the owner writes; a clinician of a shared clinic may
read) and raises the domain's errors. An upload is all or nothing up to the store: the whole
array is validated, normalised and linked before the first write, and every write is
idempotent (same key, same item), so a client may resend a request that failed midway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import tidewater
from tidewater.domain import datasets, outdated, tidepool
from tidewater.domain.cursor import BadCursor, open_cursor, scope, sign_cursor
from tidewater.domain.datasets import Dataset
from tidewater.domain.datums import TYPES
from tidewater.domain.datums.checks import Datum
from tidewater.domain.datums.ids import random_id
from tidewater.domain.datums.pipeline import prepare_batch
from tidewater.domain.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from tidewater.domain.identity import Action, Caller
from tidewater.domain.paging import Position
from tidewater.domain.timeutil import format_utc, parse_rfc3339, utcnow
from tidewater.observability import logger
from tidewater.services.access import require
from tidewater.store.repos import Repositories

MAX_DATUMS: Final = 10_000  # per request; clients normally send 1,000
DEFAULT_PAGE: Final = 1000
MAX_PAGE: Final = 5000
START_OF_TIME: Final = ""  # sorts before any canonical time
END_OF_TIME: Final = "9999-12-31T23:59:59.999Z"


@dataclass(frozen=True)
class UploadResult:
    upload_id: str
    received: int  # datums in the request
    stored: int  # items written (an embedded datum is an item of its own)
    kept: int  # legacy: embedded copies not written, a copy sent on its own being stored
    touched: int  # summary periods marked out of date
    items: list[Datum] = field(default_factory=list, repr=False)  # as written
    # jellyfish's answer: indexes of the request's datums already stored (or sent earlier
    # in the same request), when asked for.
    duplicates: list[int] = field(default_factory=list)
    refused: int = 0  # datums left out as invalid (`drop_invalid` only)

    def meta(self) -> dict[str, Any]:
        return {
            "uploadId": self.upload_id,
            "received": self.received,
            "stored": self.stored,
            "kept": self.kept,
        }


@dataclass(frozen=True)
class DataPage:
    items: list[Datum]
    cursor: str | None  # signed, for this user, types and window; None: nothing more


@dataclass(frozen=True)
class DataQuery:
    types: list[str]
    start: str
    end: str
    limit: int
    cursor: str | None


def check_count(datums: object) -> None:
    """413 for more datums than one request may carry, before any work on them."""
    if isinstance(datums, list) and len(datums) > MAX_DATUMS:
        raise PayloadTooLarge(f"at most {MAX_DATUMS} datums per request")


def create_dataset(
    caller: Caller, user_id: str, body: object, repos: Repositories, now: datetime | None = None
) -> Dataset:
    require(caller, Action.WRITE, user_id, repos)
    fields = datasets.validate_new(body)
    dataset = Dataset(random_id(), user_id, format_utc(now or utcnow()), datasets.OPEN, fields)
    repos.datasets.create(dataset)
    logger.info("dataset created", extra={"dataset_id": dataset.id})
    return dataset


def owned_dataset(caller: Caller, dataset_id: str, repos: Repositories) -> Dataset:
    """The dataset, if the caller may write to its owner's data: 404, then 403."""
    dataset = repos.datasets.get(dataset_id)
    if dataset is None:
        raise NotFound("no such dataset")
    require(caller, Action.WRITE, dataset.user_id, repos)
    return dataset


def upload(
    caller: Caller,
    dataset_id: str,
    datums: object,
    repos: Repositories,
    now: datetime | None = None,
) -> UploadResult:
    """The platform path: datums into an open dataset, with random ids."""
    check_count(datums)
    dataset = owned_dataset(caller, dataset_id, repos)
    if dataset.closed:
        raise Conflict("the dataset is closed", code="data-set-closed")
    if dataset.deleting:
        raise Conflict("the dataset was deleted", code="data-set-deleted")
    return accept_upload(dataset, datums, repos, now or utcnow(), legacy=False)


def upload_legacy(
    caller: Caller,
    user_id: str,
    datums: object,
    repos: Repositories,
    now: datetime | None = None,
    *,
    duplicates: bool = False,
) -> UploadResult:
    """The legacy (jellyfish) path: deterministic ids, both halves of a link accepted in
    any order. The datums go into a dataset the server keeps per client `uploadId`."""
    check_count(datums)
    require(caller, Action.WRITE, user_id, repos)
    now = now or utcnow()
    dataset = Dataset(
        datasets.system_dataset_id(datasets.LEGACY, user_id, _client_upload_id(datums)),
        user_id,
        format_utc(now),
        datasets.OPEN,
        datasets.system_fields(datasets.LEGACY, tidewater.__version__),
    )
    return accept_upload(
        dataset, datums, repos, now, legacy=True, system=True, duplicates=duplicates
    )


def accept_upload(
    dataset: Dataset,
    datums: object,
    repos: Repositories,
    now: datetime,
    *,
    legacy: bool,
    system: bool = False,
    id_of: Callable[[Datum], str] | None = None,
    duplicates: bool = False,
    records: Callable[[list[Datum]], list[Datum]] | None = None,
    drop_invalid: bool = False,
) -> UploadResult:
    """Validate, normalise, link, write, mark the summary: the steps every upload shares.

    `system`: the dataset is one the server keeps, opened (or made) once the data is valid.
    `id_of`: the id of each item, where the caller derives ids itself (Nightscout).
    `duplicates`: find which datums of the request were stored already (one BatchGetItem
    per 100 items, before the writes).
    `records`: more items for the same writes, made from the prepared datums (Nightscout's
    treatment records, which name their datums' keys).
    `drop_invalid`: invalid datums are left out (counted in `refused`), the rest stored.
    """
    prepared = prepare_batch(
        datums, legacy=legacy, user_id=dataset.user_id, upload_id=dataset.id, now=now,
        drop_invalid=drop_invalid,
    )  # fmt: skip
    received = len(datums) if isinstance(datums, list) else 1
    if drop_invalid and not prepared.items:
        return UploadResult(dataset.id, received, 0, 0, 0, refused=prepared.refused)
    if id_of is not None:
        for item in prepared.items:
            item["id"] = id_of(item)
    if system:
        repos.datasets.open_system(dataset)
    items = prepared.items
    kept: set[str] = set()
    if prepared.embedded_only:
        # An inner datum sent only inside its outer one must not replace the copy of it
        # that came on its own before (which may carry more fields).
        kept = repos.datums.stored_ids([i for i in items if i["id"] in prepared.embedded_only])
        items = [item for item in items if item["id"] not in kept]
    repeated: list[int] = []
    if duplicates:
        before = repos.datums.stored_ids(items) | kept
        seen: set[str] = set()
        for index, item_id in enumerate(prepared.outer_ids):
            if item_id in before or item_id in seen:
                repeated.append(index)
            seen.add(item_id)
    touched = outdated.touched_periods(((item["type"], item["time"]) for item in items), now)
    if touched:
        # Marked before the datums are stored: if the mark fails nothing is stored (503, the
        # client sends the same again); if the writes fail, a mark with nothing new is harmless.
        repos.accounts.mark_outdated(
            dataset.user_id, format_utc(now), outdated.REASON_UPLOAD, touched
        )
    written = items + records(items) if records is not None else items
    stored = repos.datums.put_many(written) - (len(written) - len(items))
    _unless_deleted_meanwhile(dataset.id, written, repos)
    logger.info(
        "datums stored",
        extra={"dataset_id": dataset.id, "received": received, "stored": stored,
               "kept": len(kept), "touched": len(touched)},
    )  # fmt: skip
    return UploadResult(
        dataset.id, received, stored, len(kept), len(touched), items, repeated, prepared.refused
    )


def _unless_deleted_meanwhile(dataset_id: str, items: list[Datum], repos: Repositories) -> None:
    """An upload that passed its dataset's check before a delete of it began may write after
    the delete's sweep: it reads the state again (consistently) and, if the dataset is being
    deleted or gone, deletes what it wrote itself and gets 409. Either way nothing of the
    dataset is left once both are done."""
    current = repos.datasets.get(dataset_id)
    if current is None or current.deleting:
        repos.datums.delete_items(items)
        raise Conflict("the dataset was deleted", code="data-set-deleted")


def _client_upload_id(datums: object) -> str:
    """The `uploadId` the legacy datums carry, when they all carry the same one."""
    if not isinstance(datums, list):
        return ""
    found = {
        datum["uploadId"]
        for datum in datums
        if isinstance(datum, dict) and isinstance(datum.get("uploadId"), str)
    }
    return found.pop() if len(found) == 1 else ""


def close_dataset(
    caller: Caller, dataset_id: str, repos: Repositories, now: datetime | None = None
) -> Dataset:
    """Close the dataset (idempotent); later uploads to it get 409."""
    dataset = owned_dataset(caller, dataset_id, repos)
    closed = repos.datasets.close(dataset.id)
    repos.accounts.mark_outdated(
        dataset.user_id, format_utc(now or utcnow()), outdated.REASON_DATASET_CLOSED
    )
    logger.info("dataset closed", extra={"dataset_id": dataset.id})
    return closed


def delete_dataset(
    caller: Caller, dataset_id: str, repos: Repositories, now: datetime | None = None
) -> int:
    """Delete the dataset and its datums (those not since replaced by a newer upload);
    how many datums were deleted.

    The dataset is marked `deleting` first: uploads to it get 409 from then on, and one
    that checked the state before reads it again after its writes and takes back what it
    wrote; whatever an upload wrote before that second look, this delete finds (it looks
    after marking). The periods are marked outdated before the datums go, the dataset's item
    last, so a delete that fails midway (503) is simply sent again."""
    dataset = owned_dataset(caller, dataset_id, repos)
    now = now or utcnow()
    repos.datasets.start_deleting(dataset.id)
    found = repos.datums.upload_keys(dataset.user_id, dataset.id)
    touched = outdated.touched_periods(((key.type, key.time) for key in found), now)
    repos.accounts.mark_outdated(
        dataset.user_id, format_utc(now), outdated.REASON_DATASET_DELETED, touched
    )
    deleted = repos.datums.delete_keys(found)
    repos.datasets.delete(dataset.id)
    logger.info("dataset deleted", extra={"dataset_id": dataset.id, "deleted": deleted})
    return deleted


def read_data(
    caller: Caller, user_id: str, params: Mapping[str, str], repos: Repositories
) -> DataPage:
    require(caller, Action.READ, user_id, repos)
    query = parse_data_query(params)
    bound_to = scope("data", user_id, ",".join(query.types), query.start, query.end)
    after = None
    if query.cursor:
        after = _position(open_cursor(query.cursor, bound_to, repos.secrets.cursor_key()))
    page = repos.datums.page(
        user_id, query.types, query.start, query.end, limit=query.limit, after=after
    )
    cursor = None
    if page.next:
        cursor = sign_cursor(list(page.next), bound_to, repos.secrets.cursor_key())
    return DataPage(page.items, cursor)


def _position(state: object) -> Position:
    if type(state) is list and len(state) == 2 and all(type(part) is str for part in state):
        return state[0], state[1]
    raise BadCursor  # pragma: no cover - we signed it: only an older format could be here


def _time_parameter(params: Mapping[str, str], name: str, default: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return format_utc(parse_rfc3339(value))
    except (ValueError, OverflowError):
        raise BadRequest(
            f"`{name}` must be an RFC 3339 time with a zone, like 2016-06-14T17:52:45.845Z",
            code="parameter-not-valid",
            parameter=name,
        ) from None


def parse_data_query(params: Mapping[str, str]) -> DataQuery:
    start = _time_parameter(params, "startDate", START_OF_TIME)
    end = _time_parameter(params, "endDate", END_OF_TIME)
    if start > end:
        raise BadRequest("`startDate` must not be after `endDate`", code="parameter-not-valid")
    requested = [t.strip() for t in (params.get("type") or "").split(",") if t.strip()]
    unknown = [t for t in requested if t not in TYPES]
    if unknown:
        raise BadRequest(
            "`type` must be a comma-separated list of: " + ", ".join(sorted(TYPES)),
            code="parameter-not-valid",
        )
    types = sorted(set(requested)) if requested else sorted(TYPES)
    raw_limit = params.get("limit") or str(DEFAULT_PAGE)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise BadRequest(
            f"`limit` must be a whole number from 1 to {MAX_PAGE}", code="parameter-not-valid"
        )
    return DataQuery(types, start, end, int(raw_limit), params.get("cursor") or None)


# ---------------------------------------------------------------- Tidepool's own routes
# tide-whisperer answers GET /data/{userId} in one array: at most this many datums (and
# bytes, under Lambda's 6 MB answer) are read for it; a read that would need more is refused
# with 413, never cut short. GET /v1/users/{userId}/data pages through any amount.
WHISPERER_MAX_DATUMS: Final = 10_000
WHISPERER_MAX_BYTES: Final = 4_500_000  # the store's page limit: under 6 MB as JSON


def list_data_sets(
    caller: Caller, user_id: str, params: Mapping[str, str], repos: Repositories
) -> list[dict[str, Any]]:
    """The user's data sets, newest first (`deviceId`, `page` and `size` as the platform
    takes them): a Query on `byUser`, newest first, that stops after `(page + 1) * size`
    matching data sets."""
    require(caller, Action.READ, user_id, repos)
    page, size, device_id = tidepool.data_sets_page(params)
    wanted = (page + 1) * size
    found: list[dict[str, Any]] = []
    for dataset in repos.datasets.of_user(user_id, newest_first=True):
        shown = dataset.as_dict()
        if dataset.deleting or not tidepool.data_set_matches(shown, device_id):
            continue
        found.append(shown)
        if len(found) == wanted:
            break
    return found[page * size :]


def read_tidepool(
    caller: Caller, user_id: str, params: Mapping[str, str], repos: Repositories
) -> list[Datum]:
    """tide-whisperer's read: the stored datums (values in mmol/L, as stored) of the `type`s
    asked (all by default; a type Tidewater does not store matches nothing, as there), in
    the `startDate`..`endDate` window, filtered by `uploadId`, `deviceId`, `subType`; with
    `latest`, the newest of each type only. PayloadTooLarge past WHISPERER_MAX_DATUMS."""
    require(caller, Action.READ, user_id, repos)
    start = _time_parameter(params, "startDate", START_OF_TIME)
    end = _time_parameter(params, "endDate", END_OF_TIME)
    if start > end:
        raise BadRequest(
            "`startDate` must not be after `endDate`",
            code="parameter-not-valid",
            parameter="startDate",
        )
    requested = {t.strip() for t in (params.get("type") or "").split(",") if t.strip()}
    types = sorted(requested & set(TYPES)) if requested else sorted(TYPES)
    latest = (params.get("latest") or "").lower()
    if latest not in ("", "true", "false", "1", "0"):
        raise BadRequest(
            "`latest` is true or false", code="parameter-not-valid", parameter="latest"
        )

    def keep(datum: Datum) -> bool:
        return tidepool.keep_datum(
            datum, params.get("uploadId"), params.get("deviceId"), params.get("subType")
        )

    if latest in ("true", "1"):
        newest = [repos.datums.latest(user_id, kind, start, end, 1, keep=keep) for kind in types]
        return [found[0] for found in newest if found]
    if not types:
        return []
    page = repos.datums.page(
        user_id,
        types,
        start,
        end,
        limit=WHISPERER_MAX_DATUMS,
        max_bytes=WHISPERER_MAX_BYTES,
    )
    if page.next is not None:
        raise PayloadTooLarge(
            f"more than {WHISPERER_MAX_DATUMS} datums (or {WHISPERER_MAX_BYTES} bytes) match:"
            " narrow startDate/endDate or type, or page with GET /v1/users/{userId}/data"
        )
    return [datum for datum in page.items if keep(datum)]
