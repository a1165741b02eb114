"""Share codes: a clinic's lets one patient join it, a patient's lets one clinician of a
clinic add them; each works once, until it expires, and a share that loses a race for its
code writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import sign_up_as
from tidewater.domain.errors import Conflict, Forbidden, InvalidData
from tidewater.domain.identity import Caller, Via
from tidewater.services import clinics
from tidewater.store.clinics import ClinicsRepository
from tidewater.store.models import AccountModel
from tidewater.store.repos import repositories

PASSWORD = "Correct-horse-9-battery"
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def _account(name: str, role: str = "patient") -> Caller:
    body = {"email": f"{name}@example.org", "password": PASSWORD, "fullName": name}
    return Caller(sign_up_as(body, role).user_id, role, Via.SESSION)


def _clinic() -> tuple[Caller, str]:
    doctor = _account("doctor", "clinician")
    return doctor, str(clinics.create_clinic(doctor, {"name": "C"}, repositories(), NOW)["id"])


def _patients(doctor: Caller, clinic_id: str) -> list[str]:
    listed, _ = clinics.list_patients(doctor, clinic_id, {}, repositories())
    return [entry["userId"] for entry in listed]


def test_a_clinic_code_lets_one_patient_in_once(aws) -> None:
    repos = repositories()
    doctor, clinic_id = _clinic()
    pat, sam = _account("pat"), _account("sam")
    code = clinics.create_clinic_share_code(doctor, clinic_id, repos, NOW)
    assert len(code["shareCode"]) == 10 and code["expiresAt"] == "2026-11-28T12:00:00.000Z"
    clinics.share_patient(pat, clinic_id, pat.user_id, code, repos, NOW)
    with pytest.raises(Forbidden):  # the same code again, for someone else
        clinics.share_patient(sam, clinic_id, sam.user_id, code, repos, NOW)
    assert _patients(doctor, clinic_id) == [pat.user_id]


def test_a_code_is_read_as_a_person_types_it(aws) -> None:
    repos = repositories()
    doctor, clinic_id = _clinic()
    pat = _account("pat")
    code = clinics.create_clinic_share_code(doctor, clinic_id, repos, NOW)["shareCode"]
    typed = {"shareCode": f"  {code.lower()} "}
    clinics.share_patient(pat, clinic_id, pat.user_id, typed, repos, NOW)
    assert _patients(doctor, clinic_id) == [pat.user_id]


@pytest.mark.parametrize("code", [7, ["K7MQ2XWPD9"], {"code": "x"}, True])
def test_a_code_that_is_not_a_string_is_400_at_its_pointer(aws, code) -> None:
    _, clinic_id = _clinic()
    pat = _account("pat")
    with pytest.raises(InvalidData) as raised:
        clinics.share_patient(pat, clinic_id, pat.user_id, {"shareCode": code}, repositories(), NOW)
    assert [p.pointer for p in raised.value.errors] == ["/shareCode"]


def test_a_clinic_code_expires_after_seven_days(aws) -> None:
    repos = repositories()
    doctor, clinic_id = _clinic()
    pat = _account("pat")
    code = clinics.create_clinic_share_code(doctor, clinic_id, repos, NOW)
    with pytest.raises(Forbidden):
        clinics.share_patient(pat, clinic_id, pat.user_id, code, repos, NOW + timedelta(days=7))
    assert _patients(doctor, clinic_id) == []


def test_only_the_clinics_clinicians_make_its_codes(aws) -> None:
    repos = repositories()
    _, clinic_id = _clinic()
    for caller in (_account("pat"), _account("other", "clinician"), _account("r", "researcher")):
        with pytest.raises(Forbidden):
            clinics.create_clinic_share_code(caller, clinic_id, repos, NOW)


def test_a_share_that_loses_the_race_for_its_code_writes_nothing(aws, monkeypatch) -> None:
    """Two requests with one code both find it (the GetItem before); the code is deleted in
    the share's own transaction, on condition it is still there: the second share fails
    whole, and is answered 403."""
    repos = repositories()
    doctor, clinic_id = _clinic()
    pat, sam = _account("pat"), _account("sam")
    code = clinics.create_clinic_share_code(doctor, clinic_id, repos, NOW)
    seen = repos.clinics.share_code(code["shareCode"], int(NOW.timestamp()))
    clinics.share_patient(pat, clinic_id, pat.user_id, code, repos, NOW)
    monkeypatch.setattr(ClinicsRepository, "share_code", lambda self, c, now: seen)
    with pytest.raises(Forbidden, match="used"):
        clinics.share_patient(sam, clinic_id, sam.user_id, code, repos, NOW)
    assert _patients(doctor, clinic_id) == [pat.user_id]
    assert not repos.clinics.is_patient(clinic_id, sam.user_id)
    assert not AccountModel.get(sam.user_id).clinic_ids


def test_the_store_refuses_a_used_code_with_a_conflict(aws) -> None:
    repos = repositories()
    doctor, clinic_id = _clinic()
    pat = _account("pat")
    code = clinics.create_clinic_share_code(doctor, clinic_id, repos, NOW)["shareCode"]
    stamp = int(NOW.timestamp())
    repos.clinics.add_patient(clinic_id, pat.user_id, [], code, stamp)
    repos.clinics.remove_patient(clinic_id, pat.user_id)
    with pytest.raises(Conflict) as raised:
        repos.clinics.add_patient(clinic_id, pat.user_id, [], code, stamp)
    assert raised.value.code == "share-code-used"
    assert not repos.clinics.is_patient(clinic_id, pat.user_id)
