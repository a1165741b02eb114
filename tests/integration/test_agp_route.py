"""GET /v1/users/{userId}/agp: a patient's uploaded CGM as the AGP's percentiles by hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.ingest_support import ALICE, Api, event, invoke
from tidewater.domain.accounts import Profile
from tidewater.domain.timeutil import format_utc
from tidewater.store.repos import repositories

FACTOR = 18.01559
# The newest reading: the period ends there, not at the server's clock.
# At 23:00 three days ago: each of the 14 days of the period has its 08:00 readings.
NEWEST = datetime.now(UTC).replace(hour=23, minute=0, second=0, microsecond=0) - timedelta(days=3)


@pytest.fixture
def api(aws: None, lambda_context: Any) -> Api:
    profile = Profile(ALICE.user_id, "Alice", "patient", format_utc(NEWEST - timedelta(days=30)))
    repositories().accounts.create(profile)
    return Api(lambda_context)


def agp(api: Api, **query: str) -> tuple[int, Any]:
    path = f"/v1/users/{ALICE.user_id}/agp"
    built = event("GET", "/v1/users/{userId}/agp", path, caller=ALICE,
                  params={"userId": ALICE.user_id}, query=query or None)  # fmt: skip
    return invoke(built, api.context)


def reading(at: datetime, mgdl: int) -> dict[str, Any]:
    return {"type": "cbg", "units": "mg/dL", "value": mgdl, "deviceId": "G7-1",
            "time": format_utc(at)}  # fmt: skip


def test_the_agp_folds_the_period_by_time_of_day(api: Api) -> None:
    # At 08:00, 08:05 and 08:10 on each of the 14 days before NEWEST: 100, 150, 200 mg/dL;
    # one day more, 15 days back, is outside the 14-day period.
    datums = []
    for day in range(15):
        morning = (NEWEST - timedelta(days=day)).replace(hour=8)
        datums += [
            reading(morning + timedelta(minutes=5 * i), v) for i, v in enumerate((100, 150, 200))
        ]
    datums.append(reading(NEWEST, 120))
    assert api.upload(api.new_dataset(), datums)[0] == 200
    status, body = agp(api)
    assert status == 200, body
    report = body["data"]
    assert report["days"] == 14 and report["end"] == format_utc(NEWEST)
    (bin_8,) = [b for b in report["bins"] if b["minute"] == 480]
    # 14 mornings x 3 readings, in mmol/L: 14 each of 100, 150 and 200 mg/dL. Sorted, ranks
    # 0-13 are 100, 14-27 are 150, 28-41 are 200; the median (h = 20.5) is 150 and the 5th
    # percentile (h = 2.05) is 100, the 95th (h = 38.95) 200.
    assert bin_8["count"] == 3 * 14
    assert bin_8["p50"] == pytest.approx(150 / FACTOR, rel=1e-12)
    assert bin_8["p5"] == pytest.approx(100 / FACTOR, rel=1e-12)
    assert bin_8["p95"] == pytest.approx(200 / FACTOR, rel=1e-12)
    assert report["readings"] == 3 * 14 + 1
    assert report["daily"][-1]["points"][-1] == [NEWEST.hour * 60, pytest.approx(120 / FACTOR)]


def test_days_is_checked_at_the_parameter(api: Api) -> None:
    for bad in ("0", "91", "two", "1.5"):
        status, body = agp(api, days=bad)
        assert status == 400, (bad, body)
        assert body["errors"][0]["source"] == {"parameter": "days"}


def test_no_readings_is_an_empty_report_not_an_error(api: Api) -> None:
    status, body = agp(api, days="7")
    assert status == 200
    assert body["data"]["readings"] == 0 and len(body["data"]["bins"]) == 96
    assert all(b["p50"] is None for b in body["data"]["bins"])
