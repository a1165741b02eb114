"""Nightscout v1 device status and profiles: what is kept, and the pumpSettings a profile means.

A device status (the pump's, the loop's, the phone's state) is kept as posted for
`DEVICESTATUS_RETENTION_DAYS`, identified as Nightscout's server does by `created_at` and
`device` (or the client's `_id`). A profile document (`store` of named profiles, each with
`basal`, `carbratio`, `sens`, `target_low`/`target_high` schedules of `{time, value}`) is
kept as posted, identified by its `_id` or else its `startDate`; the newest profile of a
post is also stored as a Tidepool `pumpSettings` datum at its `startDate`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Final

from tidewater.domain.datums import checks
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.errors import InvalidData, Problem
from tidewater.domain.nightscout import DATE_MAX, DEVICE_PREFIX, ORIGIN_NAME, UNKNOWN_DEVICE
from tidewater.domain.nightscout_treatments import GLUCOSE_UNITS, MAX_ID_LENGTH
from tidewater.domain.timeutil import format_utc, from_epoch_ms, parse_rfc3339, to_epoch_ms
from tidewater.domain.units import MGDL

DEVICESTATUS_TYPE: Final = "nightscoutDeviceStatus"  # store key prefixes, never Tidepool types
PROFILE_TYPE: Final = "nightscoutProfile"
DEVICESTATUS_RETENTION_DAYS: Final = 90
DAY_SECONDS: Final = 86_400
# Nightscout's schedule -> (pumpSettings field, the entry field its value becomes).
SCHEDULES: Final = {
    "basal": ("basalSchedules", "rate"),
    "carbratio": ("carbRatios", "amount"),
    "sens": ("insulinSensitivities", "amount"),
}
_BACK: Final = {
    "basalSchedules": "basal",
    "carbRatios": "carbratio",
    "insulinSensitivities": "sens",
    "bgTargets": "target_low",
}


def record_id(user_id: str, kind: str, key: str) -> str:
    """A Mongo-like 24-hex `_id`, the same for the same user, kind and identity."""
    text = f"nightscout-{kind}\x00{user_id}\x00{key}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def dedup(user_id: str, kind: str, key: str) -> str:
    return hashlib.sha256(f"{kind}\x00{user_id}\x00{key}".encode()).hexdigest()[:32]


def _objects(body: object, what: str) -> tuple[list[Any], bool]:
    if type(body) is dict:
        return [body], True
    if isinstance(body, list):
        return body, False
    raise checks.wrong_body(f"the body must be a {what} or an array of them")


def _time(raw: dict[str, Any], key: str, pointer: str, problems: Problems) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if type(value) is str:
        try:
            return format_utc(parse_rfc3339(value))
        except (ValueError, OverflowError):
            pass
    checks.problem(
        problems,
        checks.child(pointer, key),
        checks.VALUE_NOT_VALID,
        f"`{key}` must be an RFC 3339 time with a zone, like 2026-11-21T08:30:00Z",
    )
    return None


def _client_id(raw: dict[str, Any], pointer: str, problems: Problems) -> str | None:
    value = raw.get("_id")
    if value is None:
        return None
    if type(value) is str and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    checks.problem(
        problems,
        checks.child(pointer, "_id"),
        checks.VALUE_NOT_VALID,
        f"`_id` must be a string of 1 to {MAX_ID_LENGTH} characters",
    )
    return None


def parse_device_statuses(
    body: object, user_id: str, now: datetime
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(id, dedup key, created_at, body) of each posted device status; InvalidData else."""
    raws, single = _objects(body, "device status")
    problems: Problems = []
    found = []
    for i, raw in enumerate(raws):
        pointer = "" if single else f"/{i}"
        if type(raw) is not dict:
            checks.problem(problems, pointer, checks.TYPE_NOT_VALID, "a device status is an object")
            continue
        before = len(problems)
        checks.string(raw, "device", pointer, problems)
        client = _client_id(raw, pointer, problems)
        created = _time(raw, "created_at", pointer, problems) or format_utc(now)
        if len(problems) > before:
            continue
        key = "id:" + client if client else f"at:{created}\x00{raw.get('device') or ''}"
        out = {**raw, "created_at": created}
        out["_id"] = client or record_id(user_id, "devicestatus", key)
        found.append((out["_id"], dedup(user_id, "devicestatus", key), created, out))
    if problems:
        raise InvalidData(errors=problems)
    return found


def expires_at(now: datetime) -> int:
    """When a device status stored now is deleted (epoch seconds, DynamoDB's TTL)."""
    return int(now.timestamp()) + DEVICESTATUS_RETENTION_DAYS * DAY_SECONDS


# ---------------------------------------------------------------------- profiles
def _start_ms(entry: dict[str, Any]) -> int | None:
    seconds = entry.get("timeAsSeconds")
    if (
        checks.is_number(seconds)
        and isinstance(seconds, int | float)
        and 0 <= seconds < DAY_SECONDS
    ):
        return int(seconds * 1000)
    text = entry.get("time")
    if type(text) is str and len(text.split(":")) == 2:
        hours, minutes = text.split(":")
        if hours.isdigit() and minutes.isdigit():
            return (int(hours) * 60 + int(minutes)) * 60_000
    return None


def _schedule(entries: object, at: str, problems: Problems) -> list[tuple[int, float]] | None:
    """A Nightscout schedule as (start ms after midnight, value) pairs."""
    if type(entries) is not list:
        checks.problem(problems, at, checks.TYPE_NOT_VALID, "a schedule is an array")
        return None
    out = []
    for i, entry in enumerate(entries):
        here = checks.child(at, i)
        if type(entry) is not dict:
            checks.problem(problems, here, checks.TYPE_NOT_VALID, "a schedule entry is an object")
            continue
        start = _start_ms(entry)
        value = checks.number(entry, "value", here, problems, 0, required=True)
        if start is None:
            checks.problem(
                problems,
                checks.child(here, "time"),
                checks.VALUE_NOT_VALID,
                "`time` must be HH:MM (or `timeAsSeconds` a number)",
            )
        elif value is not None:
            out.append((start, float(value)))
    return out


def parse_profiles(
    body: object, user_id: str, now: datetime
) -> list[tuple[str, str, str, dict[str, Any], Datum | None]]:
    """(id, dedup key, startDate, body, pumpSettings or None) of each posted profile
    document; InvalidData pointing into the body else."""
    raws, single = _objects(body, "profile")
    problems: Problems = []
    found = []
    for i, raw in enumerate(raws):
        pointer = "" if single else f"/{i}"
        if type(raw) is not dict:
            checks.problem(problems, pointer, checks.TYPE_NOT_VALID, "a profile is an object")
            continue
        before = len(problems)
        client = _client_id(raw, pointer, problems)
        start = _time(raw, "startDate", pointer, problems)
        mills = raw.get("mills")
        if start is None and isinstance(mills, int | float) and checks.is_number(mills):
            start = format_utc(from_epoch_ms(int(mills))) if 0 <= mills <= DATE_MAX else None
        start = start or _time(raw, "created_at", pointer, problems) or format_utc(now)
        store = checks.obj(raw, "store", pointer, problems, required=True)
        default = checks.string(raw, "defaultProfile", pointer, problems)
        settings = None
        if store is not None:
            settings = _pump_settings(raw, store, default, start, checks.child(pointer, "store"),
                                      problems)  # fmt: skip
        if len(problems) > before:
            continue
        key = "id:" + client if client else "at:" + start
        out = {**raw, "startDate": start}
        out.setdefault("created_at", start)
        out["_id"] = client or record_id(user_id, "profile", key)
        if settings is not None:
            settings["origin"] = {"name": ORIGIN_NAME, "id": f"{out['_id']}/pumpSettings",
                                  "type": "service"}  # fmt: skip
        found.append((out["_id"], dedup(user_id, "profile", key), start, out, settings))
    if problems:
        raise InvalidData(errors=problems)
    return found


def _pump_settings(
    raw: dict[str, Any],
    store: dict[str, Any],
    default: str | None,
    start: str,
    at: str,
    problems: Problems,
) -> Datum | None:
    named: dict[str, dict[str, list[dict[str, Any]]]] = {
        "basalSchedules": {},
        "carbRatios": {},
        "insulinSensitivities": {},
        "bgTargets": {},
    }
    units = MGDL
    for name, profile in store.items():
        here = checks.child(at, name)
        if type(profile) is not dict:
            checks.problem(problems, here, checks.TYPE_NOT_VALID, "a profile is an object")
            continue
        given = profile.get("units") or raw.get("units")
        if type(given) is str and given in GLUCOSE_UNITS:
            units = GLUCOSE_UNITS[given]
        for source, (target, field) in SCHEDULES.items():
            if source in profile:
                pairs = _schedule(profile[source], checks.child(here, source), problems) or []
                named[target][name] = [{"start": s, field: v} for s, v in pairs]
        if "target_low" in profile and "target_high" in profile:
            lows = _schedule(profile["target_low"], checks.child(here, "target_low"), problems)
            highs = _schedule(profile["target_high"], checks.child(here, "target_high"), problems)
            if lows and highs:
                named["bgTargets"][name] = [
                    {"start": s, "low": low, "high": _at(highs, s)} for s, low in lows
                ]
    active = default if default in store else next(iter(store), None)
    if active is None:
        return None
    datum: Datum = {
        "type": "pumpSettings",
        "time": start,
        "deviceId": DEVICE_PREFIX + str(raw.get("enteredBy") or UNKNOWN_DEVICE),
        "activeSchedule": active,
        "units": {"carb": "grams", "bg": units},
    }
    for target, schedules in named.items():
        if schedules:
            datum[target] = schedules
    return datum


def _at(pairs: list[tuple[int, float]], start: int) -> float:
    """The value of a step schedule at `start`: the last entry at or before it."""
    value = pairs[0][1]
    for begin, amount in sorted(pairs):
        if begin <= start:
            value = amount
    return value


def remap_settings_problems(problems: list[Problem], owners: list[str]) -> list[Problem]:
    """Point a pumpSettings problem (`/0/basalSchedules/Default/2/rate`) at the profile's
    schedule entry (`/store/Default/basal/2/value`)."""
    out = []
    for found in problems:
        parts = found.pointer.split("/")
        pointer = found.pointer
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(owners):
            pointer = owners[int(parts[1])] or ""
            if len(parts) > 3 and parts[2] in _BACK:
                field = "target_high" if parts[-1] == "high" else _BACK[parts[2]]
                pointer += "/store/" + parts[3] + "/" + field
                if len(parts) > 4:
                    pointer += "/" + parts[4] + "/value"
        out.append(Problem(pointer, found.code, found.title, found.detail, found.parameter))
    return out


def epoch_ms(text: str) -> int:
    return to_epoch_ms(parse_rfc3339(text))
