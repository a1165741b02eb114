"""Clinics: members, shared patients, share codes, patient lists and TIDE triage."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from tidewater.domain import clinic
from tidewater.domain.errors import BadRequest, Conflict, Forbidden, InvalidData, NotFound, Problem
from tidewater.domain.identity import Caller, Role, Via
from tidewater.domain.timeutil import format_utc
from tidewater.store import keys
from tidewater.store.repos import Repositories

SHARE_CODE_DAYS = 7
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
def _last_data(summary: dict[str, Any]) -> str | None:
    dates = [
        ((summary.get(kind) or {}).get("dates") or {}).get("lastData") for kind in clinic.KINDS
    ]
    present = [d for d in dates if d]
    return max(present) if present else None


def patient_rows(
    clinic_id: str, user_id: str, full_name: str, summary: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The patient's row in each of the clinic's four lists (one per period): the entry a
    list shows, and the metrics it sorts and filters on."""
    summary = summary or {}
    rows = []
    for period in clinic.PERIODS:
        periods = {
            kind: ((summary.get(kind) or {}).get("periods") or {}).get(period)
            for kind in clinic.KINDS
        }
        metrics: dict[str, Any] = {
            name: clinic.metric_value(periods[name.split(".", 1)[0]], name.split(".", 1)[1])
            for name in clinic.all_metric_names()
        }
        metrics = {k: v for k, v in metrics.items() if v is not None}
        metrics["fullName"] = full_name.casefold()
        last_data = _last_data(summary)
        if last_data:
            metrics["lastData"] = last_data
        entry: dict[str, Any] = {
            "userId": user_id,
            "fullName": full_name,
            "period": period,
            "metrics": metrics,
        }
        if last_data:
            entry["lastData"] = last_data
        entry.update({kind: p for kind, p in periods.items() if p})
        rows.append(
            {
                "clinicPeriod": keys.clinic_period(clinic_id, period),
                "userId": user_id,
                "entry": entry,
                "metrics": metrics,
            }
        )
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
def create_share_code(
    caller: Caller, user_id: str, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """A code the patient gives a clinic (in person, by phone) so that it can add them."""
    _session(caller)
    if caller.user_id != user_id or caller.role != Role.PATIENT:
        raise Forbidden("patients create share codes for themselves")
    expires = now + timedelta(days=SHARE_CODE_DAYS)
    for _ in range(5):  # 30^10 codes: a clash is rare, and answered by another draw
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        try:
            repos.clinics.save_share_code(code, user_id, int(expires.timestamp()))
        except Conflict:
            continue
        return {"shareCode": code, "expiresAt": format_utc(expires)}
    raise Conflict("no share code could be drawn", code="code-taken")


def share_patient(
    caller: Caller, clinic_id: str, user_id: str, body: Any, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """The patient shares with a clinic, or a clinician of it adds the patient with the
    patient's share code."""
    _session(caller)
    if caller.user_id == user_id and caller.role == Role.PATIENT:
        repos.clinics.get(clinic_id)  # 404 for a clinic that does not exist
    else:
        _member(caller, clinic_id, repos)
        code = body.get("shareCode") if isinstance(body, dict) else None
        owner = (
            repos.clinics.share_code_owner(str(code).upper(), int(now.timestamp()))
            if code
            else None
        )
        if owner != user_id:
            raise Forbidden("a valid share code from the patient is required")
    listing = repos.accounts.listing(user_id)
    repos.clinics.add_patient(
        clinic_id, user_id, patient_rows(clinic_id, user_id, listing.full_name, listing.summary)
    )
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
    key = repos.secrets.cursor_key()
    state = None
    if query.cursor:
        try:
            opened = clinic.open_cursor(query.cursor, key)
        except clinic.BadCursor:
            raise BadRequest(
                "the cursor is not valid for this list", code="cursor-not-valid"
            ) from None
        if opened.get("list") != [clinic_id, query.fingerprint()]:
            raise BadRequest("the cursor is not valid for this list", code="cursor-not-valid")
        state = opened.get("state")
    entries, next_state = repos.clinics.page(clinic_id, query, state)
    cursor = (
        clinic.sign_cursor({"list": [clinic_id, query.fingerprint()], "state": next_state}, key)
        if next_state is not None
        else None
    )
    return entries, cursor


def tide_report(
    caller: Caller, clinic_id: str, params: dict[str, str], repos: Repositories
) -> dict[str, Any]:
    _member(caller, clinic_id, repos)
    period = params.get("period", clinic.DEFAULT_PERIOD)
    if period not in clinic.PERIODS:
        raise InvalidData(
            [
                Problem(
                    "/period",
                    "value-not-valid",
                    "invalid period",
                    "period is one of 1d, 7d, 14d, 30d",
                )
            ]
        )
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
