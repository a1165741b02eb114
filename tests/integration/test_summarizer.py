"""The batch summariser against moto: uploads mark accounts, iterations summarise them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import clinic_share_code, sign_up_as
from tidewater.domain.identity import Caller, Via
from tidewater.domain.summary import summarize
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import auth, clinics, ingest, summarizer
from tidewater.services.summaries import get_summary
from tidewater.store.accounts import Finished
from tidewater.store.repos import build, repositories

PASSWORD = "Correct-horse-9-battery"
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)


def _patient(name: str) -> Caller:
    body = {
        "email": f"{name}@example.org",
        "password": PASSWORD,
        "fullName": name,
        "role": "patient",
    }
    return Caller(auth.sign_up(body, repositories(), utcnow()).user_id, "patient", Via.SESSION)


def _cbg(at: datetime, mmol: float = 5.0) -> dict[str, Any]:
    return {
        "type": "cbg",
        "units": "mmol/L",
        "value": mmol,
        "time": format_utc(at),
        "deviceId": "DexG6_1",
    }


def _upload(caller: Caller, datums: list[dict[str, Any]]) -> str:
    dataset = ingest.create_dataset(
        caller, caller.user_id, {"client": {"name": "t"}}, repositories()
    )
    ingest.upload(caller, dataset.id, datums, repositories())
    return dataset.id


def _day_of_cgm(start: datetime, mmol: float = 5.0) -> list[dict[str, Any]]:
    return [_cbg(start + timedelta(minutes=5 * n), mmol) for n in range(288)]


def test_a_day_of_cgm_is_summarised_by_the_next_iteration(aws) -> None:
    patient = _patient("pat")
    _upload(patient, _day_of_cgm(START))
    marked = get_summary(patient, patient.user_id, repositories())
    assert "outdatedSince" in marked["dates"] and "cgm" not in marked

    result = summarizer.run_iteration(repositories())
    assert (result.summarized, result.failed) == (1, 0)
    summary = get_summary(patient, patient.user_id, repositories())
    day = summary["cgm"]["periods"]["1d"]
    # 24 h of 5-min readings at 5.0 mmol/L, worked by hand (DESIGN.md, the spec):
    assert day["total"]["records"] == 288 and day["total"]["minutes"] == 1440
    assert day["timeCGMUsePercent"] == 1.0
    assert day["glucoseManagementIndicator"] == 5.5  # 0.09148*(12.71+4.70587*5)+2.152=5.467
    assert summary["cgm"]["periods"]["7d"]["timeCGMUsePercent"] == pytest.approx(1 / 7)
    assert "outdatedSince" not in summary["dates"]
    assert summary["dates"]["lastData"] == format_utc(START + timedelta(minutes=5 * 287))
    assert summary["bgm"] == {"dates": {}, "periods": {}}


def test_a_summarised_account_s_updates_never_send_its_summary_back(aws) -> None:
    """The lease is taken and the summary stored in one UpdateItem each. Storing the summary
    asks for nothing back: the summariser has just computed it (PynamoDB's `update` asks for
    the whole item, the summary in it, and decodes all of it). The summary stored is the
    second day's."""
    from tidewater.store.models import AccountModel

    patient = _patient("pat")
    _upload(patient, _day_of_cgm(START))
    summarizer.run_iteration(repositories())  # the first summary is stored
    _upload(patient, _day_of_cgm(START + timedelta(days=1)))
    client = AccountModel._get_connection().connection.client
    answers: list[dict[str, Any]] = []

    def seen(parsed: dict[str, Any], **_: Any) -> None:
        answers.append(parsed)

    client.meta.events.register("after-call.dynamodb.UpdateItem", seen)
    try:
        result = summarizer.run_iteration(repositories())
    finally:
        client.meta.events.unregister("after-call.dynamodb.UpdateItem", seen)
    assert (result.summarized, result.failed) == (1, 0)
    assert len(answers) == 2  # the lease, then the summary stored
    assert "Attributes" in answers[0]  # the lease reads the work from the item
    assert answers[1].get("Attributes") is None
    summary = get_summary(patient, patient.user_id, repositories())
    assert summary["cgm"]["periods"]["1d"]["total"]["records"] == 288
    assert summary["dates"]["lastData"] == format_utc(START + timedelta(days=1, minutes=5 * 287))


def test_incremental_summary_equals_a_full_recompute(aws) -> None:
    patient = _patient("pat")
    first = _day_of_cgm(START, 6.0)
    _upload(patient, first)
    summarizer.run_iteration(repositories())
    later = [_cbg(START + timedelta(days=1, minutes=5 * n), 9.0 + n % 7) for n in range(30)]
    meter = [
        {
            "type": "smbg",
            "units": "mg/dL",
            "value": 140,
            "deviceId": "meter",
            "time": format_utc(START + timedelta(hours=h)),
        }
        for h in (3, 9, 20)
    ]
    _upload(patient, later + meter)
    assert summarizer.run_iteration(repositories()).summarized == 1
    stored = get_summary(patient, patient.user_id, repositories())
    expected = summarize(first + later + meter)  # everything at once, in memory
    assert stored["cgm"] == expected["cgm"]
    assert stored["bgm"] == expected["bgm"]


@pytest.mark.parametrize("stored_as", ["packed", "before_samples_were_packed", "sharing_a_time"])
def test_the_summariser_reads_packed_samples_and_the_bodies_only_where_it_must(
    aws, monkeypatch, stored_as: str
) -> None:
    """A first summary and an update, of CGM and BGM, equal a full recompute in memory
    however the datums were stored. Packed, no body is read but the newest datum's (the
    window's end); stored before samples were packed (no `sample`), or two at one time (only
    the bodies say which comes first), the bodies are read."""
    from tidewater.store import datums as store

    if stored_as == "before_samples_were_packed":
        monkeypatch.setattr(store, "packed_sample", lambda datum: None)
    patient = _patient("pat")
    first = _day_of_cgm(START, 6.0)
    if stored_as == "sharing_a_time":
        first.append({**_cbg(START + timedelta(hours=5), 11.0), "deviceId": "DexG7_2"})
    _upload(patient, first)
    client = repositories().datums.client
    bodies_read: list[int] = []

    def query(params: dict[str, Any], **_: Any) -> None:
        if "body" in params.get("ExpressionAttributeNames", {}).values():
            bodies_read.append(params["Limit"])

    client.meta.events.register("provide-client-params.dynamodb.Query", query)
    try:
        assert summarizer.run_iteration(repositories()).summarized == 1
        later = [_cbg(START + timedelta(days=1, minutes=5 * n), 9.0 + n % 7) for n in range(30)]
        meter = [
            {"type": "smbg", "units": "mg/dL", "value": 140 + h, "deviceId": "meter",
             "time": format_utc(START + timedelta(hours=h))}
            for h in (3, 9, 20)
        ]  # fmt: skip
        _upload(patient, later + meter)
        assert summarizer.run_iteration(repositories()).summarized == 1
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Query", query)
    stored = get_summary(patient, patient.user_id, repositories())
    expected = summarize(first + later + meter)
    assert (stored["cgm"], stored["bgm"]) == (expected["cgm"], expected["bgm"])
    if stored_as == "sharing_a_time":  # the second sensor's reading is masked by the first's
        assert stored["cgm"] == summarize(first[:-1] + later)["cgm"]
    if stored_as == "packed":
        assert bodies_read and set(bodies_read) == {1}  # the newest datum, for the window
    else:
        assert 1000 in bodies_read


def test_oldest_outdated_first_and_at_most_batches_times_size(aws, monkeypatch) -> None:
    patients = [_patient(f"p{n}") for n in range(5)]
    for patient in patients:  # marked one after the other: p0 is the oldest
        _upload(patient, [_cbg(START)])
    settings = dataclasses.replace(repositories().settings, summary_batch_size=2, summary_batches=2)
    repos = build(settings)
    done: list[str] = []
    real = summarizer.summarize_account
    monkeypatch.setattr(
        summarizer,
        "summarize_account",
        lambda user_id, r, clock=None: done.append(user_id) or real(user_id, r),
    )
    result = summarizer.run_iteration(repos)
    assert (result.batches, result.summarized) == (2, 4)
    assert done == [p.user_id for p in patients[:4]]
    again = summarizer.run_iteration(repos)
    assert (again.batches, again.summarized) == (1, 1)  # caught up: stops early
    assert summarizer.run_iteration(repos).batches == 0


def test_an_upload_during_the_computation_leaves_the_account_outdated(aws, monkeypatch) -> None:
    patient = _patient("pat")
    _upload(patient, _day_of_cgm(START))
    real_finish = repositories().accounts.finish_summary
    # Meanwhile, a meter reading in an hour the summariser is reading already (its touched
    # period is in the set already: only the version shows that something came).
    reading = {
        "type": "smbg",
        "units": "mg/dL",
        "value": 140,
        "deviceId": "meter",
        "time": format_utc(START + timedelta(hours=5, minutes=2)),
    }

    def upload_meanwhile(work, document, now):  # type: ignore[no-untyped-def]
        _upload(patient, [reading])
        return real_finish(work, document, now)

    monkeypatch.setattr(repositories().accounts, "finish_summary", upload_meanwhile)
    assert summarizer.run_iteration(repositories()).summarized == 1
    assert "outdatedSince" in get_summary(patient, patient.user_id, repositories())["dates"]
    monkeypatch.undo()
    assert summarizer.run_iteration(repositories()).summarized == 1
    summary = get_summary(patient, patient.user_id, repositories())
    assert "outdatedSince" not in summary["dates"]
    assert summary["bgm"]["periods"]["30d"]["total"]["records"] == 1
    assert summary["cgm"]["periods"]["30d"]["total"]["records"] == 288


def test_one_failing_account_does_not_block_the_batch(aws, monkeypatch) -> None:
    good, bad = _patient("good"), _patient("bad")
    _upload(bad, [_cbg(START)])
    _upload(good, [_cbg(START)])
    real = summarizer.summarize_account

    def failing(user_id, repos, clock=None):  # type: ignore[no-untyped-def]
        if user_id == bad.user_id:
            raise RuntimeError("boom")
        return real(user_id, repos)

    monkeypatch.setattr(summarizer, "summarize_account", failing)
    result = summarizer.run_iteration(repositories())
    assert (result.summarized, result.failed) == (1, 1)
    assert "outdatedSince" in get_summary(bad, bad.user_id, repositories())["dates"]
    assert "cgm" in get_summary(good, good.user_id, repositories())


def test_a_held_lease_keeps_a_second_summariser_off(aws) -> None:
    patient = _patient("pat")
    _upload(patient, [_cbg(START)])
    accounts = repositories().accounts
    assert accounts.begin_summary(patient.user_id, 1_000, 60_000) is not None
    assert accounts.begin_summary(patient.user_id, 2_000, 60_000) is None
    assert accounts.begin_summary(patient.user_id, 62_000, 60_000) is not None  # ran out


def test_an_account_with_no_data_left_loses_its_summary(aws) -> None:
    patient = _patient("pat")
    dataset = _upload(patient, _day_of_cgm(START))
    summarizer.run_iteration(repositories())
    ingest.delete_dataset(patient, dataset, repositories())
    summarizer.run_iteration(repositories())
    summary = get_summary(patient, patient.user_id, repositories())
    assert "cgm" not in summary and "outdatedSince" not in summary["dates"]


def test_clinic_lists_follow_the_summary(aws) -> None:
    patient = _patient("pat")
    doctor = Caller(
        sign_up_as(
            {"email": "d@example.org", "password": PASSWORD, "fullName": "Doc"}, "clinician"
        ).user_id,
        "clinician",
        Via.SESSION,
    )
    clinic_id = clinics.create_clinic(doctor, {"name": "C"}, repositories(), utcnow())["id"]
    clinics.share_patient(patient, clinic_id, patient.user_id, clinic_share_code(clinic_id),
                          repositories(), utcnow())  # fmt: skip
    listed, _ = clinics.list_patients(doctor, clinic_id, {"period": "1d"}, repositories())
    assert "cgm" not in listed[0]
    _upload(patient, _day_of_cgm(START, 2.5))  # all very low
    summarizer.run_iteration(repositories())
    listed, _ = clinics.list_patients(
        doctor, clinic_id, {"period": "1d", "cgm.timeInVeryLowPercent": ">0.99"}, repositories()
    )
    assert [e["userId"] for e in listed] == [patient.user_id]
    assert listed[0]["cgm"]["inVeryLow"]["percent"] == 1.0


def test_a_summariser_whose_lease_ran_out_stores_nothing(aws) -> None:
    patient = _patient("pat")
    _upload(patient, [_cbg(START)])
    accounts = repositories().accounts
    late = accounts.begin_summary(patient.user_id, 1_000, 60_000)
    assert late is not None
    assert accounts.begin_summary(patient.user_id, 62_000, 60_000) is not None  # took over
    finished = accounts.finish_summary(late, {"cgm": {"stale": True}}, "2026-11-21T00:00:00.000Z")
    assert finished is Finished.LEASE_LOST
    summary = get_summary(patient, patient.user_id, repositories())
    assert "cgm" not in summary and "outdatedSince" in summary["dates"]
