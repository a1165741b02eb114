"""The aggregator function: a person's choice to share, and the population view, called as
API Gateway calls it (the authorizer's context in the event)."""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.donation_support import NOW as DONATION_NOW
from tests.integration.donation_support import consent, donor, hash_of, published
from tidewater import settings
from tidewater.domain import population as domain
from tidewater.domain.datums.pipeline import prepare
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import exporter
from tidewater.services import population as service
from tidewater.store import repos as store_repos
from tidewater.store.population import PopulationRepository

pytestmark = pytest.mark.usefixtures("aws")

PATIENT = Caller("0a1b2c3d4e", "patient", Via.SESSION)
OTHER = Caller("5f6e7d8c9b", "patient", Via.SESSION)
RESEARCHER = Caller("9f8e7d6c5b", "researcher", Via.SESSION)
CLINICIAN = Caller("c1c1c1c1c1", "clinician", Via.SESSION)
UPLOADER = Caller(PATIENT.user_id, "", Via.NIGHTSCOUT)
ANONYMOUS = Caller()
# People who share, with ids that sort the other way from their glucose.
PEOPLE = [f"f{9 - i}e{i}d00c0ffee{i}" for i in range(7)]
DEVICE = "DexG6-SN-8H2K4Q"


def _context():  # type: ignore[no-untyped-def]
    from tidewater_local.runtime import LambdaContext

    return LambdaContext(function_name="AggregatorFunction")


def _call(event: dict) -> tuple[int, bytes]:
    from functions.aggregator import app

    response = app.handler(event, _context())
    return response["statusCode"], response["body"].encode()


def _choice(
    caller: Caller, user_id: str, body: Any = None, method: str = "PUT"
) -> tuple[int, dict]:
    event = copy.deepcopy(load_event("population_share.json"))
    event["requestContext"]["authorizer"] = {"lambda": caller.to_context()}
    path = f"/v1/users/{user_id}/population"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"userId": user_id}
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = (
        f"{method} /v1/users/{{userId}}/population"
    )
    if method == "GET":
        event.pop("body", None)
    else:
        event["body"] = json.dumps(body)
    status, raw = _call(event)
    return status, json.loads(raw)


def _view_raw(caller: Caller = PATIENT, query: str | None = "hours=3") -> tuple[int, bytes]:
    event = copy.deepcopy(load_event("population_view.json"))
    event["requestContext"]["authorizer"] = {"lambda": caller.to_context()}
    event["rawQueryString"] = query or ""
    if query is None:
        event.pop("queryStringParameters", None)
    else:
        event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
    return _call(event)


def _view(caller: Caller = PATIENT, query: str | None = "hours=3") -> list[dict]:
    status, raw = _view_raw(caller, query)
    assert status == 200, raw
    data: list[dict] = json.loads(raw)["data"]
    return data


def store(user_id: str, datums: list[dict[str, Any]], now: datetime | None = None) -> None:
    items = prepare(datums, legacy=False, user_id=user_id, upload_id=f"upload-{user_id[:4]}",
                    now=now or utcnow())  # fmt: skip
    store_repos.repositories().datums.put_many(items)


def _recent(user_id: str, glucose: int, *, hours_ago: float = 0, count: int = 24) -> None:
    """Readings every 5 minutes, the newest `hours_ago` before now, all of value `glucose`
    (mg/dL), with the kinds of detail a view must never show."""
    end = utcnow() - timedelta(hours=hours_ago, minutes=1)
    datums = [{"type": "cbg", "deviceId": DEVICE, "units": "mg/dL", "value": glucose,
               "time": format_utc(end - timedelta(minutes=5 * n, seconds=17)),
               "payload": {"note": f"{user_id}@example.org", "site": "https://ns.example.org"}}
              for n in range(count)]  # fmt: skip
    store(user_id, datums)


def _share(user_id: str) -> None:
    assert _choice(Caller(user_id, "patient", Via.SESSION), user_id, {"share": True})[0] == 200


def _sharing(n: int) -> list[str]:
    """The first `n` of PEOPLE share and have readings of the last two hours; person i's
    glucose is 100 + i."""
    for i, user_id in enumerate(PEOPLE[:n]):
        _share(user_id)
        _recent(user_id, 100 + i)
    return PEOPLE[:n]


def _glucose_shown(data: list[dict]) -> set[int]:
    return {p["glucose"] for series in data for p in series["points"]}


# ------------------------------------------------------------------ the choice
def test_sharing_is_chosen_shown_and_withdrawn_by_the_owner() -> None:
    assert _choice(PATIENT, PATIENT.user_id, method="GET") == (200, {"data": {"share": False}})
    status, body = _choice(PATIENT, PATIENT.user_id, {"share": True})
    assert status == 200 and body["data"]["share"] is True
    since = body["data"]["sharedTime"]
    assert _choice(PATIENT, PATIENT.user_id, {"share": True})[1]["data"]["sharedTime"] == since
    assert _choice(PATIENT, PATIENT.user_id, method="GET")[1]["data"] == {
        "share": True,
        "sharedTime": since,
    }
    assert _choice(PATIENT, PATIENT.user_id, {"share": False}) == (200, {"data": {"share": False}})
    assert _choice(PATIENT, PATIENT.user_id, method="GET")[1]["data"] == {"share": False}
    assert store_repos.repositories().population.members() == []


@pytest.mark.parametrize(
    "body", [{}, {"share": "true"}, {"share": 1}, {"share": None}, [True], "true", None]
)
def test_share_must_be_true_or_false(body: Any) -> None:
    status, answer = _choice(PATIENT, PATIENT.user_id, body)
    assert status == 400
    assert answer["errors"][0]["source"]["pointer"] == "/share"


@pytest.mark.parametrize(
    ("caller", "status"),
    [(ANONYMOUS, 401), (OTHER, 403), (CLINICIAN, 403), (RESEARCHER, 403), (UPLOADER, 401)],
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_choice_is_the_owners_alone(caller: Caller, status: int, method: str) -> None:
    assert _choice(caller, PATIENT.user_id, {"share": True}, method)[0] == status
    assert store_repos.repositories().population.members() == []


def test_sharing_and_donating_are_separate_choices() -> None:
    repos = store_repos.repositories()
    _share(PATIENT.user_id)
    assert repos.donations.consent(PATIENT.user_id).consent is False
    consent(repos, OTHER.user_id, True)
    assert _choice(OTHER, OTHER.user_id, method="GET")[1]["data"] == {"share": False}


# ------------------------------------------------------------------ the view
def test_the_answer_holds_hash_time_and_glucose_and_nothing_else() -> None:
    people = _sharing(5)
    repos = store_repos.repositories()
    datasets = {d["uploadId"] for u in people for d in repos.datums.every(u)}
    status, raw = _view_raw()
    assert status == 200
    text = raw.decode()
    for secret in [*people, *datasets, DEVICE, "@", "example.org", "http", "payload", "cbg"]:
        assert secret not in text, secret
    document = json.loads(raw)
    assert set(document) == {"data"}
    assert len(document["data"]) == 5
    for series in document["data"]:
        assert set(series) == {"hash", "points"} and re.fullmatch("[0-9a-f]{6}", series["hash"])
        assert len(series["points"]) == 24
        for point in series["points"]:
            assert set(point) == {"time", "glucose"} and type(point["glucose"]) is int
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z", point["time"])
    assert _glucose_shown(document["data"]) == {100, 101, 102, 103, 104}


def test_people_are_listed_in_hash_order_not_by_user_id() -> None:
    _sharing(7)
    data = _view()
    hashes = [s["hash"] for s in data]
    assert hashes == sorted(hashes) and len(set(hashes)) == 7


def test_below_k_people_with_data_the_view_is_empty() -> None:
    _sharing(4)
    assert _view() == []
    _share(PEOPLE[4])  # shares, but has no reading in the window
    _recent(PEOPLE[4], 150, hours_ago=5)
    assert _view() == []
    _recent(PEOPLE[4], 104)
    # A view is read once a minute (views of the same minute share it): from the next on.
    next_minute = utcnow() + timedelta(minutes=1)
    assert len(service.view(PATIENT, 3, store_repos.repositories(), next_minute)["data"]) == 5


def test_k_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    _sharing(5)
    monkeypatch.setenv("POPULATION_MIN_PEOPLE", "6")
    settings.current.cache_clear()
    store_repos.repositories.cache_clear()
    assert _view() == []


def test_opting_out_takes_a_person_out_of_the_next_view() -> None:
    people = _sharing(6)
    assert 105 in _glucose_shown(_view())
    leaver = Caller(people[5], "patient", Via.SESSION)
    assert _choice(leaver, leaver.user_id, {"share": False})[0] == 200
    shown = _view()
    assert len(shown) == 5 and 105 not in _glucose_shown(shown)
    for user_id in people[1:5]:  # down to four: nobody is shown
        _choice(Caller(user_id, "patient", Via.SESSION), user_id, {"share": False})
    assert _view() == []


def test_the_window_is_the_hours_asked_for() -> None:
    _sharing(5)
    everything = _view(query=None)  # three hours by default: all 24 readings (2 hours)
    assert all(len(s["points"]) == 24 for s in everything)
    last_hour = _view(query="hours=1")
    assert all(11 <= len(s["points"]) <= 12 for s in last_hour)
    oldest = min(p["time"] for s in last_hour for p in s["points"])
    assert oldest >= format_utc(utcnow() - timedelta(hours=1, minutes=1))


@pytest.mark.parametrize("query", ["hours=0", "hours=25", "hours=x", "hours=2.5"])
def test_hours_outside_one_to_24_are_refused(query: str) -> None:
    status, raw = _view_raw(query=query)
    assert status == 400
    assert json.loads(raw)["errors"][0]["source"] == {"parameter": "hours"}


def test_signed_in_callers_only_by_default() -> None:
    _sharing(5)
    assert _view_raw(ANONYMOUS)[0] == 401
    assert _view_raw(UPLOADER)[0] == 401  # a Nightscout secret is no session
    for caller in (PATIENT, OTHER, CLINICIAN, RESEARCHER):
        assert len(_view(caller)) == 5


def test_a_public_deployment_shows_the_view_to_anyone(monkeypatch: pytest.MonkeyPatch) -> None:
    _sharing(5)
    monkeypatch.setenv("PUBLIC_POPULATION", "true")
    settings.current.cache_clear()
    store_repos.repositories.cache_clear()
    assert len(_view(ANONYMOUS)) == 5
    assert len(_view(PATIENT)) == 5


def test_the_colour_hash_is_not_the_donation_hash() -> None:
    repos = store_repos.repositories()
    for user_id in PEOPLE[:5]:
        donor(repos, user_id)  # consent, and readings in the donation window
    exporter.run(repos, now=DONATION_NOW, rng=random.Random(7))
    (slice_,) = published(repos)
    _sharing(5)
    shown = {s["hash"] for s in _view()}
    assert len(shown) == 5 and not shown & slice_.hashes
    day = domain.day_of(utcnow())
    key = repos.population.day_key(day, domain.new_day_key, domain.day_key_expiry(day))
    mine = domain.assign_hashes(key, PEOPLE[:5])
    assert set(mine.values()) == shown
    assert all(mine[u] != hash_of(repos, u) for u in PEOPLE[:5])


def test_the_hashes_hold_within_a_day_and_change_the_next() -> None:
    repos = store_repos.repositories()
    now = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    for i, user_id in enumerate(PEOPLE[:5]):
        _share(user_id)
        times = [format_utc(now + timedelta(minutes=10 * n)) for n in range(24)]
        datums = [{"type": "cbg", "deviceId": DEVICE, "units": "mg/dL", "value": 100 + i,
                   "time": time} for time in times]  # fmt: skip
        store(user_id, datums, now + timedelta(days=1))

    def colours(at: datetime) -> dict[int, str]:
        data = service.view(PATIENT, 3, repos, at)["data"]
        return {s["points"][0]["glucose"]: s["hash"] for s in data}

    evening = colours(now + timedelta(hours=1))
    assert len(evening) == 5
    assert colours(now + timedelta(hours=1, minutes=59)) == evening
    after_midnight = colours(now + timedelta(hours=2, minutes=30))
    assert len(after_midnight) == 5
    assert all(after_midnight[g] != evening[g] for g in evening)
    # Another function (a fresh process) finds the same day's key.
    fresh = PopulationRepository()
    day = "2026-12-03"
    assert fresh.day_key(day, domain.new_day_key, 0) == repos.population.day_key(
        day, domain.new_day_key, 0
    )


def test_functions_racing_for_the_days_key_agree_on_the_first_written() -> None:
    first, second = PopulationRepository(), PopulationRepository()
    day = "2026-12-05"

    def racing() -> bytes:
        # While this function draws its key, the other stores its own.
        first.day_key(day, lambda: b"w" * 32, domain.day_key_expiry(day))
        return b"l" * 32

    assert second.day_key(day, racing, domain.day_key_expiry(day)) == b"w" * 32
    assert PopulationRepository().day_key(day, domain.new_day_key, 0) == b"w" * 32


def test_the_view_reads_no_more_than_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    _sharing(7)
    monkeypatch.setenv("POPULATION_MAX_PEOPLE", "5")
    settings.current.cache_clear()
    store_repos.repositories.cache_clear()
    read: list[str] = []
    repos = store_repos.repositories()
    between = repos.datums.between

    def counted(user_id: str, *args: Any) -> Any:
        read.append(user_id)
        return between(user_id, *args)

    monkeypatch.setattr(repos.datums, "between", counted)
    assert len(_view()) == 5 and len(read) == 5


def test_views_of_the_same_minute_read_once_and_a_new_minute_reads_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _sharing(5)
    repos = store_repos.repositories()
    read: list[str] = []
    between = repos.datums.between

    def counted(user_id: str, *args: Any) -> Any:
        read.append(user_id)
        return between(user_id, *args)

    monkeypatch.setattr(repos.datums, "between", counted)
    minute = utcnow().replace(second=5, microsecond=0)
    first = service.view(PATIENT, 3, repos, minute)["data"]
    assert service.view(PATIENT, 3, repos, minute + timedelta(seconds=50))["data"] == first
    assert len(read) == 5  # a page refreshing, or many viewers: one read of each person
    service.view(PATIENT, 1, repos, minute)  # other hours: read for themselves
    assert len(read) == 10
    service.view(PATIENT, 3, repos, minute + timedelta(minutes=1))
    assert len(read) == 15
    # Someone stops sharing: the people differ, so the next view, in the same minute, is
    # read afresh and does not show them.
    assert _choice(Caller(PEOPLE[0], "patient", Via.SESSION), PEOPLE[0], {"share": False})[0] == 200
    _share(PEOPLE[5])
    _recent(PEOPLE[5], 180)
    shown = service.view(PATIENT, 3, repos, minute + timedelta(minutes=1, seconds=30))["data"]
    assert len(read) == 20 and 100 not in _glucose_shown(shown) and 180 in _glucose_shown(shown)
