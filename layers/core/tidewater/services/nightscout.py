"""Nightscout v1 for uploaders (xDrip+, Loop, nightscout-cli): entries in, entries out.

The caller is the owner of the `api-secret` (or of the session token): every route works on
the caller's own data. Entries are stored as datums like any upload (`sgv` → cbg, `mbg` →
smbg, `cal` → a calibration deviceEvent) in a dataset the server keeps for Nightscout, and
an entry posted again with the same type and date replaces the first, keeping its `_id`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import tidewater
from tidewater.domain import datasets, outdated
from tidewater.domain import nightscout_records as records
from tidewater.domain import nightscout_treatments as treatments
from tidewater.domain.datasets import Dataset
from tidewater.domain.datums.checks import Datum
from tidewater.domain.errors import BadRequest, InvalidData, NotFound
from tidewater.domain.identity import Action, Caller
from tidewater.domain.nightscout import (
    DATE_MAX,
    datum_to_entry,
    datums_to_entries,
    entries_to_datums,
)
from tidewater.domain.timeutil import format_utc, from_epoch_ms, parse_rfc3339, to_epoch_ms, utcnow
from tidewater.observability import logger
from tidewater.services import ingest
from tidewater.services.access import require
from tidewater.store import keys as store_keys
from tidewater.store.datums import DatumKey
from tidewater.store.repos import Repositories

DEFAULT_COUNT: Final = 10  # Nightscout's
MAX_COUNT: Final = 10_000
MAX_ID_LENGTH: Final = 64
# Entry type → the datum type it is stored as.
DATUM_TYPES: Final = {"sgv": "cbg", "mbg": "smbg", "cal": "deviceEvent"}
CURRENT: Final = "current"
# Ranges of the platform's classification (mg/dL), as Nightscout's alarm thresholds.
THRESHOLDS: Final = {"bgHigh": 250, "bgTargetTop": 180, "bgTargetBottom": 70, "bgLow": 54}
_BOUNDS: Final = {"$gte": 0, "$gt": 1, "$lte": 0, "$lt": -1}
SUPPORTED: Final = ("entries", "treatments", "devicestatus", "profile")
# Nightscout's plugins whose data the server stores: an app that reads `settings.enable`
# (as AndroidAPS's and Loop's do) uploads treatments when `careportal` is among them.
ENABLED_PLUGINS: Final = ("careportal", "basal", "bolus", "profile", "pump", "loop", "openaps")


@dataclass(frozen=True)
class EntriesQuery:
    types: tuple[str, ...]  # entry types
    start: str  # canonical UTC times, inclusive
    end: str
    count: int


def entry_datum_id(user_id: str, origin_id: str) -> str:
    """The id of an entry's datum (32 hex): the same for the same user, type and date, so
    that a re-posted entry keeps its `_id`; different users never share one."""
    return hashlib.sha256(f"nightscout\x00{user_id}\x00{origin_id}".encode()).hexdigest()[:32]


def post_entries(
    caller: Caller, body: object, repos: Repositories, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Store one entry or an array of them; the entries as stored, with their `_id`."""
    ingest.check_count(body)
    user_id = caller.user_id
    require(caller, Action.WRITE, user_id, repos)
    result = import_entries(user_id, entries_to_datums(body), repos, now or utcnow())
    return datums_to_entries(sorted(result.items, key=lambda item: item["time"], reverse=True))


def import_entries(
    user_id: str,
    datums: list[Datum],
    repos: Repositories,
    now: datetime,
    *,
    drop_invalid: bool = False,
) -> ingest.UploadResult:
    """Store the datums of valid entries as the user's, in the dataset the server keeps for
    Nightscout (posted by an uploader, or read from the user's own site by the poller, which
    leaves out what the upload path refuses rather than losing the rest)."""
    return ingest.accept_upload(
        _nightscout_dataset(user_id, now),
        datums,
        repos,
        now,
        legacy=False,
        system=True,
        id_of=lambda item: entry_datum_id(user_id, item["origin"]["id"]),
        drop_invalid=drop_invalid,
    )


def get_entries(
    caller: Caller,
    params: Mapping[str, str],
    repos: Repositories,
    spec: str | None = None,
) -> list[dict[str, Any]]:
    """The caller's entries, newest first: all types, or `spec` (`sgv`, or `current`: the
    newest sgv)."""
    require(caller, Action.READ, caller.user_id, repos)
    query = parse_entries_query(params, spec)
    found: list[Datum] = []
    for entry_type in query.types:
        found.extend(
            repos.datums.latest(
                caller.user_id,
                DATUM_TYPES[entry_type],
                query.start,
                query.end,
                query.count,
                keep=_is_calibration if entry_type == "cal" else None,
            )
        )
    found.sort(key=lambda datum: datum["time"], reverse=True)
    return datums_to_entries(found[: query.count])


def _is_calibration(datum: Datum) -> bool:
    return datum.get("subType") == "calibration"


def delete_entry(
    caller: Caller, entry_id: str, repos: Repositories, now: datetime | None = None
) -> int:
    """Delete one of the caller's entries by `_id`; 404 for anything else."""
    user_id = caller.user_id
    require(caller, Action.WRITE, user_id, repos)
    found = repos.datums.find(user_id, entry_id) if len(entry_id) <= MAX_ID_LENGTH else None
    if found is None or datum_to_entry(found[1]) is None:
        raise NotFound("no such entry")
    key, _ = found
    now = now or utcnow()
    touched = outdated.touched_periods([(key.type, key.time)], now)
    if touched:  # marked first: a mark lost after the delete could not be made again
        repos.accounts.mark_outdated(
            user_id, format_utc(now), outdated.REASON_DATA_DELETED, touched
        )
    repos.datums.delete_keys([key])
    logger.info("entry deleted", extra={"datum_id": entry_id})
    return 1


def status(now: datetime | None = None) -> dict[str, Any]:
    """`/api/v1/status.json`: what uploaders check before they upload."""
    now = now or utcnow()
    return {
        "status": "ok",
        "name": "tidewater",
        "version": tidewater.__version__,
        "serverTime": format_utc(now),
        "serverTimeEpoch": to_epoch_ms(now),
        "apiEnabled": True,
        "careportalEnabled": True,
        "boluscalcEnabled": False,
        # Not Nightscout's: the v1 collections this server stores, for a client to check.
        "supported": list(SUPPORTED),
        "settings": {
            "units": "mg/dl",
            "timeFormat": 24,
            "customTitle": "Tidewater",
            "theme": "default",
            "enable": list(ENABLED_PLUGINS),
            "thresholds": dict(THRESHOLDS),
        },
        "extendedSettings": {},
        "authorized": None,
    }


# ---------------------------------------------------------------------- queries
def _bad(detail: str) -> BadRequest:
    return BadRequest(detail, code="parameter-not-valid")


def _epoch_ms(value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        raise _bad("`find[date]` takes milliseconds since the epoch") from None
    if not math.isfinite(number) or not 0 <= number <= DATE_MAX:
        raise _bad("`find[date]` takes milliseconds since the epoch")
    return int(number)


def _date_string_ms(value: str) -> int:
    try:
        return to_epoch_ms(parse_rfc3339(value))
    except (ValueError, OverflowError):
        raise _bad("`find[dateString]` takes an RFC 3339 time with a zone") from None


def parse_entries_query(params: Mapping[str, str], spec: str | None = None) -> EntriesQuery:
    """`count` and Mongo-style `find[date][$gte]=<ms>` (also `$gt`, `$lte`, `$lt`, and on
    `dateString`) and `find[type]=sgv`; another `find` is refused rather than ignored."""
    raw_count = params.get("count") or (str(1) if spec == CURRENT else str(DEFAULT_COUNT))
    if not raw_count.isdigit() or not 1 <= int(raw_count) <= MAX_COUNT:
        raise _bad(f"`count` must be a whole number from 1 to {MAX_COUNT}")
    low, high = 0, DATE_MAX
    types: tuple[str, ...] = tuple(DATUM_TYPES)
    if spec is not None:
        types = ("sgv",)
    for name, value in params.items():
        if not name.startswith("find["):
            continue
        parts = name[len("find[") : -1].split("][") if name.endswith("]") else []
        if parts == ["type"] or parts == ["type", "$eq"]:
            if value not in DATUM_TYPES:
                raise _bad("`find[type]` must be one of: " + ", ".join(DATUM_TYPES))
            types = tuple(t for t in types if t == value)
        elif len(parts) == 2 and parts[0] in ("date", "dateString") and parts[1] in _BOUNDS:
            ms = _epoch_ms(value) if parts[0] == "date" else _date_string_ms(value)
            ms += _BOUNDS[parts[1]]
            if parts[1].startswith("$g"):
                low = max(low, ms)
            else:
                high = min(high, ms)
        else:
            raise _bad("`find` takes `date`, `dateString` ($gte, $gt, $lte, $lt) and `type`")
    if low > high:
        return EntriesQuery((), "", "", int(raw_count))
    start, end = format_utc(from_epoch_ms(low)), format_utc(from_epoch_ms(high))
    return EntriesQuery(types, start, end, int(raw_count))


# ---------------------------------------------------------------------- treatments
def _nightscout_dataset(user_id: str, now: datetime) -> Dataset:
    return Dataset(
        datasets.system_dataset_id(datasets.NIGHTSCOUT, user_id),
        user_id,
        format_utc(now),
        datasets.OPEN,
        datasets.system_fields(datasets.NIGHTSCOUT, tidewater.__version__),
    )


def post_treatments(
    caller: Caller, body: object, repos: Repositories, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Store one treatment or an array of them, each with the datums it means, in one set of
    writes after every treatment and datum is valid; the treatments as stored, in the order
    posted. A treatment posted again (same identity) replaces the first, datums and all."""
    ingest.check_count(body)
    user_id = caller.user_id
    require(caller, Action.WRITE, user_id, repos)
    now = now or utcnow()
    parsed, single = treatments.parse(body, user_id, now)
    latest: dict[str, treatments.Treatment] = {}
    for treatment in parsed:  # the same treatment twice in one post: the later wins
        latest.pop(treatment.key, None)
        latest[treatment.key] = treatment
    datums: list[Datum] = []
    owners: list[str] = []
    for index, treatment in enumerate(parsed):
        if latest[treatment.key] is treatment:
            datums.extend(treatment.datums)
            owners.extend(["" if single else f"/{index}"] * len(treatment.datums))
    dataset = _nightscout_dataset(user_id, now)

    record_keys = {
        treatment.key: store_keys.datum_sk(
            treatments.RECORD_TYPE,
            treatment.created_at,
            treatments.key_hash(user_id, treatment.key)[:32],
        )
        for treatment in latest.values()
    }

    def records(items: list[Datum]) -> list[Datum]:
        by_id = {item["id"]: item for item in items}
        _drop_moved(user_id, latest, record_keys, items, repos, now)
        _drop_unmapped(user_id, list(record_keys.values()), items, repos, now)
        made = []
        for treatment in latest.values():
            stored = [by_id[d["id"]] for d in treatment.datums if d["id"] in by_id]
            record: Datum = {
                "type": treatments.RECORD_TYPE,
                "time": treatment.created_at,
                "id": treatment.id,
                "dedupKey": treatments.key_hash(user_id, treatment.key)[:32],
                "userId": user_id,
                "uploadId": dataset.id,
                "createdTime": format_utc(now),
                "treatment": treatment.body,
                "tidepool": {"types": [item["type"] for item in stored]},
                "datums": [[item["type"], item["time"], item["dedupKey"]] for item in stored],
            }
            if treatment.reason:
                record["tidepool"]["reason"] = treatment.reason
            made.append(record)
        return made

    try:
        result = ingest.accept_upload(
            dataset,
            datums,
            repos,
            now,
            legacy=False,
            system=True,
            id_of=lambda item: treatments.datum_id(user_id, item["origin"]["id"]),
            records=records,
        )
    except InvalidData as bad:
        raise InvalidData(errors=treatments.remap_problems(list(bad.errors), owners)) from None
    logger.info("treatments stored", extra={"treatments": len(latest), "datums": result.stored})
    return [{**treatment.body, "tidepool": _tidepool_note(treatment)} for treatment in parsed]


def _delete_marked(user_id: str, stale: list[DatumKey], repos: Repositories, now: datetime) -> None:
    """Delete those keys, the summary's periods they touch marked first (as a delete does)."""
    if not stale:
        return
    touched = outdated.touched_periods([(k.type, k.time) for k in stale], now)
    if touched:
        repos.accounts.mark_outdated(
            user_id, format_utc(now), outdated.REASON_DATA_DELETED, touched
        )
    repos.datums.delete_keys(stale)


def _drop_moved(
    user_id: str,
    latest: Mapping[str, treatments.Treatment],
    record_keys: Mapping[str, str],
    items: list[Datum],
    repos: Repositories,
    now: datetime,
) -> None:
    """A treatment sent again under its `_id` with another `created_at` (Loop's PUT of an
    edited treatment) moves: the record and datums under the old time are deleted. One
    `byId` Query for each treatment that carries its own `_id`, and only for those."""
    kept = {store_keys.datum_sk(i["type"], i["time"], i["dedupKey"]) for i in items}
    stale: list[DatumKey] = []
    for treatment in latest.values():
        if not treatment.key.startswith("id:"):
            continue
        found = repos.datums.find(user_id, treatment.id)
        if found is None or found[1].get("type") != treatments.RECORD_TYPE:
            continue
        key, record = found
        if key.sk == record_keys[treatment.key]:
            continue
        stale.append(key)
        for parts in record.get("datums", []):
            sk = store_keys.datum_sk(*parts)
            if sk not in kept:
                stale.append(DatumKey(user_id, sk))
    _delete_marked(user_id, stale, repos, now)


def _drop_unmapped(
    user_id: str, record_keys: list[str], items: list[Datum], repos: Repositories, now: datetime
) -> None:
    """Delete the datums a treatment stored before maps to no longer (carbs taken off a Meal
    Bolus), before the new ones are written: a failed post sent again finds them again."""
    kept = {store_keys.datum_sk(i["type"], i["time"], i["dedupKey"]) for i in items}
    stale = [
        DatumKey(user_id, sk)
        for record in repos.datums.bodies(user_id, record_keys).values()
        for sk in (store_keys.datum_sk(*parts) for parts in record.get("datums", []))
        if sk not in kept
    ]
    _delete_marked(user_id, stale, repos, now)


def _tidepool_note(treatment: treatments.Treatment) -> dict[str, Any]:
    note: dict[str, Any] = {"types": [datum["type"] for datum in treatment.datums]}
    if treatment.reason:
        note["reason"] = treatment.reason
    return note


def _matching(wanted: Mapping[str, Any], field: str) -> Callable[[Datum], bool]:
    """A record whose document (under `field`) has every `find[...]` equality asked for."""

    def matches(record: Datum) -> bool:
        body = record.get(field) or {}
        return all(body.get(name) == value for name, value in wanted.items())

    return matches


def get_treatments(
    caller: Caller, params: Mapping[str, str], repos: Repositories
) -> list[dict[str, Any]]:
    """The caller's treatments, newest first (`created_at`), `count` of them (10 unless
    asked, as Nightscout), filtered by `find[created_at][$gte|$gt|$lte|$lt]`,
    `find[eventType]` and `find[_id]`."""
    require(caller, Action.READ, caller.user_id, repos)
    start, end, count, wanted = parse_treatments_query(params)
    if start > end:
        return []

    found = repos.datums.latest(
        caller.user_id, treatments.RECORD_TYPE, start, end, count,
        keep=_matching(wanted, "treatment") if wanted else None,
    )  # fmt: skip
    return [treatments.record_to_treatment(record) for record in found]


def _treatment_time(name: str, value: str) -> str:
    try:
        return format_utc(parse_rfc3339(value))
    except (ValueError, OverflowError):
        pass
    try:  # a date alone (2026-11-21), as Nightscout's clients send it: midnight UTC
        return format_utc(parse_rfc3339(value + "T00:00:00Z"))
    except (ValueError, OverflowError):
        raise _bad(f"`{name}` takes an RFC 3339 time with a zone, or a date") from None


def parse_treatments_query(
    params: Mapping[str, str],
    equal: tuple[str, ...] = ("eventType", "_id"),
    time: str = "created_at",
) -> tuple[str, str, int, dict[str, str]]:
    """`count`, `find[<time>][$gte|$gt|$lte|$lt]` and `find[<field>]` for the fields of
    `equal`: the window, the count and the fields to match."""
    raw_count = params.get("count") or str(DEFAULT_COUNT)
    if not raw_count.isdigit() or not 0 <= int(raw_count) <= MAX_COUNT:
        raise _bad(f"`count` must be a whole number from 0 (all) to {MAX_COUNT}")
    count = int(raw_count) or MAX_COUNT  # 0: Mongo's limit(0), no limit (up to ours)
    start, end = format_utc(from_epoch_ms(0)), format_utc(from_epoch_ms(DATE_MAX))
    wanted: dict[str, str] = {}
    for name, value in params.items():
        if not name.startswith("find["):
            continue
        parts = name[len("find[") : -1].split("][") if name.endswith("]") else []
        if parts and parts[0] in equal and parts[1:] in ([], ["$eq"]):
            wanted[parts[0]] = value
        elif len(parts) == 2 and parts[0] == time and parts[1] in _BOUNDS:
            moment = parse_rfc3339(_treatment_time(name, value))
            ms = to_epoch_ms(moment) + _BOUNDS[parts[1]]
            if not 0 <= ms <= DATE_MAX:
                continue
            bound = format_utc(from_epoch_ms(ms))
            if parts[1].startswith("$g"):
                start = max(start, bound)
            else:
                end = min(end, bound)
        else:
            fields = ", ".join(f"`{name}`" for name in equal)
            raise _bad(f"`find` takes `{time}` ($gte, $gt, $lte, $lt) and {fields}")
    return start, end, count, wanted


def delete_treatment(
    caller: Caller, treatment_id: str, repos: Repositories, now: datetime | None = None
) -> int:
    """Delete one of the caller's treatments by `_id`, with its datums; 404 for anything
    else."""
    user_id = caller.user_id
    require(caller, Action.WRITE, user_id, repos)
    found = repos.datums.find(user_id, treatment_id) if len(treatment_id) <= MAX_ID_LENGTH else None
    if found is None or found[1].get("type") != treatments.RECORD_TYPE:
        raise NotFound("no such treatment")
    key, record = found
    datum_keys = [
        DatumKey(user_id, store_keys.datum_sk(kind, time, dedup))
        for kind, time, dedup in record.get("datums", [])
    ]
    now = now or utcnow()
    touched = outdated.touched_periods([(k.type, k.time) for k in datum_keys], now)
    if touched:  # marked first: a mark lost after the delete could not be made again
        repos.accounts.mark_outdated(
            user_id, format_utc(now), outdated.REASON_DATA_DELETED, touched
        )
    repos.datums.delete_keys([*datum_keys, key])
    logger.info("treatment deleted", extra={"datums": len(datum_keys)})
    return 1


# ---------------------------------------------------------------------- device status, profiles
def _record(
    kind: str, record_id: str, dedup: str, time: str, body: dict[str, Any], dataset: Dataset,
    now: datetime,
) -> Datum:  # fmt: skip
    return {
        "type": kind,
        "time": time,
        "id": record_id,
        "dedupKey": dedup,
        "userId": dataset.user_id,
        "uploadId": dataset.id,
        "createdTime": format_utc(now),
        "body": body,
    }


def post_device_status(
    caller: Caller, body: object, repos: Repositories, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Store one device status or an array of them (kept `DEVICESTATUS_RETENTION_DAYS`);
    the same `created_at` and `device` posted again replaces the first."""
    ingest.check_count(body)
    user_id = caller.user_id
    require(caller, Action.WRITE, user_id, repos)
    now = now or utcnow()
    parsed = records.parse_device_statuses(body, user_id, now)
    dataset = _nightscout_dataset(user_id, now)
    expires = records.expires_at(now)
    by_key: dict[tuple[str, str], Datum] = {}
    for record_id, dedup, created, status_body in parsed:  # the same one twice: the later wins
        item = _record(records.DEVICESTATUS_TYPE, record_id, dedup, created, status_body,
                       dataset, now)  # fmt: skip
        item["expiresAt"] = expires
        by_key.pop((created, dedup), None)
        by_key[(created, dedup)] = item
    made = list(by_key.values())
    ingest.accept_upload(dataset, [], repos, now, legacy=False, system=True, records=lambda _: made)
    logger.info("device statuses stored", extra={"count": len(made)})
    return [status_body for _, _, _, status_body in parsed]


def get_device_status(
    caller: Caller, params: Mapping[str, str], repos: Repositories, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The caller's device statuses, newest first, as treatments are queried (`count`,
    `find[created_at][…]`, `find[device]`); expired ones never, even before DynamoDB's TTL
    has deleted them."""
    require(caller, Action.READ, caller.user_id, repos)
    start, end, count, wanted = parse_treatments_query(params, equal=("device", "_id"))
    if start > end:
        return []
    current = int((now or utcnow()).timestamp())

    matches = _matching(wanted, "body")

    def keep(record: Datum) -> bool:
        fresh = int(record.get("expiresAt") or current + 1) > current
        return fresh and matches(record)

    found = repos.datums.latest(
        caller.user_id, records.DEVICESTATUS_TYPE, start, end, count, keep=keep
    )
    return [record["body"] for record in found]


def post_profiles(
    caller: Caller, body: object, repos: Repositories, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Store one profile document or an array of them; the newest (by `startDate`) is also
    stored as a Tidepool `pumpSettings` datum, through the upload's validation."""
    ingest.check_count(body)
    user_id = caller.user_id
    require(caller, Action.WRITE, user_id, repos)
    now = now or utcnow()
    parsed = records.parse_profiles(body, user_id, now)
    single = type(body) is dict
    dataset = _nightscout_dataset(user_id, now)
    unique = {(start, dedup): (record_id, profile_body)  # the same one twice: the later wins
              for record_id, dedup, start, profile_body, _ in parsed}  # fmt: skip
    made = [
        _record(records.PROFILE_TYPE, record_id, dedup, start, profile_body, dataset, now)
        for (start, dedup), (record_id, profile_body) in unique.items()
    ]
    datums: list[Datum] = []
    owners: list[str] = []
    if parsed:
        index, newest = max(enumerate(parsed), key=lambda pair: pair[1][2])
        if newest[4] is not None:
            datums.append(newest[4])
            owners.append("" if single else f"/{index}")
    try:
        ingest.accept_upload(
            dataset,
            datums,
            repos,
            now,
            legacy=False,
            system=True,
            id_of=lambda item: treatments.datum_id(user_id, item["origin"]["id"]),
            records=lambda _: made,
        )
    except InvalidData as bad:
        raise InvalidData(
            errors=records.remap_settings_problems(list(bad.errors), owners)
        ) from None
    logger.info("profiles stored", extra={"count": len(made), "pump_settings": len(datums)})
    return [profile_body for _, _, _, profile_body, _ in parsed]


def get_profiles(
    caller: Caller, params: Mapping[str, str], repos: Repositories
) -> list[dict[str, Any]]:
    """The caller's profile documents, newest `startDate` first (`count`, 10 unless asked)."""
    require(caller, Action.READ, caller.user_id, repos)
    start, end, count, wanted = parse_treatments_query(params, equal=("_id",), time="startDate")
    if start > end:
        return []

    found = repos.datums.latest(
        caller.user_id, records.PROFILE_TYPE, start, end, count,
        keep=_matching(wanted, "body") if wanted else None,
    )  # fmt: skip
    return [record["body"] for record in found]
