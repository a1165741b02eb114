"""A person's own data as they download it (GET /v1/users/{userId}/export): the files of
the CSV archive, their columns, and how a stored value is written into a cell. Pure.

Datums are written as stored (values in mmol/L, the device's own in `originalValue` and
`originalUnits`). A CSV has fixed columns per type: the fields every datum shares, then the
type's own (its module's FIELDS); an object or array is a cell of JSON, and whatever a
datum holds beyond its columns goes, as a JSON object, into the last column, `other`:
nothing stored is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

from tidewater.domain import datasets
from tidewater.domain.datums import TYPES

JSON: Final = "json"
CSV: Final = "csv"
FORMATS: Final = (JSON, CSV)
VERSION: Final = 1

COMMON_COLUMNS: Final = (
    "id",
    "type",
    "time",
    "deviceTime",
    "timezoneOffset",
    "clockDriftOffset",
    "conversionOffset",
    "deviceId",
    "userId",
    "uploadId",
    "createdTime",
    "modifiedTime",
)
ORIGINAL_COLUMNS: Final = ("originalValue", "originalUnits")  # cbg and smbg: as the device said
OTHER: Final = "other"

PROFILE_FILE: Final = "profile.csv"
PROFILE_COLUMNS: Final = (
    "userId",
    "email",
    "fullName",
    "role",
    "createdTime",
    "nightscoutSecretConfigured",
    "donationConsent",
    "donationConsentedTime",
    "donationWithdrawnTime",
    "populationShare",
    "populationSharedTime",
)
CLINICS_FILE: Final = "clinics.csv"
CLINICS_COLUMNS: Final = ("clinicId", "name")
DATASETS_FILE: Final = "datasets.csv"
DATASET_COLUMNS: Final = ("id", "createdTime", "dataState", *datasets.ECHOED)
SUMMARY_FILE: Final = "summary.csv"
SUMMARY_COLUMNS: Final = ("field", "value")
README_FILE: Final = "README.txt"


def data_file(datum_type: str) -> str:
    return f"data/{datum_type}.csv"


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def datum_columns(datum_type: str) -> tuple[str, ...]:
    """The header of a type's CSV: shared fields, the type's own, then `other`."""
    module = TYPES.get(datum_type)
    own: tuple[str, ...] = module.FIELDS if module else ()
    original = ORIGINAL_COLUMNS if datum_type in ("cbg", "smbg") else ()
    return _unique((*COMMON_COLUMNS, *own, *original, OTHER))


def cell(value: Any) -> str:
    """A stored value as CSV text: numbers exactly as JSON writes them (the shortest text
    that reads back to the same float), true/false, objects and arrays as JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def row(record: Mapping[str, Any], columns: tuple[str, ...]) -> list[str]:
    """One CSV row; with `other` last, the fields without a column of their own go there."""
    if columns[-1] != OTHER:
        return [cell(record.get(name)) for name in columns]
    named = set(columns)
    rest = {k: v for k, v in record.items() if k not in named}
    return [*(cell(record.get(name)) for name in columns[:-1]), cell(rest) if rest else ""]


def flatten(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(`cgm.periods.14d.timeInTargetPercent`, value) for every leaf of a summary."""
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, f"{path}.")
        else:
            yield path, cell(value)


README: Final = """Tidewater: everything stored for one account, as CSV (UTF-8, RFC 4180).

profile.csv    the account (no password: it is kept by the identity provider, hashed),
               whether a Nightscout secret is set (never the secret), donation consent
clinics.csv    the clinics the account shares its data with
datasets.csv   the upload sessions (datasets), as the uploading clients described them
summary.csv    the glucose summary, one field a row (`cgm.periods.14d.timeInTargetPercent`)
data/<type>.csv  every stored datum of that type, in time order. Glucose values are in
               mmol/L, as stored; `originalValue` and `originalUnits` are the device's own.
               Objects and arrays are JSON; fields without a column are in `other` (JSON).
"""
