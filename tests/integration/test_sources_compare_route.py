"""GET /v1/users/{userId}/sources/compare: how a person's two CGM devices agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.ingest_support import ALICE, ALICE_NIGHTSCOUT, BOB, CAROL, Api, event, invoke
from tidewater.domain.accounts import Profile
from tidewater.domain.timeutil import format_utc
from tidewater.store import keys
from tidewater.store.models import ClinicModel
from tidewater.store.repos import repositories

ROUTE = "/v1/users/{userId}/sources/compare"
# The newest reading, three days ago: the period ends there, not at the server's clock.
NEWEST = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=3)
PHONE, RECEIVER = "G7-phone-1", "G7-receiver-1"  # the phone sorts first: it is `first`


@pytest.fixture
def api(aws: None, lambda_context: Any) -> Api:
    profile = Profile(ALICE.user_id, "Alice", "patient", format_utc(NEWEST - timedelta(days=30)))
    repositories().accounts.create(profile)
    return Api(lambda_context)


def compare(api: Api, caller: Any = ALICE, **query: str) -> tuple[int, Any]:
    path = f"/v1/users/{ALICE.user_id}/sources/compare"
    built = event("GET", ROUTE, path, caller=caller, params={"userId": ALICE.user_id},
                  query=query or None)  # fmt: skip
    return invoke(built, api.context)


def reading(device: str, at: datetime, mgdl: int) -> dict[str, Any]:
    return {"type": "cbg", "units": "mg/dL", "value": mgdl, "deviceId": device,
            "time": format_utc(at)}  # fmt: skip


def upload_two_sources(api: Api) -> None:
    # The phone at NEWEST - 15, -10, -5 and 0 minutes; the receiver a minute before each.
    # Pairs (phone, receiver): (100, 90), (110, 110), (120, 150), (130, 130), and one more
    # 20 days back, outside the 14-day period: (200, 200).
    phone = [(15, 100), (10, 110), (5, 120), (0, 130)]
    receiver = [(15, 90), (10, 110), (5, 150), (0, 130)]
    old = NEWEST - timedelta(days=20)
    datums = [reading(PHONE, NEWEST - timedelta(minutes=m), v) for m, v in phone]
    datums += [reading(RECEIVER, NEWEST - timedelta(minutes=m, seconds=60), v) for m, v in receiver]
    datums += [reading(PHONE, old, 200), reading(RECEIVER, old + timedelta(seconds=30), 200)]
    assert api.upload(api.new_dataset(), datums)[0] == 200


def test_two_sources_compared_over_the_period(api: Api) -> None:
    upload_two_sources(api)
    status, body = compare(api)
    assert status == 200, body
    report = body["data"]
    assert report["days"] == 14 and report["end"] == format_utc(NEWEST)
    assert [(s["deviceId"], s["readings"]) for s in report["sources"]] == [
        (PHONE, 4),
        (RECEIVER, 4),
    ]
    assert report["sources"][0]["points"][-1] == [format_utc(NEWEST), 130]
    (pair,) = report["pairs"]
    assert (pair["first"], pair["second"], pair["pairs"]) == (PHONE, RECEIVER, 4)
    # Differences phone - receiver: +10, 0, -30, 0 → bias -20/4 = -5 mg/dL.
    # Receiver the reference: (10/90 + 0 + 30/150 + 0)/4 = (.11111 + .2)/4 = .077778.
    # Phone the reference: (10/100 + 30/120)/4 = (.1 + .25)/4 = .0875.
    # 15/15: 150 takes ±22.5 and 120 takes ±18, so -30 fails both ways; 10 of 90 (< 100,
    # ±15) and 10 of 100 (±15 %: 15) pass: 3/4 each way.
    assert pair["bias"] == -5
    assert pair["mardFirstToSecond"] == pytest.approx((10 / 90 + 30 / 150) / 4)
    assert pair["mardSecondToFirst"] == pytest.approx(0.0875)
    assert pair["within15FirstToSecond"] == 0.75 and pair["within15SecondToFirst"] == 0.75
    assert pair["overlapStart"] == format_utc(NEWEST - timedelta(minutes=16))
    assert pair["overlapEnd"] == format_utc(NEWEST)


def test_days_widens_the_period(api: Api) -> None:
    upload_two_sources(api)
    status, body = compare(api, days="30")
    assert status == 200, body
    # The pair of 20 days back, (200, 200), joins: bias -20/5 = -4, 15/15 4/5.
    (pair,) = body["data"]["pairs"]
    assert pair["pairs"] == 5 and pair["bias"] == -4 and pair["within15FirstToSecond"] == 0.8


def test_one_source_has_nothing_to_compare(api: Api) -> None:
    assert api.upload(api.new_dataset(), [reading(PHONE, NEWEST, 120)])[0] == 200
    status, body = compare(api, days="1")
    assert status == 200
    assert body["data"]["pairs"] == [] and len(body["data"]["sources"]) == 1


def test_no_readings_is_an_empty_comparison(api: Api) -> None:
    status, body = compare(api)
    assert status == 200
    assert body["data"]["sources"] == [] and body["data"]["pairs"] == []


def test_days_is_checked_at_the_parameter(api: Api) -> None:
    for bad in ("0", "91", "two", "1.5", ""):
        status, body = compare(api, days=bad)
        assert status == 400, (bad, body)
        assert body["errors"][0]["source"] == {"parameter": "days"}


def test_the_owner_and_their_clinician_may_compare_no_one_else(api: Api) -> None:
    upload_two_sources(api)
    assert compare(api, caller=ALICE)[0] == 200
    assert compare(api, caller=BOB)[0] == 403
    assert compare(api, caller=CAROL)[0] == 403
    ClinicModel("clinic1", keys.clinic_clinician_sk(CAROL.user_id), member_id=CAROL.user_id).save()
    ClinicModel("clinic1", keys.clinic_patient_sk(ALICE.user_id), member_id=ALICE.user_id).save()
    status, body = compare(api, caller=CAROL)
    assert status == 200 and body["data"]["pairs"][0]["pairs"] == 4
    assert compare(api, caller=None)[0] == 401
    assert compare(api, caller=ALICE_NIGHTSCOUT)[0] == 401
