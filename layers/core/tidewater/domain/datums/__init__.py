"""Device data types, one module each, and the checks an upload passes before it is stored.

`validate_all` reports every problem of a whole upload at once; `normalize` turns one valid
datum into its stored form (mmol/L, canonical UTC `time`, client-owned fields only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from tidewater.domain.datums import (
    basal,
    bolus,
    cbg,
    cgm_settings,
    checks,
    device_event,
    food,
    linking,
    pump_settings,
    smbg,
    times,
    upload,
    wizard,
)
from tidewater.domain.datums.checks import Datum, DatumType, Problems
from tidewater.domain.errors import InvalidData

TYPES: Final[dict[str, DatumType]] = {
    basal.TYPE: basal,
    bolus.TYPE: bolus,
    cbg.TYPE: cbg,
    cgm_settings.TYPE: cgm_settings,
    device_event.TYPE: device_event,
    food.TYPE: food,
    pump_settings.TYPE: pump_settings,
    smbg.TYPE: smbg,
    upload.TYPE: upload,
    wizard.TYPE: wizard,
}
_KNOWN: Final = ", ".join(sorted(TYPES))

__all__ = ["TYPES", "Datum", "DatumType", "Problems", "normalize", "validate", "validate_all"]


def validate(datum: object, pointer: str, problems: Problems) -> None:
    """Append the problems of one element of an upload (`pointer` is its own, e.g. `/3`)."""
    if type(datum) is not dict:
        checks.problem(problems, pointer, checks.TYPE_NOT_VALID, "each datum must be an object")
        return
    kind = datum.get("type")
    module = TYPES.get(kind) if type(kind) is str else None
    if module is not None:
        module.validate(datum, pointer, problems)
        return
    at = checks.child(pointer, "type")
    if kind is None:
        checks.problem(problems, at, checks.VALUE_MISSING, "`type` is required")
    elif type(kind) is not str:
        checks.problem(problems, at, checks.TYPE_NOT_VALID, "`type` must be a string")
    else:
        checks.problem(problems, at, checks.VALUE_NOT_VALID, f"`type` must be one of: {_KNOWN}")


def validate_all(datums: object, now: datetime | None = None) -> list[Datum]:
    """The upload as a list of objects, or InvalidData listing every problem in it; with
    `now`, the server's clock, a datum dated too far ahead of it is one (domain/datums/times)."""
    if type(datums) is not list:
        raise checks.wrong_body("the body must be an array of data")
    problems: Problems = []
    latest = times.latest_accepted(now) if now is not None else None
    for i, datum in enumerate(datums):
        _check(datum, f"/{i}", latest, problems)
    if problems:
        raise InvalidData(errors=problems)
    return datums


def valid_only(datums: list[object], now: datetime) -> list[Datum]:
    """The datums that `validate_all` finds nothing wrong with, the others left out: for
    data the server reads itself (a followed site), where one bad entry must not keep the
    rest out and there is no client to tell."""
    latest = times.latest_accepted(now)
    kept: list[Datum] = []
    for datum in datums:
        problems: Problems = []
        _check(datum, "", latest, problems)
        if not problems and isinstance(datum, dict):  # valid, so an object
            kept.append(datum)
    return kept


def _check(datum: object, pointer: str, latest: str | None, problems: Problems) -> None:
    validate(datum, pointer, problems)
    if latest is not None:
        times.check_not_ahead(datum, pointer, latest, problems)
        _check_embedded_not_ahead(datum, pointer, latest, problems)


def _check_embedded_not_ahead(datum: object, pointer: str, latest: str, problems: Problems) -> None:
    """An embedded datum (a wizard's bolus, an alarm's suspension) is stored on its own: its
    own `time` may not be ahead either."""
    if not isinstance(datum, dict) or (link := linking.link_of(datum)) is None:
        return
    if isinstance(inner := datum.get(link[0]), dict):
        times.check_not_ahead(inner, checks.child(pointer, link[0]), latest, problems)


def normalize(datum: Datum) -> Datum:
    """The stored form of one valid datum; the input is not modified."""
    return TYPES[datum["type"]].normalize(datum)
