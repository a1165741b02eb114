"""Nightscout v1 entries, to datums and back.

An `sgv` entry is a CGM reading (`cbg`), an `mbg` a meter reading (`smbg`), a `cal` a sensor
calibration (`deviceEvent`/`calibration`). Nightscout glucose is always mg/dL; the datums
then go through the same validation and normalisation as any upload. Nightscout identifies
an entry by its type and date, and so does the datum's `origin.id` (`nightscout_id`), which
makes a re-posted entry replace the one stored before.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterable
from typing import Any, Final

from tidewater.domain.datums import base, checks, times
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.errors import InvalidData
from tidewater.domain.timeutil import (
    format_utc,
    from_epoch_ms,
    parse_rfc3339,
    to_epoch_ms,
)
from tidewater.domain.units import MGDL, MGDL_PER_MMOLL

ENTRY_TYPES: Final = ("sgv", "mbg", "cal")
DEVICE_PREFIX: Final = "nightscout:"
UNKNOWN_DEVICE: Final = "unknown"
ORIGIN_NAME: Final = "nightscout"
GLUCOSE_MAX: Final = 1000.0  # mg/dL, as for any datum
DATE_MAX: Final = 253_402_300_799_999  # ms: the last millisecond of year 9999
# Optional numbers an entry may carry, kept as they are.
SGV_EXTRAS: Final = ("noise", "filtered", "unfiltered", "rssi")
CAL_FIELDS: Final = ("slope", "intercept", "scale")
# The glucose field of each glucose entry type, and the datum type it becomes.
GLUCOSE_ENTRIES: Final = {"sgv": ("sgv", "cbg"), "mbg": ("mbg", "smbg")}


def nightscout_id(entry_type: str, date_ms: int) -> str:
    """A deterministic key for the entry of `entry_type` at `date_ms` (32 base32hex chars)."""
    digest = hashlib.sha1(f"nightscout_{entry_type}_{date_ms}_".encode(), usedforsecurity=False)
    return base64.b32hexencode(digest.digest()).decode().lower()


def validate_entry(entry: object, pointer: str, problems: Problems) -> None:
    """Append the problems of one entry; pointers name the entry's own fields (`/0/sgv`)."""
    if type(entry) is not dict:
        checks.problem(problems, pointer, checks.TYPE_NOT_VALID, "each entry must be an object")
        return
    kind = checks.string(entry, "type", pointer, problems, required=True, one_of=ENTRY_TYPES)
    if entry.get("date") is not None or entry.get("dateString") is None:
        checks.number(entry, "date", pointer, problems, 0, DATE_MAX, required=True, unit="ms")
    else:
        text = checks.string(entry, "dateString", pointer, problems)
        if text is not None and times.canonical_time(text) is None:
            checks.problem(
                problems,
                checks.child(pointer, "dateString"),
                checks.VALUE_NOT_VALID,
                "`dateString` must be an RFC 3339 time with a zone",
            )
    if kind in GLUCOSE_ENTRIES:
        field = GLUCOSE_ENTRIES[kind][0]
        checks.number(entry, field, pointer, problems, 0, GLUCOSE_MAX, required=True, unit=MGDL)
    for key in (*SGV_EXTRAS, *CAL_FIELDS):
        checks.number(entry, key, pointer, problems)
    checks.string(entry, "device", pointer, problems)
    checks.string(entry, "direction", pointer, problems)
    checks.number(
        entry,
        "utcOffset",
        pointer,
        problems,
        -base.TIMEZONE_OFFSET_LIMIT,
        base.TIMEZONE_OFFSET_LIMIT,
        integer=True,
        unit="minutes",
    )


def entry_date_ms(entry: Datum) -> int:
    """The entry's time in epoch ms: `date`, else `dateString` (of a valid entry)."""
    date = entry.get("date")
    if date is not None:
        return int(date)
    return to_epoch_ms(parse_rfc3339(entry["dateString"]))


def entry_to_datum(entry: Datum) -> Datum:
    """The datum of one valid entry (mg/dL, not yet normalised)."""
    kind = entry["type"]
    date = entry_date_ms(entry)
    device = entry.get("device") or UNKNOWN_DEVICE
    datum: Datum = {
        "time": format_utc(from_epoch_ms(date)),
        "deviceId": DEVICE_PREFIX + device,
        "origin": {"name": ORIGIN_NAME, "id": nightscout_id(kind, date)},
    }
    if kind in GLUCOSE_ENTRIES:
        field, datum_type = GLUCOSE_ENTRIES[kind]
        datum.update(type=datum_type, units=MGDL, value=entry[field])
        if kind == "sgv":
            if entry.get("direction") is not None:
                datum["trend"] = entry["direction"]
            for key in SGV_EXTRAS:
                if entry.get(key) is not None:
                    datum[key] = entry[key]
    else:
        datum.update(type="deviceEvent", subType="calibration")
        for key in CAL_FIELDS:
            if entry.get(key) is not None:
                datum[key] = entry[key]
    if entry.get("utcOffset") is not None:
        datum["timezoneOffset"] = int(entry["utcOffset"])
    return datum


def entries_to_datums(body: object) -> list[Datum]:
    """Datums for a posted entry or array of entries; InvalidData listing every problem.

    Pointers are JSON Pointers into the body: `/0/sgv` in an array, `/sgv` for one object.
    """
    single = type(body) is dict
    if single:
        entries: list[Any] = [body]
    elif isinstance(body, list):
        entries = body
    else:
        raise checks.wrong_body("the body must be an entry or an array of entries")
    problems: Problems = []
    for i, entry in enumerate(entries):
        validate_entry(entry, "" if single else f"/{i}", problems)
    if problems:
        raise InvalidData(errors=problems)
    return [entry_to_datum(entry) for entry in entries]


def mgdl(datum: Datum) -> int:
    """A stored reading in whole mg/dL, from what the device reported when it was mg/dL."""
    if datum.get("originalUnits") == MGDL and checks.is_number(datum.get("originalValue")):
        value = float(datum["originalValue"])
    else:
        value = datum["value"] * MGDL_PER_MMOLL
    return math.floor(value + 0.5)  # half up, as JavaScript's Math.round


def datum_to_entry(datum: Datum) -> dict[str, Any] | None:
    """The Nightscout entry of a stored cbg, smbg or calibration; None for other data."""
    kind = datum.get("type")
    if kind == "cbg":
        entry: dict[str, Any] = {"type": "sgv", "sgv": mgdl(datum)}
        if datum.get("trend") is not None:
            entry["direction"] = datum["trend"]
        for key in SGV_EXTRAS:
            if datum.get(key) is not None:
                entry[key] = datum[key]
    elif kind == "smbg":
        entry = {"type": "mbg", "mbg": mgdl(datum)}
    elif kind == "deviceEvent" and datum.get("subType") == "calibration":
        entry = {"type": "cal"}
        for key in CAL_FIELDS:
            if datum.get(key) is not None:
                entry[key] = datum[key]
    else:
        return None
    moment = parse_rfc3339(datum["time"])
    device_id = str(datum.get("deviceId", ""))
    entry.update(
        _id=datum.get("id"),
        date=to_epoch_ms(moment),
        dateString=format_utc(moment),
        device=device_id.removeprefix(DEVICE_PREFIX),
    )
    if datum.get("timezoneOffset") is not None:
        entry["utcOffset"] = datum["timezoneOffset"]
    return entry


def datums_to_entries(datums: Iterable[Datum]) -> list[dict[str, Any]]:
    """The entries of those datums Nightscout has a type for, in the order given."""
    entries = []
    for datum in datums:
        entry = datum_to_entry(datum)
        if entry is not None:
            entries.append(entry)
    return entries
