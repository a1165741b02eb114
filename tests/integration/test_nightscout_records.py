"""Nightscout v1 device status and profiles through the ingest handler, against moto."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration import nightscout_clients as clients
from tests.integration.ingest_support import ALICE_NIGHTSCOUT, BOB, Api, event, invoke
from tidewater.domain import nightscout_records
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import nightscout
from tidewater.store.repos import repositories


def call(context, method: str, path: str, body=None, caller=ALICE_NIGHTSCOUT, **query: str):
    built = event(method, path, path, caller=caller, body=body, query=query or None)
    return invoke(built, context)


@pytest.fixture
def ctx(aws, lambda_context):
    return lambda_context


def test_device_status_is_kept_newest_first_and_upserted(ctx) -> None:
    times = [format_utc(utcnow() - timedelta(minutes=m)) for m in (10, 5, 0)]
    status, stored = call(ctx, "POST", "/api/v1/devicestatus",
                          [clients.loop_device_status(t) for t in times])  # fmt: skip
    assert status == 200 and len(stored) == 3 and all(len(s["_id"]) == 24 for s in stored)
    again = call(ctx, "POST", "/api/v1/devicestatus", clients.loop_device_status(times[1]))[1]
    assert again[0]["_id"] == stored[1]["_id"]
    back = call(ctx, "GET", "/api/v1/devicestatus.json")[1]
    assert [s["created_at"] for s in back] == list(reversed(times))
    assert back[0]["loop"]["iob"]["iob"] == 1.25 and back[0]["pump"]["reservoir"] == 112.5
    assert len(call(ctx, "GET", "/api/v1/devicestatus", count="1")[1]) == 1
    since = call(ctx, "GET", "/api/v1/devicestatus", **{"find[created_at][$gt]": times[1]})[1]
    assert [s["created_at"] for s in since] == [times[2]]
    assert call(ctx, "GET", "/api/v1/devicestatus", caller=BOB)[1] == []
    assert Api(ctx).read_all() == []  # no Tidepool datum


def test_device_status_has_a_retention_ttl(ctx) -> None:
    now = utcnow()
    owner = nightscout.Caller(ALICE_NIGHTSCOUT.user_id, "", ALICE_NIGHTSCOUT.via)
    nightscout.post_device_status(owner, clients.loop_device_status(format_utc(now)),
                                  repositories(), now)  # fmt: skip
    client = repositories().datums.client
    table = repositories().datums.table
    (item,) = client.query(
        TableName=table, KeyConditionExpression="userId = :u AND begins_with(sk, :p)",
        ExpressionAttributeValues={":u": {"S": owner.user_id},
                                   ":p": {"S": nightscout_records.DEVICESTATUS_TYPE}},
    )["Items"]  # fmt: skip
    assert int(item["expiresAt"]["N"]) == int(now.timestamp()) + 90 * 86_400
    later = now + timedelta(days=91)  # expired, even if DynamoDB has not deleted it yet
    assert nightscout.get_device_status(owner, {}, repositories(), later) == []


def test_profile_is_kept_and_the_newest_is_a_pump_settings_datum(ctx) -> None:
    old = clients.aaps_profile("2026-11-01T00:00:00.000Z")
    new = clients.aaps_profile("2026-11-20T00:00:00.000Z")
    status, stored = call(ctx, "POST", "/api/v1/profile", [old, new])
    assert status == 200, stored
    back = call(ctx, "GET", "/api/v1/profile.json")[1]
    assert [p["startDate"] for p in back] == [new["startDate"], old["startDate"]]
    assert back[0]["store"]["Weekday"]["dia"] == 5
    (settings,) = Api(ctx).read_all(type="pumpSettings")
    assert settings["time"] == "2026-11-20T00:00:00.000Z"
    assert settings["activeSchedule"] == "Weekday"
    assert settings["basalSchedules"]["Weekday"] == [
        {"start": 0, "rate": 0.8}, {"start": 23_400_000, "rate": 1.1},
        {"start": 79_200_000, "rate": 0.7},
    ]  # fmt: skip
    assert settings["carbRatios"]["Weekday"] == [
        {"start": 0, "amount": 10},
        {"start": 43_200_000, "amount": 12},
    ]
    # 45 mg/dL per unit, stored in mmol/L as every glucose value is
    assert settings["insulinSensitivities"]["Sport"][0]["amount"] == 60 / 18.01559
    low_then_high = [(t["start"], t["low"] * 18.01559, t["high"] * 18.01559)
                     for t in settings["bgTargets"]["Weekday"]]  # fmt: skip
    assert [(s, round(lo, 6), round(hi, 6)) for s, lo, hi in low_then_high] == [
        (0, 100, 120),
        (28_800_000, 90, 120),
    ]
    again = call(ctx, "POST", "/api/v1/profile", new)[1]
    assert again[0]["_id"] == stored[1]["_id"]
    assert len(call(ctx, "GET", "/api/v1/profile")[1]) == 2
    assert len(Api(ctx).read_all(type="pumpSettings")) == 1


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/api/v1/profile", {"defaultProfile": "x"}, "/store"),
        ("/api/v1/profile", {"store": {"A": {"basal": [{"time": "00:00", "value": 500}]}}},
         "/store/A/basal/0/value"),
        ("/api/v1/profile", {"store": {"A": {"basal": [{"time": "noon", "value": 1}]}}},
         "/store/A/basal/0/time"),
        ("/api/v1/devicestatus", [{"created_at": "soon"}], "/0/created_at"),
        ("/api/v1/devicestatus", "status", ""),
    ],
)  # fmt: skip
def test_bad_documents_are_400_with_nothing_stored(ctx, path, body, pointer) -> None:
    status, answer = call(ctx, "POST", path, body)
    assert status == 400, answer
    assert pointer in [e["source"].get("pointer") for e in answer["errors"]]
    assert call(ctx, "GET", path)[1] == []
    assert Api(ctx).read_all() == []


def test_the_same_document_twice_in_one_post_is_stored_once(ctx) -> None:
    at = format_utc(utcnow())
    twice = [{"device": "d", "created_at": at, "n": 1}, {"device": "d", "created_at": at, "n": 2}]
    assert call(ctx, "POST", "/api/v1/devicestatus", twice)[0] == 200
    assert [s["n"] for s in call(ctx, "GET", "/api/v1/devicestatus")[1]] == [2]
    profile = clients.aaps_profile("2026-11-20T00:00:00.000Z")
    assert call(ctx, "POST", "/api/v1/profile", [profile, {**profile, "n": 2}])[0] == 200
    assert [p.get("n") for p in call(ctx, "GET", "/api/v1/profile")[1]] == [2]
