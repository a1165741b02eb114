"""Clinics against moto: membership, sharing, and patient lists sorted and filtered by
summary metrics, checked against a brute-force sort of the same patients."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import SharedWorld, clinic_share_code, sign_up_as
from tests.synthetic import random_summary
from tidewater.domain import clinic
from tidewater.domain.errors import BadRequest, Forbidden, InvalidData
from tidewater.domain.identity import Caller, Via
from tidewater.services import auth, clinics
from tidewater.store import keys
from tidewater.store.models import ClinicModel
from tidewater.store.repos import repositories

PASSWORD = "Correct-horse-9-battery"
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def _account(name: str, role: str) -> Caller:
    body = {"email": f"{name}@example.org", "password": PASSWORD, "fullName": name}
    return Caller(sign_up_as(body, role).user_id, role, Via.SESSION)


def _clinic(owner: Caller, name: str = "Seastar") -> str:
    return str(clinics.create_clinic(owner, {"name": name}, repositories(), NOW)["id"])


def _seed() -> dict[str, Any]:
    repos = repositories()
    doctor = _account("doctor", "clinician")
    clinic_id = _clinic(doctor)
    rng = random.Random(7)
    rows, summaries = [], {}
    for n in range(37):
        user_id = f"{n:010x}"
        summary = None if n % 12 == 0 else random_summary(rng)
        summaries[user_id] = summary
        name = rng.choice(["ann", "Bob", "cy", "Dee", "eve"]) + f" {n}"
        rows += clinics.patient_rows(clinic_id, user_id, name, summary)
    repos.clinics.put_rows(rows)
    for user_id in summaries:  # the membership rows (these patients have no accounts)
        ClinicModel(clinic_id, keys.clinic_patient_sk(user_id), member_id=user_id, body={}).save()
    entries = {r.user_id: r.entry for r in rows if r.period == "14d"}
    return {"doctor": doctor, "clinic": clinic_id, "entries": entries}


@pytest.fixture(scope="module")
def clinic_world(aws_session) -> SharedWorld[dict[str, Any]]:
    """A clinic of 37 patients with varied summaries (a few with none at all), built once."""
    return aws_session.build("clinics", _seed)


@pytest.fixture
def seeded(clinic_world) -> Iterator[dict[str, Any]]:
    """The clinic, as built: what a test writes is gone before the next one."""
    with clinic_world.visit() as world:
        yield world


def _all_pages(doctor: Caller, clinic_id: str, params: dict[str, str]) -> list[dict[str, Any]]:
    seen, cursor = [], None
    for _ in range(100):
        page_params = {**params, **({"cursor": cursor} if cursor else {})}
        entries, meta = clinics.list_patients(doctor, clinic_id, page_params, repositories())
        cursor = meta.get("cursor")
        seen += entries
        if cursor is None:
            return seen
    raise AssertionError("the list never ended")


def _expected(
    entries: dict[str, dict[str, Any]],
    metric: str,
    descending: bool,
    filters: list[clinic.Filter] = (),
) -> list[tuple[Any, str]]:
    kept = [
        e
        for e in entries.values()
        if all(clinic.matches(e["metrics"].get(f.metric), f) for f in filters)
    ]
    with_value = sorted((e["metrics"][metric], e["userId"]) for e in kept if metric in e["metrics"])
    if descending:
        with_value.reverse()
    without = [(None, e["userId"]) for e in kept if metric not in e["metrics"]]
    return with_value + without


def _same_order(got: list[dict[str, Any]], expected: list[tuple[Any, str]], metric: str) -> None:
    """Same patients, each once, and the same sequence of values (ties in any order)."""
    ids = [e["userId"] for e in got]
    assert len(ids) == len(set(ids)), "a patient appeared twice"
    assert sorted(ids) == sorted(u for _, u in expected), "a patient is missing or extra"
    assert [e["metrics"].get(metric) for e in got] == [v for v, _ in expected]


@pytest.mark.parametrize(
    "metric",
    [
        *(m.name for m in clinic.INDEXED_METRICS),
        "cgm.timeInHighPercentDelta",
        "bgm.timeInTargetPercentDelta",
    ],
)
@pytest.mark.parametrize("descending", [False, True])
def test_sorted_lists_match_a_brute_force_sort(seeded, metric, descending) -> None:
    sort = ("-" if descending else "+") + metric
    got = _all_pages(seeded["doctor"], seeded["clinic"], {"sort": sort, "limit": "7"})
    _same_order(got, _expected(seeded["entries"], metric, descending), metric)


def test_an_unindexed_sort_of_a_large_list_is_refused_not_truncated(seeded, monkeypatch) -> None:
    # The clinic has 37 patients: with the cap one below that, the list is "large".
    from tidewater.domain.errors import BadRequest
    from tidewater.store import clinics as clinic_store

    params = {"sort": "-cgm.timeInHighPercentDelta", "limit": "7"}
    monkeypatch.setattr(clinic_store, "UNINDEXED_SORT_MAX", 37)
    assert len(_all_pages(seeded["doctor"], seeded["clinic"], params)) == 37  # at the cap
    monkeypatch.setattr(clinic_store, "UNINDEXED_SORT_MAX", 36)
    with pytest.raises(BadRequest) as refused:
        clinics.list_patients(seeded["doctor"], seeded["clinic"], params, repositories())
    assert refused.value.parameter == "sort" and refused.value.code == "sort-not-indexed"
    assert "cgm.timeInVeryLowPercent" in refused.value.detail  # the sorts that are indexed
    indexed = {**params, "sort": "-cgm.timeInVeryLowPercent"}
    assert len(_all_pages(seeded["doctor"], seeded["clinic"], indexed)) == 37


@pytest.mark.parametrize(
    ("sort", "filters"),
    [
        ("-cgm.timeInVeryLowPercent", {"cgm.timeInVeryLowPercent": ">0.3"}),
        (
            "+cgm.timeInVeryLowPercent",
            {"cgm.timeInVeryLowPercent": ">=0.3", "cgm.timeCGMUsePercent": "<0.8"},
        ),
        (
            "-cgm.averageGlucoseMmol",
            {"cgm.timeInAnyLowPercent": ">0.04", "cgm.timeInTargetPercentDelta": "<-0.05"},
        ),
        ("+fullName", {"bgm.averageGlucoseMmol": "<=9.5"}),
        ("-cgm.timeInHighPercentDelta", {"cgm.timeInHighPercent": ">0.5"}),
    ],
)
def test_filters_keep_exactly_the_matching_patients(seeded, sort, filters) -> None:
    got = _all_pages(seeded["doctor"], seeded["clinic"], {"sort": sort, "limit": "5", **filters})
    parsed = clinic.parse_patient_query(filters).filters
    metric = sort.lstrip("+-")
    _same_order(
        got, _expected(seeded["entries"], metric, sort.startswith("-"), list(parsed)), metric
    )


def test_a_tampered_or_foreign_cursor_is_400(seeded) -> None:
    doctor, clinic_id = seeded["doctor"], seeded["clinic"]
    _, meta = clinics.list_patients(doctor, clinic_id, {"limit": "5"}, repositories())
    cursor = meta["cursor"]
    with pytest.raises(BadRequest):
        clinics.list_patients(
            doctor, clinic_id, {"limit": "5", "cursor": cursor[:-3] + "xyz"}, repositories()
        )
    with pytest.raises(BadRequest):  # a cursor of another list (other sort) does not fit
        clinics.list_patients(
            doctor, clinic_id, {"sort": "-lastData", "cursor": cursor}, repositories()
        )


def test_only_the_clinics_clinicians_see_its_list(seeded) -> None:
    outsider = _account("outsider", "clinician")
    patient = _account("pat", "patient")
    for caller in (outsider, patient):
        with pytest.raises(Forbidden):
            clinics.list_patients(caller, seeded["clinic"], {}, repositories())


def test_sharing_by_share_code_and_unsharing_take_effect_at_once(aws) -> None:
    repos = repositories()
    doctor, patient = _account("doctor", "clinician"), _account("pat", "patient")
    clinic_id = _clinic(doctor)
    with pytest.raises(Forbidden):  # no code: the clinician cannot add the patient
        clinics.share_patient(doctor, clinic_id, patient.user_id, {}, repos, NOW)
    code = clinics.create_share_code(patient, patient.user_id, repos, NOW)["shareCode"]
    with pytest.raises(Forbidden):  # another patient's code does not fit
        clinics.share_patient(doctor, clinic_id, "0000000000", {"shareCode": code}, repos, NOW)
    clinics.share_patient(doctor, clinic_id, patient.user_id, {"shareCode": code}, repos, NOW)
    listed, _ = clinics.list_patients(doctor, clinic_id, {}, repos)
    assert [e["userId"] for e in listed] == [patient.user_id]
    assert auth.profile(doctor, patient.user_id, repos).user_id == patient.user_id

    clinics.unshare_patient(patient, clinic_id, patient.user_id, repos)
    assert clinics.list_patients(doctor, clinic_id, {}, repos)[0] == []
    with pytest.raises(Forbidden):
        auth.profile(doctor, patient.user_id, repos)


def test_an_expired_share_code_does_not_work(aws) -> None:
    repos = repositories()
    doctor, patient = _account("doctor", "clinician"), _account("pat", "patient")
    clinic_id = _clinic(doctor)
    code = clinics.create_share_code(patient, patient.user_id, repos, NOW)["shareCode"]
    later = NOW.replace(month=12)
    with pytest.raises(Forbidden):
        clinics.share_patient(doctor, clinic_id, patient.user_id, {"shareCode": code}, repos, later)


def test_removing_a_clinician_takes_effect_at_once(aws) -> None:
    repos = repositories()
    admin, colleague, patient = (
        _account("admin", "clinician"),
        _account("col", "clinician"),
        _account("pat", "patient"),
    )
    clinic_id = _clinic(admin)
    clinics.share_patient(
        patient, clinic_id, patient.user_id, clinic_share_code(clinic_id), repos, NOW
    )
    with pytest.raises(Forbidden):  # not yet a member
        clinics.list_patients(colleague, clinic_id, {}, repos)
    clinics.add_clinician(admin, clinic_id, colleague.user_id, {}, repos)
    assert len(clinics.list_patients(colleague, clinic_id, {}, repos)[0]) == 1
    assert auth.profile(colleague, patient.user_id, repos)
    with pytest.raises(Forbidden):  # only admins manage members
        clinics.add_clinician(colleague, clinic_id, colleague.user_id, {"admin": True}, repos)
    clinics.remove_clinician(admin, clinic_id, colleague.user_id, repos)
    with pytest.raises(Forbidden):
        clinics.list_patients(colleague, clinic_id, {}, repos)
    with pytest.raises(Forbidden):
        auth.profile(colleague, patient.user_id, repos)
    with pytest.raises(BadRequest):  # the last admin stays
        clinics.remove_clinician(admin, clinic_id, admin.user_id, repos)


def test_a_clinician_of_clinic_a_gets_403_for_clinic_b(aws) -> None:
    repos = repositories()
    doctor_a, doctor_b = _account("a", "clinician"), _account("b", "clinician")
    patient_b = _account("pb", "patient")
    clinic_a, clinic_b = _clinic(doctor_a, "A"), _clinic(doctor_b, "B")
    clinics.share_patient(
        patient_b, clinic_b, patient_b.user_id, clinic_share_code(clinic_b), repos, NOW
    )
    assert clinics.get_clinic(doctor_a, clinic_a, repos)["name"] == "A"
    with pytest.raises(Forbidden):
        clinics.get_clinic(doctor_a, clinic_b, repos)
    with pytest.raises(Forbidden):
        clinics.tide_report(doctor_a, clinic_b, {}, repos)
    with pytest.raises(Forbidden):
        auth.profile(doctor_a, patient_b.user_id, repos)


def test_patients_and_researchers_cannot_create_clinics(aws) -> None:
    for role in ("patient", "researcher"):
        with pytest.raises(Forbidden):
            _clinic(_account(role, role))
    with pytest.raises(InvalidData):
        clinics.create_clinic(_account("doc", "clinician"), {"name": " "}, repositories(), NOW)


def test_tide_report_puts_each_patient_in_one_category(seeded) -> None:
    report = clinics.tide_report(
        seeded["doctor"], seeded["clinic"], {"period": "14d"}, repositories()
    )
    results = report["results"]  # Tidepool's shape: the categories, then noData
    placed = [r["patient"]["id"] for name, rows in results.items() if name != "noData"
              for r in rows]  # fmt: skip
    no_data = [r["patient"]["id"] for r in results["noData"]]
    assert len(placed) == len(set(placed))
    assert not set(placed) & set(no_data)
    assert sorted(no_data) == sorted(u for u, e in seeded["entries"].items() if "cgm" not in e)


@pytest.mark.parametrize("raw", ["true", "[]", "3", '"admin"', "null"])
def test_a_body_that_is_not_an_object_grants_nothing(aws, lambda_context, raw) -> None:
    """`true` (or any JSON that is not an object) where the grant's object is taken is a 400
    at the whole body, not a grant with every default; and nothing is granted."""
    import json

    from functions.clinic import app
    from tests.integration.ingest_support import event

    repos = repositories()
    admin, colleague = _account("adm", "clinician"), _account("new", "clinician")
    clinic_id = _clinic(admin)
    route = "/v1/clinics/{clinicId}/clinicians/{userId}"
    path = f"/v1/clinics/{clinic_id}/clinicians/{colleague.user_id}"
    params = {"clinicId": clinic_id, "userId": colleague.user_id}
    built = event("POST", route, path, caller=admin, params=params, raw_body=raw)
    answer = app.handler(built, lambda_context)
    if raw == "null":  # JSON's null is no body: the grant's defaults, as an empty body
        assert answer["statusCode"] == 200
        assert len(clinics.list_patients(colleague, clinic_id, {}, repos)[0]) == 0
        return
    assert answer["statusCode"] == 400, answer
    (error,) = json.loads(answer["body"])["errors"]
    assert error["code"] == "type-not-valid" and error["source"] == {"pointer": ""}
    with pytest.raises(Forbidden):  # not made a member
        clinics.list_patients(colleague, clinic_id, {}, repos)
