"""Clinics: members, shared patients, share codes, patient lists and TIDE triage."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from tidewater.domain import clinic
from tidewater.domain.cursor import open_cursor, sign_cursor
from tidewater.domain.errors import BadRequest, Conflict, Forbidden, InvalidData, NotFound, Problem
from tidewater.domain.identity import Caller, Role, Via
from tidewater.domain.summary import last_data
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
def create_clinic(caller: Caller, body: Any, repos: Repositories, now: datetime) -> dict[str, Any]:
    _session(caller)
    if caller.role != Role.CLINICIAN:
        raise Forbidden("only clinicians create clinics")
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidData(
            [
                Problem(
                    "/name",
                    "value-not-valid",
                    "invalid name",
                    "a clinic name of 1 to 200 characters is required",
                )
            ]
        )
    clinic_id = secrets.token_hex(12)
    record = {"name": name.strip(), "createdTime": format_utc(now)}
    repos.clinics.create(clinic_id, record, caller.user_id)
    return {"id": clinic_id, **record}


def get_clinic(caller: Caller, clinic_id: str, repos: Repositories) -> dict[str, Any]:
    _member(caller, clinic_id, repos)
    return repos.clinics.get(clinic_id)


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
) -> tuple[list[dict[str, Any]], str | None]:
    _member(caller, clinic_id, repos)
    query = clinic.parse_patient_query(params)
    bound_to = query.cursor_scope(clinic_id)
    key = repos.secrets.cursor_key()
    state = open_cursor(query.cursor, bound_to, key) if query.cursor else None
    entries, next_state = repos.clinics.page(clinic_id, query, state)
    cursor = sign_cursor(next_state, bound_to, key) if next_state is not None else None
    return entries, cursor


def tide_report(
    caller: Caller, clinic_id: str, params: dict[str, str], repos: Repositories
) -> dict[str, Any]:
    _member(caller, clinic_id, repos)
    problems: list[Problem] = []
    period = clinic.parse_period(params, problems)
    if problems:
        raise InvalidData(problems)
    cutoff = params.get("lastDataCutoff")
    patients: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for entry in repos.clinics.all_rows(clinic_id, period):
        listed: dict[str, Any] = {
            k: entry[k] for k in ("userId", "fullName", "lastData") if k in entry
        }
        recent = not cutoff or (entry.get("lastData") or "") >= cutoff
        patients.append((listed, entry.get("cgm") if recent else None))
    report = clinic.tide_report(patients)
    return {
        "period": period,
        "lastDataCutoff": cutoff,
        "categories": report.categories,
        "noData": report.no_data,
    }
