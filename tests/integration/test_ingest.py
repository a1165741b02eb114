"""Uploads through the ingest handler, against moto: datasets, all or nothing, linking on
both paths, dedup, access, and the summary's out-of-date mark."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import load_event
from tests.integration.ingest_support import (
    ALICE,
    ALICE_NIGHTSCOUT,
    BOB,
    BOLUS,
    CAROL,
    CLIENT,
    EMBEDDED_BOLUS,
    SPEC_BOLUS_ID,
    SPEC_WIZARD_ID,
    STORED_WIZARD_VALUES,
    WIZARD,
    Api,
    basal,
    cbg,
    dynamodb_calls,
    invoke,
    smbg,
)
from tidewater.domain import datasets, outdated
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import ingest
from tidewater.store import keys
from tidewater.store.models import AccountModel, ClinicModel
from tidewater.store.repos import repositories

HEX32 = set("0123456789abcdef")


@pytest.fixture
def api(aws, lambda_context) -> Api:
    return Api(lambda_context)


def recent(minutes_ago: int) -> str:
    return format_utc(utcnow() - timedelta(minutes=minutes_ago))


def account(user_id: str = ALICE.user_id) -> AccountModel:
    return AccountModel.get(user_id, consistent_read=True)


# ------------------------------------------------------------------ datasets
def test_create_dataset_echoes_the_client_and_device(api) -> None:
    body = load_event("create_dataset.json")  # the event's caller creates their own
    status, answer = invoke(body, api.context)
    assert status == 201
    data = answer["data"]
    assert data["id"] == data["uploadId"] and len(data["id"]) == 32 and set(data["id"]) <= HEX32
    assert data["dataState"] == "open" and data["type"] == "upload"
    assert data["userId"] == body["pathParameters"]["userId"]
    sent = json.loads(body["body"])
    for key in ("client", "deviceId", "deviceManufacturers", "deviceModel", "deviceTags",
                "time", "timezoneOffset", "timeProcessing", "version"):  # fmt: skip
        assert data[key] == sent[key]
    assert data["deduplicator"] == datasets.DEFAULT_DEDUPLICATOR
    assert data["dataSetType"] == "normal"


def test_a_dataset_echoes_the_deduplicator_it_was_given(api) -> None:
    mine = {"name": "org.tidepool.deduplicator.dataset.delete.origin", "version": "1.0.0"}
    status, answer = api.create_dataset(body={**CLIENT, "deduplicator": mine,
                                              "dataSetType": "continuous"})  # fmt: skip
    assert status == 201
    assert answer["data"]["deduplicator"] == mine
    assert answer["data"]["dataSetType"] == "continuous"


def test_a_dataset_without_a_client_is_refused_with_pointers(api) -> None:
    status, answer = api.create_dataset(body={"dataSetType": "weekly", "deviceTags": ["toaster"]})
    assert status == 400
    pointers = {e["source"]["pointer"] for e in answer["errors"]}
    assert pointers == {"/client", "/dataSetType", "/deviceTags/0"}


def test_only_the_owner_creates_a_dataset(api) -> None:
    assert api.create_dataset(ALICE.user_id, caller=BOB)[0] == 403
    assert api.create_dataset(ALICE.user_id, caller=None)[0] == 401
    assert api.create_dataset(ALICE.user_id, caller=ALICE_NIGHTSCOUT)[0] == 401


# ------------------------------------------------------------------ upload
def test_upload_stores_every_datum_with_the_server_fields(api) -> None:
    dataset_id = api.new_dataset()
    datums = [cbg(recent(10)), smbg(recent(20)), basal(recent(30))]
    status, answer = api.upload(dataset_id, datums)
    assert status == 200
    assert answer == {"data": [], "meta": {"uploadId": dataset_id, "received": 3,
                                           "stored": 3, "kept": 0}}  # fmt: skip
    stored = api.read_all()
    assert sorted(d["type"] for d in stored) == ["basal", "cbg", "smbg"]
    for datum in stored:
        assert datum["userId"] == ALICE.user_id and datum["uploadId"] == dataset_id
        assert len(datum["id"]) == 32 and set(datum["id"]) <= HEX32
        assert datum["createdTime"].endswith("Z")
        assert "dedupKey" not in datum
    (reading,) = [d for d in stored if d["type"] == "cbg"]
    assert reading["value"] == 120 / 18.01559 and reading["originalUnits"] == "mg/dL"


def test_the_sample_upload_event(api) -> None:
    built = load_event("upload.json")
    user_id = built["requestContext"]["authorizer"]["lambda"]["userId"]
    dataset_id = built["pathParameters"]["datasetId"]
    repos = repositories()
    repos.datasets.create(datasets.Dataset(dataset_id, user_id, format_utc(utcnow())))
    status, answer = invoke(built, api.context)
    assert status == 200 and answer["meta"]["stored"] == 4  # the wizard's bolus is its own


def test_one_bad_datum_and_nothing_is_stored(api) -> None:
    dataset_id = api.new_dataset()
    datums = [cbg(recent(5)), cbg(recent(10)), smbg(recent(15)), cbg(recent(20), value=-4),
              {"type": "cbg", "deviceId": "G6-1", "units": "mg/dL"}]  # fmt: skip
    status, answer = api.upload(dataset_id, datums)
    assert status == 400
    problems = [(e["source"]["pointer"], e["code"], e["status"]) for e in answer["errors"]]
    assert problems == [
        ("/3/value", "value-out-of-range", "400"),
        ("/4/time", "value-missing", "400"),
        ("/4/value", "value-missing", "400"),
    ]
    assert "-4" not in json.dumps(answer)  # errors never echo values
    assert api.read_all() == []
    assert account_or_none() is None  # and nothing is marked


def account_or_none(user_id: str = ALICE.user_id) -> AccountModel | None:
    try:
        return account(user_id)
    except AccountModel.DoesNotExist:
        return None


def test_a_body_that_is_not_an_array_is_refused(api) -> None:
    dataset_id = api.new_dataset()
    status, answer = api.upload(dataset_id, {"type": "cbg"})
    assert status == 400 and answer["errors"][0]["source"]["pointer"] == ""
    status, answer = api.upload(dataset_id, None, raw="[{not json")
    assert status == 400 and answer["errors"][0]["code"] == "body-not-json"


def test_too_many_datums_or_bytes_is_413_before_any_work(api) -> None:
    dataset_id = api.new_dataset()
    many = [cbg(recent(1))] * (ingest.MAX_DATUMS + 1)
    with dynamodb_calls() as calls:
        status, answer = api.upload(dataset_id, many)
    assert status == 413 and answer["errors"][0]["status"] == "413"
    assert sum(calls.values()) == 0
    huge = json.dumps([cbg(recent(1), note="x" * (6 * 1024 * 1024))])
    assert api.upload(dataset_id, None, raw=huge)[0] == 413


def test_a_datum_too_big_to_store_fails_the_upload_with_nothing_written(api) -> None:
    dataset_id = api.new_dataset()
    status, answer = api.upload(dataset_id, [cbg(recent(1)), cbg(recent(2), note="x" * 400_000)])
    assert status == 400 and "larger" in answer["errors"][0]["detail"]
    assert api.read_all() == []


def test_closed_unknown_and_someone_elses_dataset(api) -> None:
    dataset_id = api.new_dataset()
    assert api.close(dataset_id)[0] == 200
    status, answer = api.upload(dataset_id, [cbg(recent(1))])
    assert status == 409 and answer["errors"][0]["code"] == "data-set-closed"
    assert api.upload("0" * 32, [cbg(recent(1))])[0] == 404
    bobs = api.new_dataset(BOB)
    assert api.upload(bobs, [cbg(recent(1))])[0] == 403
    assert api.close(bobs)[0] == 403 and api.delete(bobs)[0] == 403
    assert api.upload(bobs, [cbg(recent(1))], caller=None)[0] == 401
    assert api.upload(bobs, [cbg(recent(1))], caller=BOB)[0] == 200


def test_a_clinician_never_writes_a_patients_data(api) -> None:
    share_clinic(CAROL.user_id, ALICE.user_id)
    dataset_id = api.new_dataset()
    assert api.upload(dataset_id, [cbg(recent(1))], caller=CAROL)[0] == 403
    assert api.legacy([cbg(recent(1))], caller=CAROL)[0] == 403


def share_clinic(clinician_id: str, patient_id: str) -> None:
    ClinicModel("clinic1", keys.clinic_clinician_sk(clinician_id), member_id=clinician_id).save()
    ClinicModel("clinic1", keys.clinic_patient_sk(patient_id), member_id=patient_id).save()


# ------------------------------------------------------------------ linking, both paths
def _by_type(datums: list[dict]) -> dict[str, dict]:
    found = {d["type"]: d for d in datums}
    assert len(found) == len(datums)
    return found


@pytest.mark.parametrize("order", ["outer-only", "bolus-first", "wizard-first"])
def test_spec_example_on_the_platform_path(api, order) -> None:
    dataset_id = api.new_dataset()
    wizard = {k: v for k, v in WIZARD.items() if k != "uploadId"}
    datums = {"outer-only": [wizard], "bolus-first": [BOLUS, wizard],
              "wizard-first": [wizard, BOLUS]}[order]  # fmt: skip
    status, answer = api.upload(dataset_id, copy.deepcopy(datums))
    assert status == 200 and answer["meta"]["stored"] == 2
    stored = _by_type(api.read_all())
    bolus, outer = stored["bolus"], stored["wizard"]
    assert len(bolus["id"]) == 32 and set(bolus["id"]) <= HEX32
    assert outer["bolus"] == bolus["id"] != outer["id"]
    for key, value in STORED_WIZARD_VALUES.items():
        assert outer[key] == value, key
    assert bolus["normal"] == 1 and bolus["uploadId"] == outer["uploadId"] == dataset_id
    if order != "outer-only":  # the bolus sent on its own wins over its embedded copy
        assert bolus["guid"] == BOLUS["guid"]


@pytest.mark.parametrize("order", ["bolus-first", "wizard-first"])
@pytest.mark.parametrize("requests", [1, 2])
def test_spec_example_on_the_legacy_path(api, order, requests) -> None:
    datums = [BOLUS, WIZARD] if order == "bolus-first" else [WIZARD, BOLUS]
    batches = [datums] if requests == 1 else [[datums[0]], [datums[1]]]
    for batch in batches:
        assert api.legacy(copy.deepcopy(batch))[0] == 200
    stored = _by_type(api.read_all())
    bolus, outer = stored["bolus"], stored["wizard"]
    assert bolus["id"] == SPEC_BOLUS_ID and outer["id"] == SPEC_WIZARD_ID
    assert outer["bolus"] == SPEC_BOLUS_ID
    for key, value in STORED_WIZARD_VALUES.items():
        assert outer[key] == value, key
    assert bolus["guid"] == BOLUS["guid"]  # the copy sent on its own, whatever the order
    expected_upload = datasets.system_dataset_id("legacy", ALICE.user_id, "SampleUploadId")
    assert bolus["uploadId"] == outer["uploadId"] == expected_upload


def test_an_embedded_copy_does_not_replace_a_stored_datum_and_says_so(api) -> None:
    assert api.legacy([BOLUS])[0] == 200
    status, answer = api.legacy([WIZARD])
    assert status == 200 and answer["meta"]["stored"] == 1 and answer["meta"]["kept"] == 1


def test_legacy_data_uploaded_twice_is_stored_once(api) -> None:
    datums = [BOLUS, WIZARD, cbg(recent(5)), cbg(recent(10)), smbg(recent(15))]
    assert api.legacy(copy.deepcopy(datums))[0] == 200
    first = api.read_all()
    assert api.legacy(copy.deepcopy(datums))[0] == 200
    again = api.read_all()
    assert len(first) == len(again) == 5
    assert {d["id"] for d in first} == {d["id"] for d in again}


def test_legacy_chunks_of_one_upload_share_a_dataset_that_can_be_deleted(api) -> None:
    chunk = {"uploadId": "upid_abc"}
    assert api.legacy([cbg(recent(5), **chunk)])[0] == 200
    answer = api.legacy([cbg(recent(10), **chunk)])[1]
    upload_id = answer["meta"]["uploadId"]
    assert upload_id == datasets.system_dataset_id("legacy", ALICE.user_id, "upid_abc")
    assert api.delete(upload_id) == (200, {"data": [], "meta": {"deleted": 2}})
    assert api.read_all() == []


def test_legacy_path_checks_access_and_validates_everything(api) -> None:
    assert api.legacy([cbg(recent(1))], user_id=BOB.user_id)[0] == 403
    status, answer = api.legacy([cbg(recent(1)), {"type": "cbg"}])
    assert status == 400 and {e["source"]["pointer"] for e in answer["errors"]} == {
        "/1/deviceId", "/1/time", "/1/units", "/1/value"}  # fmt: skip
    assert api.read_all() == []


# ------------------------------------------------------------------ dedup
def test_the_same_datum_posted_to_another_dataset_of_the_device_is_stored_once(api) -> None:
    first, second = api.new_dataset(), api.new_dataset()
    datums = [cbg("2026-11-20T10:00:00Z", guid="g1"), cbg("2026-11-20T10:05:00Z")]
    assert api.upload(first, copy.deepcopy(datums))[0] == 200
    assert api.upload(second, copy.deepcopy(datums))[0] == 200
    stored = api.read_all()
    assert len(stored) == 2
    assert {d["uploadId"] for d in stored} == {second}  # the newer replaced the older
    # Deleting the older dataset now deletes nothing of the data it no longer holds.
    assert api.delete(first)[1]["meta"]["deleted"] == 0
    assert len(api.read_all()) == 2


def test_a_different_reading_at_the_same_time_is_another_datum(api) -> None:
    dataset_id = api.new_dataset()
    datums = [cbg("2026-11-20T10:00:00Z", 120), cbg("2026-11-20T10:00:00Z", 121),
              cbg("2026-11-20T10:00:00Z", 120, device="G7-2")]  # fmt: skip
    assert api.upload(dataset_id, datums)[1]["meta"]["stored"] == 3


# ------------------------------------------------------------------ close, delete, read
def test_delete_removes_the_datasets_data_and_the_dataset(api) -> None:
    keep = api.new_dataset()
    gone = api.new_dataset()
    api.upload(keep, [cbg("2026-11-20T09:00:00Z")])
    api.upload(gone, [cbg(f"2026-11-20T10:{m:02d}:00Z") for m in range(0, 60, 5)] + [BOLUS])
    with dynamodb_calls() as calls:
        assert api.delete(gone) == (200, {"data": [], "meta": {"deleted": 13}})
    assert "Scan" not in calls and calls["Query"] == 1
    assert [d["uploadId"] for d in api.read_all()] == [keep]
    assert api.delete(gone)[0] == 404
    assert api.upload(gone, [cbg(recent(1))])[0] == 404


def test_read_data_by_type_and_window_in_pages(api) -> None:
    dataset_id = api.new_dataset()
    readings = [cbg(f"2026-11-20T{h:02d}:{m:02d}:00Z") for h in range(10, 14) for m in (0, 30)]
    api.upload(dataset_id, [*readings, smbg("2026-11-20T11:15:00Z"), basal("2026-11-20T11:00:00Z")])
    window = {"startDate": "2026-11-20T10:30:00Z", "endDate": "2026-11-20T12:30:00+00:00"}
    got = api.read_all(type="cbg,smbg", limit="2", **window)
    assert [(d["type"], d["time"]) for d in got] == [
        ("cbg", "2026-11-20T10:30:00.000Z"),
        ("cbg", "2026-11-20T11:00:00.000Z"),
        ("cbg", "2026-11-20T11:30:00.000Z"),
        ("cbg", "2026-11-20T12:00:00.000Z"),
        ("cbg", "2026-11-20T12:30:00.000Z"),
        ("smbg", "2026-11-20T11:15:00.000Z"),
    ]
    assert len(api.read_all()) == 10
    answer = api.read(type="cbg", limit="3")[1]
    assert answer["meta"] == {"count": 3, "cursor": answer["meta"]["cursor"]}
    answer = api.read(type="cbg", limit="8")[1]
    assert answer["meta"] == {"count": 8}  # no cursor when nothing is left


def test_a_data_cursor_is_opaque_and_bound_to_its_query(api) -> None:
    dataset_id = api.new_dataset()
    api.upload(dataset_id, [cbg(f"2026-11-20T10:{m:02d}:00Z") for m in range(0, 25, 5)])
    cursor = api.read(type="cbg", limit="2")[1]["meta"]["cursor"]
    assert "LastEvaluatedKey" not in cursor and "{" not in cursor and "cbg#" not in cursor
    status, answer = api.read(type="cbg", limit="2", cursor=cursor)
    assert status == 200 and answer["meta"]["count"] == 2
    # Another window, other types, or an altered cursor: refused, not a DynamoDB error.
    for other in ({"startDate": "2026-11-20T10:12:00Z"}, {"type": "cbg,smbg"}, {}):
        altered = cursor if other else cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
        status, answer = api.read(**{"type": "cbg", "limit": "2", **other, "cursor": altered})
        assert status == 400 and answer["errors"][0]["code"] == "cursor-not-valid"


def test_linked_datums_are_read_by_id(api) -> None:
    dataset_id = api.new_dataset()
    api.upload(dataset_id, [{k: v for k, v in WIZARD.items() if k != "uploadId"}])
    (outer,) = api.read_all(type="wizard")
    (inner,) = api.read_all(type="bolus")
    assert outer["bolus"] == inner["id"]
    assert {k: v for k, v in EMBEDDED_BOLUS.items() if k != "uploadId"}.items() <= inner.items()


@pytest.mark.parametrize(
    "query",
    [
        {"startDate": "yesterday"},
        {"endDate": "2026-11-20T10:00:00"},
        {"startDate": "2026-11-21T00:00:00Z", "endDate": "2026-11-20T00:00:00Z"},
        {"type": "cbg,weather"},
        {"limit": "0"},
        {"limit": "many"},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJ0IjoiY2JnIiwiayI6ImJhc2FsIzIwMjYifQ"},  # {"t":"cbg","k":"basal#2026"}
        {"cursor": "eyJ0Ijoid2l6YXJkIiwiayI6IiJ9", "type": "cbg"},  # a type not asked for
    ],
)
def test_bad_query_parameters_are_400(api, query) -> None:
    status, answer = api.read(**query)
    assert status == 400
    assert answer["errors"][0]["code"] in ("parameter-not-valid", "cursor-not-valid")


def test_who_may_read_the_data(api) -> None:
    assert api.read(caller=ALICE)[0] == 200
    assert api.read(caller=BOB)[0] == 403
    assert api.read(caller=CAROL)[0] == 403
    share_clinic(CAROL.user_id, ALICE.user_id)
    assert api.read(caller=CAROL)[0] == 200
    assert api.read(caller=None)[0] == 401
    assert api.read(caller=ALICE_NIGHTSCOUT)[0] == 401


# ------------------------------------------------------------------ the summary's mark
def test_glucose_marks_the_summary_outdated_once_and_keeps_the_older_time(aws) -> None:
    repos = repositories()
    first = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    dataset = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos, now=first)
    ingest.upload(ALICE, dataset.id, [cbg("2026-11-20T11:55:00Z")], repos, now=first)
    marked = account()
    assert marked.outdated_since == "2026-11-20T12:00:00.000Z"
    assert marked.outdated_shard == keys.outdated_shard(ALICE.user_id)
    later = first + timedelta(minutes=5)
    ingest.upload(ALICE, dataset.id, [smbg("2026-11-20T12:03:00Z")], repos, now=later)
    again = account()
    assert again.outdated_since == "2026-11-20T12:00:00.000Z"  # the older value is kept
    assert again.touched == {"cbg#2026-11-20T11", "smbg#2026-11-20T12"}
    assert again.outdated_reasons == {"upload"}
    assert again.outdated_version == 2  # what tells the summariser that data came meanwhile
    found = repos.accounts.oldest_outdated(10, format_utc(later))
    assert [a.user_id for a in found] == [ALICE.user_id]


def test_data_without_glucose_in_the_window_marks_nothing(aws) -> None:
    repos = repositories()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    dataset = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos, now=now)
    # (A sample more than a day ahead is refused: test_future_data.py.)
    datums = [basal("2026-11-20T11:00:00Z"), cbg("2024-11-20T11:59:59.999Z")]
    assert ingest.upload(ALICE, dataset.id, datums, repos, now=now).stored == 2
    assert account_or_none() is None


def test_one_conditional_update_per_upload_whatever_its_size(api) -> None:
    dataset_id = api.new_dataset()
    datums = [cbg(recent(5 * i)) for i in range(1000)]
    with dynamodb_calls() as calls:
        assert api.upload(dataset_id, datums)[0] == 200
    # The dataset read before the writes and again after them (a delete racing the upload).
    assert calls == {"GetItem": 2, "BatchWriteItem": 40, "UpdateItem": 1}


def test_a_history_upload_is_marked_by_day(aws) -> None:
    repos = repositories()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    dataset = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos, now=now)
    start = now - timedelta(days=30)
    datums = [cbg(format_utc(start + timedelta(minutes=15 * i))) for i in range(4 * 24 * 30)]
    ingest.upload(ALICE, dataset.id, datums, repos, now=now)
    touched = account().touched
    assert len(touched) == 31 and "cbg#2026-10-21" in touched and "cbg#2026-11-20" in touched


def test_too_many_touched_periods_fall_back_to_touched_all(aws) -> None:
    repos = repositories()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    full = {f"cbg#filler-{n}" for n in range(outdated.MAX_TOUCHED)}
    repos.accounts.mark_outdated(ALICE.user_id, "2026-11-20T00:00:00.000Z", "upload", full)
    dataset = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos, now=now)
    ingest.upload(ALICE, dataset.id, [cbg("2026-11-20T11:00:00Z")], repos, now=now)
    marked = account()
    assert marked.touched_all is True
    assert marked.touched == full  # not grown
    assert marked.outdated_since == "2026-11-20T00:00:00.000Z"


def test_close_and_delete_mark_the_summary_with_their_reasons(aws) -> None:
    repos = repositories()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    closed = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos, now=now)
    ingest.close_dataset(ALICE, closed.id, repos, now=now)
    assert account().outdated_reasons == {"dataset-closed"}
    assert account().touched is None
    deleted = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos, now=now)
    ingest.upload(ALICE, deleted.id, [cbg("2026-11-19T08:00:00Z")], repos, now=now)
    # As the summariser would: the mark is cleared, and the delete sets it again.
    cleared = [AccountModel.outdated_since.remove(), AccountModel.touched.remove(),
               AccountModel.outdated_reasons.remove()]  # fmt: skip
    AccountModel(ALICE.user_id).update(actions=cleared)
    later = now + timedelta(hours=1)
    ingest.delete_dataset(ALICE, deleted.id, repos, now=later)
    marked = account()
    assert marked.outdated_since == format_utc(later)
    assert marked.outdated_reasons == {"dataset-deleted"}
    assert marked.touched == {"cbg#2026-11-19T08"}
