"""A bad day at DynamoDB, injected on the clients the code really uses (tests/faults.py):
throttling, AWS's own 500s and failed connections answer 503 with Retry-After on every path,
never 500; after the fault and a retry nothing is lost, nothing is stored twice, and every
summary and clinic row is what a clean run gives (the golden values worked by hand)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import clinic_share_code
from tests.faults import ANY, CONNECTION, INTERNAL, RATE_EXCEEDED, Faults
from tests.integration.ingest_support import ALICE, Api, event, invoke
from tidewater.domain.accounts import Profile
from tidewater.domain.clinic import PERIODS
from tidewater.domain.identity import Caller
from tidewater.domain.timeutil import format_utc
from tidewater.services import summarizer
from tidewater.services.summaries import get_summary
from tidewater.store.models import (
    AccountModel,
    BucketsModel,
    ClinicPatientModel,
    DatasetModel,
    DatumModel,
)
from tidewater.store.repos import repositories

# Whole quarter hours, two days back: every reading is inside every period of the summary.
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
CLINIC = "c0ffee00c0ffee00c0ffee00"


def cgm(first: int, count: int, mmol: float) -> list[dict[str, Any]]:
    """`count` readings 15 minutes apart from quarter `first` after START, all at `mmol`."""
    return [
        {"type": "cbg", "units": "mmol/L", "value": mmol, "deviceId": "G7-1",
         "time": format_utc(START + timedelta(minutes=15 * (first + n)))}
        for n in range(count)
    ]  # fmt: skip


@pytest.fixture
def api(faults: Faults, lambda_context: Any) -> Api:
    repositories().accounts.create(Profile(ALICE.user_id, "Alice", "patient", format_utc(START)))
    return Api(lambda_context)


def stored_times(api: Api) -> list[str]:
    return sorted(d["time"] for d in api.read_all(type="cbg"))


def assert_busy(status: int, body: Any) -> None:
    assert status == 503, body
    assert [e["code"] for e in body["errors"]] == ["unavailable"]


def later(seconds: float) -> Any:
    """The summariser's clock, `seconds` from now (past a lease a failed run still holds)."""
    return lambda: time.time() + seconds


def summary_of(caller: Caller) -> dict[str, Any]:
    return get_summary(caller, caller.user_id, repositories())


def mean(summary: dict[str, Any], period: str) -> float:
    return float(summary["cgm"]["periods"][period]["averageGlucoseMmol"])


# ---------------------------------------------------------------------- uploads
def test_a_throttled_mark_is_a_503_with_nothing_stored_and_the_retry_stores_and_marks(
    api: Api, faults: Faults
) -> None:
    dataset_id = api.new_dataset()
    faults.throttle("UpdateItem", AccountModel, times=None)
    built = event("POST", "/v1/datasets/{datasetId}/data", f"/v1/datasets/{dataset_id}/data",
                  params={"datasetId": dataset_id}, body=cgm(0, 96, 6.0))  # fmt: skip
    from functions.ingest import app

    response = app.handler(built, api.context)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "2"
    assert stored_times(api) == []  # marked first: a failed mark stores nothing
    faults.clear()

    assert api.upload(dataset_id, cgm(0, 96, 6.0))[0] == 200
    assert len(stored_times(api)) == 96
    assert "outdatedSince" in summary_of(ALICE)["dates"]
    assert summarizer.run_iteration(repositories()).summarized == 1
    assert mean(summary_of(ALICE), "14d") == pytest.approx(6.0)


def test_datum_writes_that_give_up_are_a_503_and_the_same_upload_again_stores_all_once(
    api: Api, faults: Faults
) -> None:
    dataset_id = api.new_dataset()
    datums = cgm(0, 96, 6.0) + cgm(96, 48, 12.0)  # 144 readings: 6 batches of 25 (and 19)
    faults.throttle("BatchWriteItem", DatumModel, times=None, after=2)
    assert_busy(*api.upload(dataset_id, datums))
    assert len(stored_times(api)) == 50  # two batches went through before the store gave up
    assert "outdatedSince" in summary_of(ALICE)["dates"]  # and the account was marked first
    faults.clear()

    assert api.upload(dataset_id, datums)[0] == 200
    expected = sorted(d["time"] for d in datums)
    assert stored_times(api) == expected  # every reading once: the same keys again
    assert summarizer.run_iteration(repositories()).summarized == 1
    # 96 readings at 6.0 and 48 at 12.0, 15 minutes apart: (96*6 + 48*12) / 144 = 8.0
    assert mean(summary_of(ALICE), "14d") == pytest.approx(8.0)
    assert summary_of(ALICE)["dates"]["lastData"] == expected[-1]


def test_a_retried_upload_gives_the_summary_a_clean_run_gives(
    faults: Faults, lambda_context: Any
) -> None:
    """Two patients, the same data: one through throttling and a retry, one on a good day."""
    bob = Caller("b0b0b0b0b0", "patient", ALICE.via)
    api = Api(lambda_context)
    for caller in (ALICE, bob):
        profile = Profile(caller.user_id, caller.user_id, "patient", format_utc(START))
        repositories().accounts.create(profile)
    datums = cgm(0, 96, 5.0) + cgm(96, 96, 10.0)
    faults.throttle("BatchWriteItem", DatumModel, times=None, after=3)
    stormy = api.new_dataset(ALICE)
    assert api.upload(stormy, datums, ALICE)[0] == 503
    faults.clear()
    assert api.upload(stormy, datums, ALICE)[0] == 200
    assert api.upload(api.new_dataset(bob), datums, bob)[0] == 200
    assert summarizer.run_iteration(repositories()).summarized == 2
    faulted, clean = summary_of(ALICE), summary_of(bob)
    assert faulted["cgm"] == clean["cgm"]
    assert mean(faulted, "14d") == pytest.approx(7.5)  # (96*5 + 96*10) / 192


# Every path of the ingest function, each with a DynamoDB call that fails under it.
def _upload(api: Api, dataset_id: str) -> tuple[int, Any]:
    return api.upload(dataset_id, cgm(0, 4, 6.0))


PATHS = {
    "upload: dataset read": (_upload, "GetItem", DatasetModel),
    "upload: datum writes": (_upload, "BatchWriteItem", DatumModel),
    "upload: account mark": (_upload, "UpdateItem", AccountModel),
    "create dataset": (lambda api, _: api.create_dataset(), "PutItem", DatasetModel),
    "close dataset": (lambda api, d: api.close(d), "UpdateItem", DatasetModel),
    "delete dataset: sweep": (lambda api, d: api.delete(d), "Query", DatumModel),
    "delete dataset: item": (lambda api, d: api.delete(d), "DeleteItem", DatasetModel),
    "read data": (lambda api, _: api.read(), "Query", DatumModel),
    "legacy upload": (lambda api, _: api.legacy(cgm(0, 4, 6.0)), "UpdateItem", DatasetModel),
}
# Each path with one of the ways a call fails, so that every way is met on several paths.
ERRORS = [None, RATE_EXCEEDED, INTERNAL, CONNECTION]  # None: ProvisionedThroughputExceeded
CASES = [(path, ERRORS[n % len(ERRORS)]) for n, path in enumerate(sorted(PATHS))]


@pytest.mark.parametrize(("path", "code"), CASES)
def test_every_path_answers_503_when_the_store_stays_busy(
    api: Api, faults: Faults, path: str, code: str | None
) -> None:
    call, operation, table = PATHS[path]
    dataset_id = api.new_dataset()
    assert _upload(api, dataset_id)[0] == 200
    if code is None:
        faults.throttle(operation, table, times=None)
    else:
        faults.fail(operation, table, times=None, code=code)
    status, body = call(api, dataset_id)
    assert_busy(status, body)
    assert body["errors"][0]["status"] == "503"
    faults.clear()
    assert call(api, dataset_id)[0] in (200, 201)  # the same request, once the store is back


def test_the_summary_route_answers_503_while_its_read_is_throttled(
    api: Api, faults: Faults
) -> None:
    from functions.clinic import app

    faults.throttle("GetItem", AccountModel, times=None)
    path = f"/v1/users/{ALICE.user_id}/summary"
    built = event("GET", "/v1/users/{userId}/summary", path, params={"userId": ALICE.user_id})
    response = app.handler(built, api.context)
    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "2"
    assert json.loads(response["body"])["errors"][0]["code"] == "unavailable"


def test_the_authorizer_lets_a_busy_store_through_for_the_function_to_answer_503(
    api: Api, faults: Faults
) -> None:
    """A Lambda authorizer that fails is a 500 from API Gateway: the authorizer marks the
    request instead, and the function answers 503."""
    from functions.authorizer import app as authorizer
    from tidewater.api.caller import KEYS_UNAVAILABLE

    built = event("GET", "/api/v1/entries.json", "/api/v1/entries.json", caller=None)
    built["headers"]["api-secret"] = "a-nightscout-secret"
    faults.throttle("GetItem", AccountModel, times=None)  # the secret's owner, looked up
    answer = authorizer.handler(built, api.context)
    assert answer["isAuthorized"] is True
    assert answer["context"][KEYS_UNAVAILABLE] == "true"
    built["requestContext"]["authorizer"] = {"lambda": answer["context"]}
    assert_busy(*invoke(built, api.context))


# ---------------------------------------------------------------------- the summariser
def _in_clinic(caller: Caller, name: str) -> None:
    repos = repositories()
    repos.accounts.create(Profile(caller.user_id, name, "patient", format_utc(START)))
    code = clinic_share_code(CLINIC)["shareCode"]  # the join uses up a code of the clinic's
    repos.clinics.add_patient(CLINIC, caller.user_id, [], code, int(START.timestamp()))


def _row(period: str, user_id: str = ALICE.user_id) -> dict[str, Any]:
    (row,) = [r for r in repositories().clinics.all_rows(CLINIC, period) if r["userId"] == user_id]
    return row


def test_throttled_clinic_rows_leave_the_account_outdated_and_the_next_run_writes_them(
    faults: Faults, lambda_context: Any
) -> None:
    """Defect 5: the summary said 14.78 mmol/L while the clinic list said 7.90, for good."""
    _in_clinic(ALICE, "Alice")
    api = Api(lambda_context)
    api.upload(api.new_dataset(), cgm(0, 96, 6.0))
    assert summarizer.run_iteration(repositories()).summarized == 1
    assert _row("14d")["cgm"]["averageGlucoseMmol"] == pytest.approx(6.0)

    api.upload(api.new_dataset(), cgm(96, 48, 12.0))
    faults.throttle("BatchWriteItem", ClinicPatientModel, times=None)
    failed = summarizer.run_iteration(repositories())
    assert (failed.summarized, failed.failed) == (0, 1)
    assert "outdatedSince" in summary_of(ALICE)["dates"]  # not marked up to date
    assert _row("14d")["cgm"]["averageGlucoseMmol"] == pytest.approx(6.0)  # as before
    faults.clear()

    assert summarizer.run_iteration(repositories(), clock=later(61)).summarized == 1
    summary = summary_of(ALICE)
    assert "outdatedSince" not in summary["dates"]
    assert mean(summary, "14d") == pytest.approx(8.0)  # (96*6 + 48*12) / 144
    for period in PERIODS:
        row = _row(period)
        assert row["cgm"] == summary["cgm"]["periods"][period]
        assert row["lastData"] == summary["dates"]["lastData"]


@pytest.mark.parametrize(
    ("operation", "table"),
    [
        ("UpdateItem", AccountModel),  # the lease, or the summary stored
        ("Query", BucketsModel),  # the stored buckets
        ("BatchWriteItem", BucketsModel),  # the buckets saved
        ("Query", DatumModel),  # the samples read
        ("BatchWriteItem", ClinicPatientModel),  # the clinic rows
    ],
)
def test_a_summary_run_that_fails_anywhere_is_made_good_by_the_next(
    faults: Faults, lambda_context: Any, operation: str, table: Any
) -> None:
    _in_clinic(ALICE, "Alice")
    api = Api(lambda_context)
    api.upload(api.new_dataset(), cgm(0, 96, 5.0) + cgm(96, 96, 10.0))
    faults.throttle(operation, table, times=None)
    assert summarizer.run_iteration(repositories()).summarized == 0
    faults.clear()
    assert summarizer.run_iteration(repositories(), clock=later(61)).summarized == 1
    summary = summary_of(ALICE)
    assert mean(summary, "14d") == pytest.approx(7.5)  # (96*5 + 96*10) / 192
    assert summary["dates"]["lastData"] == format_utc(START + timedelta(minutes=15 * 191))
    assert _row("14d")["cgm"] == summary["cgm"]["periods"]["14d"]


def test_batches_refused_a_few_times_are_absorbed_by_the_writers_retries(
    faults: Faults, lambda_context: Any
) -> None:
    """Datums, buckets and clinic rows each refused three times: no 503, nothing lost."""
    _in_clinic(ALICE, "Alice")
    api = Api(lambda_context)
    dataset_id = api.new_dataset()
    refusals = [faults.throttle("BatchWriteItem", t, times=3) for t in (DatumModel, BucketsModel)]
    refusals.append(faults.throttle(ANY, ClinicPatientModel, times=3))
    assert api.upload(dataset_id, cgm(0, 96, 6.0))[0] == 200
    assert len(stored_times(api)) == 96
    assert summarizer.run_iteration(repositories()).summarized == 1
    assert _row("14d")["cgm"]["averageGlucoseMmol"] == pytest.approx(6.0)
    assert [r.failed for r in refusals] == [3, 3, 3]
    assert len(faults.waits) == 9  # each refusal waited out (here: only recorded)


def test_a_nightscout_delete_whose_mark_is_throttled_deletes_nothing_until_sent_again(
    api: Api, faults: Faults
) -> None:
    from tests.integration.test_nightscout import Nightscout, sgv

    ns = Nightscout(api.context)
    kept, gone = ns.post([sgv(10, 110), sgv(5, 105)])[1]
    summarizer.run_iteration(repositories())
    faults.throttle("UpdateItem", AccountModel, times=None)
    assert_busy(*ns.delete(gone["_id"]))
    assert len(ns.get()[1]) == 2  # marked first: nothing deleted without its mark
    faults.clear()
    assert ns.delete(gone["_id"])[0] == 200
    assert [e["_id"] for e in ns.get()[1]] == [kept["_id"]]
    assert "outdatedSince" in summary_of(ALICE)["dates"]
