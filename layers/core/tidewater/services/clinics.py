"""Clinics: members, shared patients, share codes, patient lists and TIDE triage."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from tidewater.domain import clinic, tidepool
from tidewater.domain.cursor import open_cursor, sign_cursor
from tidewater.domain.errors import BadRequest, Conflict, Forbidden, InvalidData, NotFound, Problem
from tidewater.domain.identity import Caller, Role, Via
from tidewater.domain.timeutil import format_utc
from tidewater.store.clinics import ShareCode
from tidewater.store.repos import Repositories

SHARE_CODE_DAYS = 7
MAX_SHARE_CODE = 32  # longer is no code of ours (ours have 10 characters)
# Crockford-style alphabet: no 0/O or 1/I/L to misread when a patient reads a code aloud.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def _session(caller: Caller) -> None:
    if caller.via is not Via.SESSION:
        raise Forbidden("clinics are managed with a session")


def _member(caller: Caller, clinic_id: str, repos: Repositories, admin: bool = False) -> None:
    """403 unless the caller is a clinician (an admin, if asked) of this clinic."""
    _session(caller)
    membership = repos.clinics.membership(clinic_id, caller.user_id)
    if membership is None or caller.role != Role.CLINICIAN:
        raise Forbidden("not a clinician of this clinic")
    if admin and not membership.admin:
        raise Forbidden("only the clinic's admins may do this")


# --------------------------------------------------------------------- rows of the lists
def patient_rows(
    clinic_id: str, user_id: str, full_name: str, summary: dict[str, Any] | None
) -> list[clinic.PatientRow]:
    """The patient's row in each of the clinic's four lists (one per period): the entry a
    list shows, and the metrics it sorts and filters on."""
    # Loaded here, by the summariser and a patient's joining: a list's reads never need it.
    from tidewater.domain.summary import last_data

    summary = summary or {}
    newest = last_data(summary)
    rows = []
    for period in clinic.PERIODS:
        periods = {
            kind: ((summary.get(kind) or {}).get("periods") or {}).get(period)
            for kind in clinic.KINDS
        }
        metrics: dict[str, Any] = {}
        for name in clinic.summary_metric_names():
            kind, metric = name.split(".", 1)
            value = clinic.metric_value(periods[kind], metric)
            if value is not None:
                metrics[name] = value
        metrics[clinic.FULL_NAME] = full_name.casefold()
        if newest:
            metrics[clinic.LAST_DATA] = newest
        entry: dict[str, Any] = {
            "userId": user_id,
            "fullName": full_name,
            "period": period,
            "metrics": metrics,
        }
        if newest:
            entry["lastData"] = newest
        entry.update({kind: p for kind, p in periods.items() if p})
        rows.append(clinic.PatientRow(clinic_id, period, user_id, entry, metrics))
    return rows


def refresh_patient_rows(
    user_id: str,
    full_name: str,
    summary: dict[str, Any] | None,
    clinic_ids: set[str],
    repos: Repositories,
) -> int:
    """Bring the patient's rows in every clinic they share with up to date (the summariser
    calls this when a summary changes): one BatchWriteItem for up to six clinics."""
    rows = [r for c in sorted(clinic_ids) for r in patient_rows(c, user_id, full_name, summary)]
    if rows:
        repos.clinics.put_rows(rows)
    return len(rows)


# --------------------------------------------------------------------- clinics and members
# Tidepool's clinic fields a clinic may be created with (clinic.v1.yaml), besides `name`.
_CLINIC_TEXT = ("address", "city", "postalCode", "state", "country", "website", "timezone")
_CLINIC_CHOICES = {
    "clinicType": (
        "provider_practice",
        "healthcare_system",
        "veterinary_clinic",
        "other",
        "researcher",
    ),
    "clinicSize": ("0-249", "250-499", "500-999", "1000+"),
    "preferredBgUnits": tidepool.PREFERRED_BG_UNITS,
}


def _clinic_fields(body: Any) -> dict[str, Any]:
    """The clinic's record from Tidepool's create body: every problem at once."""
    body = body if isinstance(body, dict) else {}
    problems = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append(
            Problem(
                "/name",
                "value-not-valid",
                "invalid name",
                "a clinic name of 1 to 200 characters is required",
            )
        )
    record: dict[str, Any] = {"name": name.strip() if isinstance(name, str) else ""}
    for field in _CLINIC_TEXT:
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 200:
            detail = f"{field} is text of at most 200 characters"
            problems.append(Problem(f"/{field}", "value-not-valid", f"invalid {field}", detail))
            continue
        record[field] = value
    for field, allowed in _CLINIC_CHOICES.items():
        value = body.get(field)
        if value is None:
            continue
        if value not in allowed:
            detail = f"{field} is one of " + ", ".join(allowed)
            problems.append(Problem(f"/{field}", "value-not-valid", f"invalid {field}", detail))
            continue
        record[field] = value
    if problems:
        raise InvalidData(problems)
    return record


def create_clinic(caller: Caller, body: Any, repos: Repositories, now: datetime) -> dict[str, Any]:
    """A new clinic, its creator its admin: Tidepool's clinic object, with a share code of
    the clinic's for its first patient (single-use, as every Tidewater share code)."""
    _session(caller)
    if caller.role != Role.CLINICIAN:
        raise Forbidden("only clinicians create clinics")
    record = _clinic_fields(body)
    clinic_id = secrets.token_hex(12)
    record["createdTime"] = format_utc(now)
    repos.clinics.create(clinic_id, record, caller.user_id)
    code = _draw_share_code(ShareCode(clinic_id=clinic_id), caller.user_id, repos, now)
    return {**tidepool.clinic({"id": clinic_id, **record}), "shareCode": code["shareCode"]}


def get_clinic(caller: Caller, clinic_id: str, repos: Repositories) -> dict[str, Any]:
    _member(caller, clinic_id, repos)
    return tidepool.clinic(repos.clinics.get(clinic_id))


def clinics_for_clinician(
    caller: Caller, user_id: str, email: str, params: dict[str, str], repos: Repositories
) -> list[dict[str, Any]]:
    """`[{"clinic", "clinician"}]` of each clinic the clinician (the caller) is a member of:
    one Query on `byMember`, one BatchGetItem of the records."""
    _session(caller)
    if caller.user_id != user_id:
        raise Forbidden("clinicians list their own clinics")
    memberships = repos.clinics.memberships_of(user_id, as_patient=False)
    records = repos.clinics.records(c for c, _ in memberships)
    name = repos.accounts.profile(user_id).full_name
    listed = [
        {
            "clinic": tidepool.clinic(records[clinic_id]),
            "clinician": tidepool.clinician(
                user_id,
                email,
                name,
                bool(body.get("admin")),
                str(records[clinic_id].get("createdTime") or ""),
            ),
        }
        for clinic_id, body in memberships
        if clinic_id in records
    ]
    return tidepool.window(listed, params, default_limit=1000)


def clinics_for_patient(
    caller: Caller, user_id: str, params: dict[str, str], repos: Repositories
) -> list[dict[str, Any]]:
    """`[{"clinic", "patient"}]` of each clinic the patient (the caller) shares with."""
    _session(caller)
    if caller.user_id != user_id:
        raise Forbidden("patients list their own clinics")
    memberships = repos.clinics.memberships_of(user_id, as_patient=True)
    records = repos.clinics.records(c for c, _ in memberships)
    profile, summary = repos.accounts.summaries([user_id]).get(user_id) or (None, {})
    if profile is None:
        raise NotFound("no such user")
    patient = tidepool.patient(user_id, profile.full_name, profile.created_time, summary)
    listed = [
        {"clinic": tidepool.clinic(records[clinic_id]), "patient": patient}
        for clinic_id, _ in memberships
        if clinic_id in records
    ]
    return tidepool.window(listed, params, default_limit=1000)


def get_patient(
    caller: Caller, clinic_id: str, user_id: str, repos: Repositories
) -> dict[str, Any]:
    """A patient of the clinic, as Tidepool's clinic service answers it (for its clinicians
    and the patient themself)."""
    _session(caller)
    if caller.user_id != user_id:
        _member(caller, clinic_id, repos)
    if not repos.clinics.is_patient(clinic_id, user_id):
        raise NotFound("not a patient of this clinic")
    profile, summary = repos.accounts.summaries([user_id]).get(user_id) or (None, {})
    if profile is None:
        raise NotFound("not a patient of this clinic")
    return tidepool.patient(user_id, profile.full_name, profile.created_time, summary)


def add_clinician(
    caller: Caller, clinic_id: str, user_id: str, body: Any, repos: Repositories
) -> dict[str, Any]:
    _member(caller, clinic_id, repos, admin=True)
    try:
        profile = repos.accounts.profile(user_id)
    except NotFound:
        raise NotFound("no such clinician") from None
    if profile.role != Role.CLINICIAN:
        raise InvalidData(
            [
                Problem(
                    "/userId",
                    "value-not-valid",
                    "not a clinician",
                    "only clinicians' accounts can join a clinic",
                )
            ]
        )
    admin = bool(body.get("admin")) if isinstance(body, dict) else False
    repos.clinics.add_clinician(clinic_id, user_id, admin)
    return {"clinicId": clinic_id, "userId": user_id, "admin": admin}


def remove_clinician(caller: Caller, clinic_id: str, user_id: str, repos: Repositories) -> None:
    _member(caller, clinic_id, repos, admin=True)
    if repos.clinics.admins(clinic_id) == [user_id]:
        raise BadRequest("a clinic keeps at least one admin", code="last-admin")
    repos.clinics.remove_clinician(clinic_id, user_id)


# --------------------------------------------------------------------- sharing
def _draw_share_code(
    owner: ShareCode, created_by: str, repos: Repositories, now: datetime
) -> dict[str, Any]:
    expires = now + timedelta(days=SHARE_CODE_DAYS)
    for _ in range(5):  # 30^10 codes: a clash is rare, and answered by another draw
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        try:
            repos.clinics.save_share_code(code, owner, created_by, int(expires.timestamp()))
        except Conflict:
            continue
        return {"shareCode": code, "expiresAt": format_utc(expires)}
    raise Conflict("no share code could be drawn", code="code-taken")


def create_share_code(
    caller: Caller, user_id: str, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """A single-use code the patient gives a clinic (in person, by phone) so that one of its
    clinicians can add them."""
    _session(caller)
    if caller.user_id != user_id or caller.role != Role.PATIENT:
        raise Forbidden("patients create share codes for themselves")
    return _draw_share_code(ShareCode(user_id=user_id), user_id, repos, now)


def create_clinic_share_code(
    caller: Caller, clinic_id: str, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """A single-use code a clinician of the clinic gives one patient, so that the patient
    can join the clinic (and share their data with it)."""
    _member(caller, clinic_id, repos)
    return _draw_share_code(ShareCode(clinic_id=clinic_id), caller.user_id, repos, now)


def _share_code_of(body: Any) -> str | None:
    """The body's `shareCode` as codes are stored (a code read aloud or typed may come in
    lower case or with spaces around it); None when there is none."""
    code = body.get("shareCode") if isinstance(body, dict) else None
    if code is None:
        return None
    if not isinstance(code, str):
        detail = "shareCode must be a string"
        raise InvalidData([Problem("/shareCode", "type-not-valid", "invalid share code", detail)])
    code = code.strip().upper()
    return code if 0 < len(code) <= MAX_SHARE_CODE else None


def share_patient(
    caller: Caller, clinic_id: str, user_id: str, body: Any, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """The patient joins a clinic with a share code of the clinic's, or a clinician of it
    adds the patient with a share code of the patient's. Either code works once."""
    _session(caller)
    code = _share_code_of(body)
    stamp = int(now.timestamp())
    joins = caller.user_id == user_id and caller.role == Role.PATIENT
    if joins:
        repos.clinics.get(clinic_id)  # 404 for a clinic that does not exist
    else:
        _member(caller, clinic_id, repos)
    opens = repos.clinics.share_code(code, stamp) if code else None
    valid = opens is not None and (
        opens.clinic_id == clinic_id if joins else opens.user_id == user_id
    )
    if code is None or not valid:
        whose = "clinic" if joins else "patient"
        raise Forbidden(f"a valid share code from the {whose} is required")
    listing = repos.accounts.listing(user_id)
    rows = patient_rows(clinic_id, user_id, listing.full_name, listing.summary)
    try:
        repos.clinics.add_patient(clinic_id, user_id, rows, code, stamp)
    except Conflict:  # another request used the code first
        raise Forbidden("this share code has been used") from None
    return {"clinicId": clinic_id, "userId": user_id}


def unshare_patient(caller: Caller, clinic_id: str, user_id: str, repos: Repositories) -> None:
    _session(caller)
    if caller.user_id != user_id:
        _member(caller, clinic_id, repos)
    if not repos.clinics.is_patient(clinic_id, user_id):
        raise NotFound("not a patient of this clinic")
    repos.clinics.remove_patient(clinic_id, user_id)


# --------------------------------------------------------------------- lists and triage
def list_patients(
    caller: Caller, clinic_id: str, params: dict[str, str], repos: Repositories
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A page of the clinic's patients in Tidepool's shape (each with its summary), and the
    page's `meta`: `count` (patients the filters and search keep), `totalCount` (all the
    clinic's patients), and `cursor` for the next page. `offset` reads `offset + limit` rows
    of the same Query and drops the first `offset`; the cursor resumes where a page ended."""
    _member(caller, clinic_id, repos)
    query = clinic.parse_patient_query(params)
    bound_to = query.cursor_scope(clinic_id)
    key = repos.secrets.cursor_key()
    state = open_cursor(query.cursor, bound_to, key) if query.cursor else None
    entries, next_state = repos.clinics.page(clinic_id, query, state)
    cursor = sign_cursor(next_state, bound_to, key) if next_state is not None else None
    accounts = repos.accounts.summaries([e["userId"] for e in entries])
    patients = []
    for entry in entries:
        profile, summary = accounts.get(entry["userId"]) or (None, None)
        created = profile.created_time if profile else ""
        shown = tidepool.patient(entry["userId"], entry.get("fullName", ""), created, summary)
        # Tidewater's own fields of the row as well: the period listed and its values.
        patients.append({**entry, **shown})
    total = repos.clinics.patient_count(clinic_id)
    filtered = bool(query.filters or query.search)
    meta: dict[str, Any] = {
        "count": repos.clinics.matching_count(clinic_id, query) if filtered else total,
        "totalCount": total,
    }
    if cursor:
        meta["cursor"] = cursor
    return patients, meta


_TIDE_FIELDS = (
    "averageGlucoseMmol",
    "glucoseManagementIndicator",
    "timeInVeryLowPercent",
    "timeInAnyLowPercent",
    "timeInLowPercent",
    "timeInTargetPercent",
    "timeInTargetPercentDelta",
    "timeInHighPercent",
    "timeInVeryHighPercent",
    "timeInExtremeHighPercent",
    "timeInAnyHighPercent",
    "timeCGMUsePercent",
    "timeCGMUseMinutes",
)


def _tide_patient(entry: dict[str, Any]) -> dict[str, Any]:
    """tideResultPatient.v1 of a row's entry."""
    shown: dict[str, Any] = {
        "patient": {"id": entry["userId"], "fullName": entry.get("fullName", ""), "tags": []}
    }
    values = tidepool.period(entry["cgm"], cgm=True) if entry.get("cgm") else {}
    shown.update({name: values[name] for name in _TIDE_FIELDS if name in values})
    if entry.get("lastData"):
        shown["lastData"] = entry["lastData"]
    return shown


def tide_report(
    caller: Caller, clinic_id: str, params: dict[str, str], repos: Repositories
) -> dict[str, Any]:
    """Tidepool's TIDE report (tideResponse.v1): the `config` it was made with and the
    `results` per category, worst first. Tidewater keeps no patient tags: `tags` is echoed
    and filters nothing."""
    _member(caller, clinic_id, repos)
    problems: list[Problem] = []
    period = clinic.parse_period(params, problems)
    asked = [c for c in (params.get("categories") or "").split(",") if c]
    known = tidepool.tide_category_names()
    if any(c not in known for c in asked):
        detail = "categories is a comma-separated list of: " + ", ".join(known)
        problems.append(
            Problem.query("categories", "value-not-valid", "invalid categories", detail)
        )
    exclude_no_data = (params.get("excludeNoData") or "false").lower()
    if exclude_no_data not in ("true", "false"):
        detail = "excludeNoData is true or false"
        problems.append(Problem.query("excludeNoData", "value-not-valid", "invalid value", detail))
    if problems:
        raise InvalidData(problems)
    cutoff = params.get("lastDataCutoff")
    patients: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for entry in repos.clinics.all_rows(clinic_id, period):
        listed: dict[str, Any] = {
            k: entry[k] for k in ("userId", "fullName", "lastData", "cgm") if k in entry
        }
        recent = not cutoff or (entry.get("lastData") or "") >= cutoff
        patients.append((listed, entry.get("cgm") if recent else None))
    report = clinic.tide_report(patients)
    by_name = {tidepool.tide_category(name): rows for name, rows in report.categories.items()}
    results = {name: [_tide_patient(row) for row in by_name[name]] for name in (asked or known)}
    if exclude_no_data != "true":
        results["noData"] = [_tide_patient(row) for row in report.no_data]
    tags = [t for t in (params.get("tags") or "").split(",") if t]
    config = tidepool.tide_config(clinic_id, period, cutoff, tags)
    return {"config": config, "results": results}
