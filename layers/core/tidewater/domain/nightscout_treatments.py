"""Nightscout v1 treatments, and the Tidepool datums each one means.

`MAPPING` is the table (docs/nightscout.md shows it): a Nightscout event type, from the
careportal's documented list and what Loop, AndroidAPS and xDrip+ send, to the datums it is
stored as. The fields decide within a row: insulin makes a `bolus`, carbs a `food`, both in
one treatment a `wizard` whose `carbInput` are the carbs and whose bolus is the insulin.
An event type with no row, or a treatment whose fields name nothing Tidepool stores (a
temp basal without a rate), is kept as a Nightscout treatment only, and its answer says so.

A treatment is identified as Nightscout's server does: by its `_id` when the client sends
one (or the v3 `identifier`), else by `created_at` and `eventType`; posting it again
replaces it, and the datums it maps to, which take their ids from the same identity.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tidewater.domain.datums import checks
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.errors import InvalidData, Problem
from tidewater.domain.nightscout import DATE_MAX, DEVICE_PREFIX, ORIGIN_NAME, UNKNOWN_DEVICE
from tidewater.domain.timeutil import format_utc, from_epoch_ms, parse_rfc3339
from tidewater.domain.units import MGDL, MMOLL

RECORD_TYPE: Final = "nightscoutTreatment"  # the store's key prefix; never a Tidepool type
DEFAULT_EVENT: Final = "<none>"  # what xDrip+ sends for insulin and carbs without a type
MAX_ID_LENGTH: Final = 64
MAX_TEXT: Final = 10_000
MINUTE_MS: Final = 60_000
MINUTES_MAX: Final = 525_600  # a year

# What a row makes of a treatment's fields.
INSULIN_CARBS: Final = "insulin and carbs"
TEMP_BASAL: Final = "temp basal"
SITE_CHANGE: Final = "site change"
INSULIN_CHANGE: Final = "insulin change"
BG_CHECK: Final = "bg check"

MAPPING: Final[Mapping[str, str]] = {
    "Bolus": INSULIN_CARBS,
    "Correction Bolus": INSULIN_CARBS,
    "Meal Bolus": INSULIN_CARBS,
    "Snack Bolus": INSULIN_CARBS,
    "Combo Bolus": INSULIN_CARBS,
    "Bolus Wizard": INSULIN_CARBS,
    "Carb Correction": INSULIN_CARBS,
    "Carbs": INSULIN_CARBS,
    DEFAULT_EVENT: INSULIN_CARBS,
    "Temp Basal": TEMP_BASAL,
    "Temp Basal Start": TEMP_BASAL,
    "Site Change": SITE_CHANGE,
    "Insulin Change": INSULIN_CHANGE,
    "BG Check": BG_CHECK,
}
# Documented event types Tidepool has no datum for: kept as Nightscout treatments.
KEPT: Final[Mapping[str, str]] = {
    "Note": "a note",
    "Announcement": "an announcement",
    "Question": "a question",
    "Exercise": "exercise",
    "Sensor Start": "a sensor start (Tidepool's deviceEvent has no sensor subType)",
    "Sensor Change": "a sensor change (Tidepool's deviceEvent has no sensor subType)",
    "Pump Battery Change": "a pump battery change",
    "Temp Basal End": "the end of a temp basal (the temp's own duration says when it ended)",
    "Temporary Target": "a temporary target",
    "Temporary Override": "an override",
    "Profile Switch": "a profile switch",
    "Suspend Pump": "a pump suspension",
    "Resume Pump": "a pump resumption",
    "OpenAPS Offline": "an offline loop",
    "D.A.D. Alert": "a diabetes alert dog's alert",
}
NUMBERS: Final = (
    "insulin",
    "carbs",
    "glucose",
    "duration",
    "absolute",
    "rate",
    "percent",
    "enteredinsulin",
    "splitNow",
    "splitExt",
    "relative",
    "fat",
    "protein",
    "utcOffset",
    "programmed",
)
# Bounds that keep the unit conversions finite; the datums' own limits are checked after.
LIMITS: Final = {"duration": (-MINUTES_MAX, MINUTES_MAX), "utcOffset": (-MINUTES_MAX, MINUTES_MAX)}
STRINGS: Final = ("eventType", "enteredBy", "notes", "units", "glucoseType", "identifier")
GLUCOSE_UNITS: Final = {"mg/dl": MGDL, "mgdl": MGDL, "mg/dL": MGDL, "mmol": MMOLL, "mmol/L": MMOLL}
# Datum field -> the treatment field a datum problem is about.
_SOURCE_FIELD: Final = {
    "normal": "insulin",
    "extended": "insulin",
    "carbInput": "carbs",
    "nutrition": "carbs",
    "rate": "absolute",
    "percent": "percent",
    "duration": "duration",
    "value": "glucose",
    "units": "units",
    "time": "created_at",
    "timezoneOffset": "utcOffset",
}


@dataclass
class Treatment:
    """One valid posted treatment: its identity, its Nightscout body, the datums it means."""

    id: str
    key: str  # the identity it is upserted by
    created_at: str  # canonical UTC
    body: dict[str, Any]
    datums: list[Datum] = field(default_factory=list)
    reason: str | None = None  # why it maps to nothing, when it does not


def key_hash(user_id: str, key: str) -> str:
    return hashlib.sha256(f"nightscout-treatment\x00{user_id}\x00{key}".encode()).hexdigest()


def treatment_id(user_id: str, key: str) -> str:
    """A Mongo-like 24-hex `_id`, the same for the same user and identity."""
    return key_hash(user_id, key)[:24]


def datum_id(user_id: str, origin_id: str) -> str:
    return hashlib.sha256(f"nightscout\x00{user_id}\x00{origin_id}".encode()).hexdigest()[:32]


def _coerce_numbers(raw: dict[str, Any], pointer: str, problems: Problems) -> dict[str, Any]:
    """Nightscout's server turns numeric strings into numbers ("20" carbs are 20)."""
    out = dict(raw)
    for key in NUMBERS:
        value = out.get(key)
        if type(value) is str and value.strip():
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                out[key] = int(number) if number.is_integer() else number
        if out.get(key) is not None:
            low, high = LIMITS.get(key, (None, None))
            checks.number(out, key, pointer, problems, low, high)
        elif key in out:
            del out[key]  # null: absent, as Nightscout's clients mean it
    return out


def _created_at(raw: dict[str, Any], pointer: str, problems: Problems, now: datetime) -> str:
    value = raw.get("created_at")
    if value is None:
        for key in ("date", "mills"):
            ms = raw.get(key)
            if isinstance(ms, int | float) and checks.is_number(ms) and 0 <= ms <= DATE_MAX:
                return format_utc(from_epoch_ms(int(ms)))
        return format_utc(now)  # Nightscout stamps a treatment without a time with now
    if type(value) is str:
        try:
            return format_utc(parse_rfc3339(value))
        except (ValueError, OverflowError):
            pass
    checks.problem(
        problems,
        checks.child(pointer, "created_at"),
        checks.VALUE_NOT_VALID,
        "`created_at` must be an RFC 3339 time with a zone, like 2026-11-21T08:30:00Z",
    )
    return ""


def parse(body: object, user_id: str, now: datetime) -> tuple[list[Treatment], bool]:
    """The treatments of one posted object or array (and whether it was one object), each
    with its datums; InvalidData listing every problem, pointing into the body."""
    single = type(body) is dict
    if single:
        raws: list[Any] = [body]
    elif isinstance(body, list):
        raws = body
    else:
        raise checks.wrong_body("the body must be a treatment or an array of treatments")
    problems: Problems = []
    found: list[Treatment] = []
    for i, raw in enumerate(raws):
        pointer = "" if single else f"/{i}"
        if type(raw) is not dict:
            checks.problem(problems, pointer, checks.TYPE_NOT_VALID, "a treatment is an object")
            continue
        before = len(problems)
        treatment = _parse_one(raw, pointer, problems, user_id, now)
        if len(problems) == before:
            found.append(treatment)
    if problems:
        raise InvalidData(errors=problems)
    return found, single


def _parse_one(
    raw: dict[str, Any], pointer: str, problems: Problems, user_id: str, now: datetime
) -> Treatment:
    before = len(problems)
    body = _coerce_numbers(raw, pointer, problems)
    for key in STRINGS:
        text = checks.string(body, key, pointer, problems)
        if text is not None and len(text) > MAX_TEXT:
            checks.problem(
                problems, checks.child(pointer, key), checks.VALUE_NOT_VALID, "text too long"
            )
    client_id = body.get("_id")
    if client_id is not None and (
        type(client_id) is not str or not 0 < len(client_id) <= MAX_ID_LENGTH
    ):
        checks.problem(
            problems,
            checks.child(pointer, "_id"),
            checks.VALUE_NOT_VALID,
            f"`_id` must be a string of 1 to {MAX_ID_LENGTH} characters",
        )
        client_id = None
    units = body.get("units")
    if type(units) is str and units not in GLUCOSE_UNITS:
        checks.problem(
            problems,
            checks.child(pointer, "units"),
            checks.VALUE_NOT_VALID,
            "`units` must be mg/dl or mmol",
        )
    created_at = _created_at(body, pointer, problems, now)
    body["eventType"] = event = body.get("eventType") or DEFAULT_EVENT
    body["created_at"] = created_at
    if type(client_id) is str:
        key = "id:" + client_id
    elif type(body.get("identifier")) is str and body["identifier"]:
        key = "identifier:" + body["identifier"]
    else:
        key = f"at:{created_at}\x00{event}"
    tid = client_id if type(client_id) is str else treatment_id(user_id, key)
    body["_id"] = tid
    treatment = Treatment(tid, key, created_at, body)
    if len(problems) == before:  # only a valid treatment is converted
        treatment.datums, treatment.reason = to_datums(body, user_id, tid)
    return treatment


def _number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    return float(value) if isinstance(value, int | float) and checks.is_number(value) else None


def to_datums(body: Mapping[str, Any], user_id: str, tid: str) -> tuple[list[Datum], str | None]:
    """The datums a (coerced) treatment means, and why there are none when there are none."""
    event = body["eventType"]
    row = MAPPING.get(event)
    if row is None:
        what = KEPT.get(event, f"the event type {event!r}")
        return [], f"kept as a Nightscout treatment: Tidepool has no datum for {what}"
    device = body.get("enteredBy") or body.get("device") or UNKNOWN_DEVICE

    def datum(role: str, kind: str, **fields: Any) -> Datum:
        out: Datum = {
            "type": kind,
            "time": body["created_at"],
            "deviceId": DEVICE_PREFIX + str(device),
            "origin": {"name": ORIGIN_NAME, "id": f"{tid}/{role}", "type": "service"},
            **fields,
        }
        out["id"] = datum_id(user_id, out["origin"]["id"])
        if checks.is_number(body.get("utcOffset")):
            out["timezoneOffset"] = int(body["utcOffset"])
        if type(body.get("notes")) is str and body["notes"]:
            out["notes"] = [body["notes"]]
        return out

    if row == INSULIN_CARBS:
        made: list[Datum] = []
        bolus = _bolus(body)
        carbs = _number(body, "carbs")
        bolus_datum = datum("bolus", "bolus", **bolus) if bolus else None
        if bolus_datum is not None and carbs:
            made.append(bolus_datum)
            link = bolus_datum["id"]
            wizard = datum("wizard", "wizard", units=MGDL, carbInput=carbs, bolus=link)
            made.append(wizard)
        elif bolus_datum is not None:
            made.append(bolus_datum)
        elif carbs:
            nutrition = {"carbohydrate": {"net": carbs, "units": "grams"}}
            made.append(datum("food", "food", nutrition=nutrition))
        if not made:
            return [], "kept as a Nightscout treatment: it carries no insulin and no carbs"
        return made, None
    if row == TEMP_BASAL:
        rate = _number(body, "absolute")
        if rate is None and body.get("temp") != "percentage":  # Loop's percentage: no rate
            rate = _number(body, "rate")
        duration = _number(body, "duration")
        if rate is None or not duration:
            return [], "kept as a Nightscout treatment: a temp basal needs a rate and a duration"
        fields: dict[str, Any] = {"rate": rate, "duration": round(duration * MINUTE_MS)}
        percent = _number(body, "percent")
        if percent is not None:  # AndroidAPS: percent above (or below) the scheduled rate
            fields["percent"] = (100 + percent) / 100
        return [datum("basal", "basal", deliveryType="temp", **fields)], None
    if row == SITE_CHANGE:
        return [datum("prime", "deviceEvent", subType="prime", primeTarget="cannula")], None
    if row == INSULIN_CHANGE:
        return [datum("reservoir", "deviceEvent", subType="reservoirChange")], None
    glucose = _number(body, "glucose")
    if glucose is None:
        return [], "kept as a Nightscout treatment: a BG Check without `glucose`"
    units = GLUCOSE_UNITS.get(str(body.get("units") or "mg/dl"), MGDL)
    fields = {"units": units, "value": glucose}
    if body.get("glucoseType") == "Manual":
        fields["subType"] = "manual"
    return [datum("smbg", "smbg", **fields)], None


def _bolus(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The bolus fields of a treatment: normal; square or dual/square when a duration says
    the insulin is spread (Loop's `type: square`, AndroidAPS's Combo Bolus split)."""
    insulin = _number(body, "insulin")
    entered = _number(body, "enteredinsulin")
    duration = _number(body, "duration") or 0
    automated = body.get("isSMB") is True or body.get("automatic") is True
    split_ext = _number(body, "splitExt")
    if body["eventType"] == "Combo Bolus" and entered and duration > 0:
        extended_part = (split_ext if split_ext is not None else 100) / 100
        extended = entered * extended_part
        now_part = entered - extended
        spread = {"extended": extended, "duration": round(duration * MINUTE_MS)}
        if now_part > 0:
            return {"subType": "dual/square", "normal": now_part, **spread}
        return {"subType": "square", **spread}
    if not insulin:
        return None
    if body.get("type") in ("square", "dual") and duration > 0:  # Loop: no split is sent
        return {"subType": "square", "extended": insulin, "duration": round(duration * MINUTE_MS)}
    fields: dict[str, Any] = {"subType": "automated" if automated else "normal", "normal": insulin}
    programmed = _number(body, "programmed")
    if programmed is not None and programmed > insulin:  # Loop: an interrupted bolus
        fields["expectedNormal"] = programmed
    return fields


def remap_problems(problems: list[Problem], owners: list[str]) -> list[Problem]:
    """Point the problems of the datums (`/3/normal`) at the treatments they came from
    (`/1/insulin`): `owners[k]` is the pointer of the treatment of datum k."""
    out = []
    for found in problems:
        parts = found.pointer.split("/")
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(owners):
            owner = owners[int(parts[1])]
            name = _SOURCE_FIELD.get(parts[2], parts[2]) if len(parts) > 2 else ""
            pointer = checks.child(owner, name) if name else owner
        else:
            pointer = found.pointer
        out.append(Problem(pointer, found.code, found.title, found.detail, found.parameter))
    return out


def record_to_treatment(record: Datum) -> dict[str, Any]:
    """The Nightscout treatment a stored record answers with."""
    out = dict(record["treatment"])
    out["tidepool"] = record["tidepool"]
    return out
