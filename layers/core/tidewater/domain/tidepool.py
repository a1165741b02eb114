"""Tidepool's own shapes (its published API, tidepool-org/TidepoolApi) for what Tidewater
keeps in its own: the user of shoreline's /auth routes, jellyfish's /info, the platform's
data sets list and tide-whisperer's read. Pure: the services hand in what they read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from tidewater.domain.accounts import Profile
from tidewater.domain.errors import BadRequest
from tidewater.domain.identity import Role

if TYPE_CHECKING:  # the datum types are the upload's: the auth function never loads them
    from tidewater.domain.datums.checks import Datum

# jellyfish's /info: the data model's schema version and the oldest uploader that may
# upload. Tidewater takes uploads from any uploader version that speaks this API.
SCHEMA_VERSION: Final = 3
UPLOADER_MINIMUM: Final = "0.0.0"

# GET /v1/users/{userId}/data_sets: the platform's page size limits (pagesize.v1.yaml).
DATA_SETS_DEFAULT_SIZE: Final = 100
DATA_SETS_MAX_SIZE: Final = 1000


def user(profile: Profile, claims: Mapping[str, Any]) -> dict[str, Any]:
    """shoreline's user (auth/models/user.v1.yaml: `userid` and `emailVerified` required)
    from the account's profile and the session token's claims. `userId` too, as Tidewater's
    own clients read it. Roles: Tidepool knows only `clinic`, a clinician's account."""
    email = str(claims.get("email") or "")
    # Tidewater makes every user with `email_verified` true (store/identity.py); a token
    # without the claim (moto's) is of such a user.
    verified = claims.get("email_verified", True)
    return {
        "userid": profile.user_id,
        "userId": profile.user_id,
        "username": email,
        "emails": [email] if email else [],
        "roles": ["clinic"] if profile.role == Role.CLINICIAN else [],
        # Signing up accepts the terms: an account exists only once they were.
        "termsAccepted": profile.created_time,
        "emailVerified": verified is True or verified == "true",
        "createdTime": profile.created_time,
    }


def info() -> dict[str, Any]:
    return {"versions": {"schema": SCHEMA_VERSION, "uploaderMinimum": UPLOADER_MINIMUM}}


def _whole(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(
            f"`{name}` must be a whole number from {low} to {high}",
            code="parameter-not-valid",
            parameter=name,
        )
    return int(raw)


def data_sets_page(params: Mapping[str, str]) -> tuple[int, int, str | None]:
    """`page` (from 0), `size` and the `deviceId` filter of a data sets list."""
    size = _whole(params, "size", DATA_SETS_DEFAULT_SIZE, 1, DATA_SETS_MAX_SIZE)
    page = _whole(params, "page", 0, 0, 1_000_000)
    return page, size, params.get("deviceId") or None


def data_set_matches(dataset: Mapping[str, Any], device_id: str | None) -> bool:
    return device_id is None or dataset.get("deviceId") == device_id


def data_set_in_data(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """A data set as tide-whisperer lists it among the data (`type: upload`, `time`)."""
    shown = dict(dataset)
    shown.setdefault("time", shown.get("createdTime"))
    return shown


def keep_datum(
    datum: Mapping[str, Any], upload_id: str | None, device_id: str | None, sub_type: str | None
) -> bool:
    """tide-whisperer's `uploadId`, `deviceId` and `subType` filters (all that are given)."""
    return (
        (upload_id is None or datum.get("uploadId") == upload_id)
        and (device_id is None or datum.get("deviceId") == device_id)
        and (sub_type is None or datum.get("subType") == sub_type)
    )


def newest_first(datums: Iterable[Datum]) -> list[Datum]:
    return sorted(datums, key=lambda d: str(d.get("time") or ""), reverse=True)


# ------------------------------------------------------------------ clinic service
# The spec's mmol/L bounds (summary-statistics-v2.txt), as TIDE's config echoes them.
GLUCOSE_THRESHOLDS: Final = {
    "veryLowGlucoseThreshold": 3.0,
    "lowGlucoseThreshold": 3.9,
    "highGlucoseThreshold": 10.0,
    "veryHighGlucoseThreshold": 13.9,
    "extremeHighGlucoseThreshold": 19.4,
}
TIDE_SCHEMA_VERSION: Final = 1
# Tidepool's clients gate features by tier; Tidewater has none to sell: every clinic has all
# that Tidewater serves.
TIER: Final = "tier0300"
TIER_DESCRIPTION: Final = "Tidewater: every feature"
PREFERRED_BG_UNITS: Final = ("mg/dL", "mmol/L")

_RANGES: Final = (
    "VeryLow",
    "Low",
    "Target",
    "High",
    "VeryHigh",
    "ExtremeHigh",
    "AnyLow",
    "AnyHigh",
)
_PLAIN: Final = (
    "averageGlucoseMmol",
    "glucoseManagementIndicator",
    "standardDeviation",
    "coefficientOfVariation",
    "averageDailyRecords",
    "hoursWithData",
    "daysWithData",
    "timeCGMUsePercent",
)
_FLAGGED: Final = frozenset(
    {"averageGlucoseMmol", "glucoseManagementIndicator", "averageDailyRecords", "timeCGMUsePercent"}
)


def _fields_of(period: Mapping[str, Any], cgm: bool) -> dict[str, Any]:
    """One of our periods (or its delta) in Tidepool's flat names: `inLow.percent` →
    `timeInLowPercent`, `total.records` → `totalRecords`, `total.minutes` →
    `timeCGMUseMinutes`."""
    out: dict[str, Any] = {}
    units = ("Percent", "Minutes", "Records") if cgm else ("Percent", "Records")
    for name in _RANGES:
        block = period.get(f"in{name}")
        if isinstance(block, Mapping):
            for unit in units:
                value = block.get(unit.lower())
                if value is not None:
                    out[f"timeIn{name}{unit}"] = value
    total = period.get("total")
    if isinstance(total, Mapping):
        if total.get("records") is not None:
            out["totalRecords"] = total["records"]
        if cgm:
            if total.get("minutes") is not None:
                out["timeCGMUseMinutes"] = total["minutes"]
            if total.get("records") is not None:
                out["timeCGMUseRecords"] = total["records"]
    for name in _PLAIN:
        if period.get(name) is not None and (
            cgm or name not in ("hoursWithData", "timeCGMUsePercent")
        ):
            out[name] = period[name]
    return out


def period(ours: Mapping[str, Any], cgm: bool) -> dict[str, Any]:
    """cgmPeriod.v1 / bgmPeriod.v1 of one of our periods: the values, their `…Delta`, and
    the `has…` flags Tidepool's clients read for the values that may be absent."""
    values = _fields_of(ours, cgm)
    deltas = _fields_of(ours.get("delta") or {}, cgm)
    out: dict[str, Any] = dict(values)
    out.update({f"{name}Delta": value for name, value in deltas.items()})
    flagged = [f"timeIn{r}{u}" for r in _RANGES for u in ("Percent", "Minutes", "Records")]
    flagged += ["totalRecords", "timeCGMUseMinutes", "timeCGMUseRecords", *_FLAGGED]
    for name in flagged:
        if cgm or not (name.endswith("Minutes") or "CGMUse" in name or name.startswith("glucoseM")):
            out[f"has{name[0].upper()}{name[1:]}"] = name in values
    return out


def stats(kind: Mapping[str, Any] | None, dates: Mapping[str, Any], cgm: bool) -> dict[str, Any]:
    """cgmStats / bgmStats: `dates` (summaryDates.v1) and `periods` ("1d" … "30d")."""
    kind = kind or {}
    own = kind.get("dates") or {}
    shown: dict[str, Any] = {}
    for name, value in (
        ("firstData", own.get("firstData")),
        ("lastData", own.get("lastData")),
        ("lastUploadDate", None),
        ("outdatedSince", dates.get("outdatedSince")),
    ):
        shown[f"has{name[0].upper()}{name[1:]}"] = value is not None
        if value is not None:
            shown[name] = value
    if dates.get("lastUpdatedDate"):
        shown["lastUpdatedDate"] = dates["lastUpdatedDate"]
    periods = kind.get("periods") or {}
    return {
        "dates": shown,
        "periods": {name: period(p, cgm) for name, p in periods.items() if isinstance(p, Mapping)},
    }


def patient_summary(summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """patientSummary.v1 of a stored summary `{"cgm", "bgm", "dates"}`."""
    summary = summary or {}
    dates = summary.get("dates") or {}
    return {
        "cgmStats": stats(summary.get("cgm"), dates, cgm=True),
        "bgmStats": stats(summary.get("bgm"), dates, cgm=False),
    }


def patient(user_id: str, full_name: str, created: str, summary: Mapping[str, Any] | None):
    """patient.v1. Tidewater keeps no birth date, email or tags of a clinic's patients:
    `birthDate` is absent (docs/tidepool-compatibility.md), `tags` empty. `createdTime` is
    the account's; `updatedTime` the summary's, when there is one."""
    summary = summary or {}
    updated = (summary.get("dates") or {}).get("lastUpdatedDate") or created
    return {
        "id": user_id,
        "userId": user_id,
        "fullName": full_name,
        "tags": [],
        "permissions": {"view": {}},
        "connectionRequests": {},
        "createdTime": created,
        "updatedTime": updated,
        "summary": patient_summary(summary),
    }


def clinic(record: Mapping[str, Any]) -> dict[str, Any]:
    """clinic.v1 of a clinic's record. `shareCode` only where one was just made (POST):
    Tidewater's clinic codes are single-use (POST /v1/clinics/{clinicId}/share_codes)."""
    created = str(record.get("createdTime") or "")
    shown = dict(record)
    shown.update(
        {
            "canMigrate": False,
            "createdTime": created,
            "updatedTime": str(record.get("updatedTime") or created),
            "tier": TIER,
            "tierDescription": TIER_DESCRIPTION,
            "preferredBgUnits": record.get("preferredBgUnits") or PREFERRED_BG_UNITS[0],
        }
    )
    return shown


def clinician(user_id: str, email: str, name: str, admin: bool, created: str) -> dict[str, Any]:
    """clinician.v1: Tidepool's roles are CLINIC_ADMIN or CLINIC_MEMBER."""
    return {
        "id": user_id,
        "email": email,
        "name": name,
        "roles": ["CLINIC_ADMIN"] if admin else ["CLINIC_MEMBER"],
        "createdTime": created,
        "updatedTime": created,
    }


def window(items: list[Any], params: Mapping[str, str], default_limit: int) -> list[Any]:
    """`offset` and `limit` over a short list read whole (a person's clinics)."""
    offset = _whole(params, "offset", 0, 0, 1_000_000)
    limit = _whole(params, "limit", default_limit, 1, 1000)
    return items[offset : offset + limit]


# TIDE: Tidepool's names of Tidewater's categories (domain/clinic/tide.py), in their order.
_TIDE_NAMES: Final = {"timeCGMUsePercentLessThan70": "timeCGMUsePercent"}


def tide_category(name: str) -> str:
    return _TIDE_NAMES.get(name, name)


def tide_category_names() -> list[str]:
    from tidewater.domain.clinic.tide import TIDE_CATEGORIES

    return [tide_category(c.name) for c in TIDE_CATEGORIES]


def _bound(value: float) -> str:
    return f"{value:g}"


def tide_filters() -> dict[str, str]:
    """tideFilters.v1: each category's condition as Tidepool writes it (a drop in time in
    target as a positive number; meeting targets as the time in target below which a patient
    does not)."""
    from tidewater.domain.clinic.tide import TIDE_CATEGORIES

    filters: dict[str, str] = {}
    for category in TIDE_CATEGORIES:
        first = category.conditions[0]
        name = tide_category(category.name)
        if name == "dropInTimeInTargetPercent":
            filters[name] = f">{_bound(-first.bound)}"
        elif name == "meetingTargets":
            filters["timeInTargetPercent"] = f"<{_bound(first.bound)}"
        else:
            filters[name] = f"{first.op}{_bound(first.bound)}"
    return filters


def tide_config(clinic_id: str, period: str, cutoff: str | None, tags: list[str]) -> dict[str, Any]:
    """tideConfig.v1: what the report was made with."""
    config: dict[str, Any] = {
        "schemaVersion": TIDE_SCHEMA_VERSION,
        "clinicId": clinic_id,
        "period": period,
        **GLUCOSE_THRESHOLDS,
        "tags": tags,
        "filters": tide_filters(),
    }
    if cutoff:
        config["lastDataCutoff"] = cutoff
    return config
