"""Nightscout uploaders over real HTTP against the local stack: treatments, device status
and profiles posted as Loop, AndroidAPS and xDrip+ post them, read back by the real
`python-nightscout` client (`get_treatments`, `get_profiles`) and as Tidepool datums.
nightscout-cli speaks entries only (tests/e2e/test_upload_http.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import nightscout  # python-nightscout, a dev dependency: missing, the tier fails, not skips
import pytest

from tests.e2e.conftest import Session, Stack
from tests.integration import nightscout_clients as clients

PASSWORD = "Uploader-e2e-password-1"


@pytest.fixture
def uploader(stack: Stack) -> tuple[Session, str]:
    """A new patient for each test (nothing else reads their data, whatever the order the
    tests run in), with an api-secret set as Nightscout's users set theirs."""
    email = f"uploader-{uuid.uuid4().hex[:8]}@example.org"
    reply = stack.request("POST", "/v1/users", {"email": email, "password": PASSWORD,
                                                "fullName": "E2E uploader"})  # fmt: skip
    assert reply.status == 201, reply.body
    who = Session(email, reply.json()["data"]["userId"], reply.headers["X-Tidepool-Session-Token"])
    secret = f"e2e-{uuid.uuid4().hex}"
    put = stack.request("PUT", f"/v1/users/{who.user_id}/nightscout", {"secret": secret},
                        who.headers)  # fmt: skip
    assert put.status == 200, put.body
    return who, secret


def _post(stack: Stack, secret: str, path: str, body: object) -> list:
    digest = hashlib.sha1(secret.encode(), usedforsecurity=False).hexdigest()
    reply = stack.request("POST", path, body, {"api-secret": digest})  # as the apps send it
    assert reply.status == 200, reply.body
    return list(reply.json())


def test_uploaders_treatments_read_back_by_python_nightscout(stack, uploader) -> None:
    who, secret = uploader
    posted = [*clients.loop(), *clients.aaps(), *clients.xdrip()]
    stored = _post(stack, secret, "/api/v1/treatments", posted)
    again = _post(stack, secret, "/api/v1/treatments.json", list(reversed(posted)))
    assert {t["_id"] for t in again} == {t["_id"] for t in stored}  # never duplicated

    api = nightscout.Api(stack.url, api_secret=secret)
    read = api.get_treatments({"count": 100})
    assert len(read) == len(posted)
    assert [t.created_at for t in read] == sorted((t.created_at for t in read), reverse=True)
    meal = next(t for t in read if t.eventType == "Meal Bolus")
    assert (meal.insulin, meal.carbs) == (4.5, 45)
    assert meal.created_at == datetime(2026, 11, 20, 8, 10, tzinfo=UTC)
    temps = api.get_treatments({"find[eventType]": "Temp Basal", "count": 10})
    assert sorted(t.absolute for t in temps) == [0.35, 0.64]

    data = stack.request("GET", f"/v1/users/{who.user_id}/data?limit=1000", headers=who.headers)
    assert data.status == 200
    kinds: dict[str, int] = {}
    for datum in data.json()["data"]:
        kinds[datum["type"]] = kinds.get(datum["type"], 0) + 1
    # Loop 3 boluses + wizard + temp; AndroidAPS SMB, extended, carbs, temp, prime,
    # reservoir; xDrip+ bolus + wizard, BG check. Notes, the target, the sensor: kept only.
    assert kinds == {"bolus": 6, "wizard": 2, "basal": 2, "food": 1, "deviceEvent": 2,
                     "smbg": 1}  # fmt: skip

    gone = stored[0]["_id"]
    digest = hashlib.sha1(secret.encode(), usedforsecurity=False).hexdigest()
    deleted = stack.request("DELETE", f"/api/v1/treatments/{gone}", headers={"api-secret": digest})
    assert deleted.status == 200
    assert len(api.get_treatments({"count": 100})) == len(posted) - 1


def test_profiles_read_back_by_python_nightscout(stack, uploader) -> None:
    who, secret = uploader
    _post(stack, secret, "/api/v1/profile", clients.aaps_profile("2026-11-20T00:00:00.000Z"))
    api = nightscout.Api(stack.url, api_secret=secret)
    profiles = api.get_profiles()
    definition = profiles.get_profile_definition_active_at(datetime.now(UTC))
    weekday = definition.get_default_profile()
    assert weekday.dia == 5.0
    noon = datetime(2026, 11, 20, 12, 0)  # local time of the profile's zone
    assert weekday.basal.value_at_date(weekday.timezone.localize(noon)) == 1.1
    assert weekday.sens.value_at_date(weekday.timezone.localize(noon)) == 45
    data = stack.request("GET", f"/v1/users/{who.user_id}/data?type=pumpSettings",
                         headers=who.headers)  # fmt: skip
    (settings,) = data.json()["data"]
    assert settings["activeSchedule"] == "Weekday" and "Sport" in settings["basalSchedules"]


def test_device_status_newest_first(stack, uploader) -> None:
    _, secret = uploader
    now = datetime.now(UTC)
    at = [now.replace(microsecond=0, second=s).isoformat().replace("+00:00", "Z") for s in (1, 2)]
    _post(stack, secret, "/api/v1/devicestatus", [clients.loop_device_status(t) for t in at])
    digest = hashlib.sha1(secret.encode(), usedforsecurity=False).hexdigest()
    reply = stack.request("GET", "/api/v1/devicestatus.json", headers={"api-secret": digest})
    assert reply.status == 200
    assert [s["loop"]["iob"]["iob"] for s in reply.json()] == [1.25, 1.25]
    assert reply.json()[0]["created_at"] > reply.json()[1]["created_at"]
