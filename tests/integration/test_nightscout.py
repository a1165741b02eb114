"""Nightscout v1 through the ingest handler, against moto: entries in and out, idempotent
on (type, date), newest first, and the summary's mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.ingest_support import ALICE, ALICE_NIGHTSCOUT, BOB, Api, event, invoke
from tidewater.domain import datasets
from tidewater.domain.identity import Caller
from tidewater.domain.timeutil import format_utc, from_epoch_ms, to_epoch_ms, utcnow
from tidewater.store.models import AccountModel

NOW_MS = to_epoch_ms(utcnow()) // 60_000 * 60_000


def sgv(minutes_ago: int, value: int = 120, **fields: Any) -> dict[str, Any]:
    date = NOW_MS - minutes_ago * 60_000
    entry = {"type": "sgv", "sgv": value, "date": date, "direction": "Flat", "noise": 1,
             "device": "xDrip-DexcomG6", "dateString": format_utc(from_epoch_ms(date))}  # fmt: skip
    return entry | fields


class Nightscout:
    def __init__(self, context: Any, caller: Caller | None = ALICE_NIGHTSCOUT) -> None:
        self.context = context
        self.caller = caller

    def post(self, body: Any, path: str = "/api/v1/entries") -> tuple[int, Any]:
        return invoke(event("POST", path, path, caller=self.caller, body=body), self.context)

    def get(self, path: str = "/api/v1/entries.json", **query: str) -> tuple[int, Any]:
        built = event("GET", path, path, caller=self.caller, query=query or None)
        return invoke(built, self.context)

    def delete(self, entry_id: str) -> tuple[int, Any]:
        path = f"/api/v1/entries/{entry_id}"
        built = event("DELETE", "/api/v1/entries/{entryId}", path, caller=self.caller,
                      params={"entryId": entry_id})  # fmt: skip
        return invoke(built, self.context)


@pytest.fixture
def ns(aws, lambda_context) -> Nightscout:
    return Nightscout(lambda_context)


def test_sgv_becomes_a_cbg_in_mg_dl_with_trend_and_noise(ns, lambda_context) -> None:
    status, stored = ns.post([sgv(5, 144, direction="FortyFiveUp", noise=2)])
    assert status == 200
    (entry,) = stored
    assert entry["sgv"] == 144 and entry["direction"] == "FortyFiveUp" and entry["noise"] == 2
    assert len(entry["_id"]) == 32
    (datum,) = Api(lambda_context).read_all(type="cbg")
    assert datum["value"] == 144 / 18.01559 and datum["units"] == "mmol/L"
    assert (datum["originalValue"], datum["originalUnits"]) == (144, "mg/dL")
    assert datum["trend"] == "FortyFiveUp" and datum["noise"] == 2
    assert datum["uploadId"] == datasets.system_dataset_id("nightscout", ALICE.user_id)
    assert datum["id"] == entry["_id"]


def test_mbg_and_cal_entries(ns, lambda_context) -> None:
    body = [
        {"type": "mbg", "mbg": 131, "date": NOW_MS - 60_000, "device": "meter"},
        {"type": "cal", "slope": 895.6, "intercept": 32400.0, "scale": 1, "date": NOW_MS},
    ]
    assert ns.post(body)[0] == 200
    api = Api(lambda_context)
    (meter,) = api.read_all(type="smbg")
    (calibration,) = api.read_all(type="deviceEvent")
    assert meter["originalValue"] == 131 and calibration["subType"] == "calibration"
    entries = ns.get()[1]
    assert [e["type"] for e in entries] == ["cal", "mbg"]
    assert entries[0]["slope"] == 895.6 and entries[1]["mbg"] == 131


def test_one_object_or_an_array(ns) -> None:
    assert ns.post(sgv(1))[0] == 200
    assert ns.post([sgv(2), sgv(3)])[0] == 200
    assert len(ns.get(count="10")[1]) == 3


def test_the_sample_event(aws, lambda_context) -> None:
    built = load_event("nightscout_entries.json")
    status, stored = invoke(built, lambda_context)
    assert status == 200 and [e["type"] for e in stored] == ["sgv", "mbg"]


def test_reposting_the_same_type_and_date_replaces_the_entry(ns) -> None:
    first = ns.post([sgv(5, 100)])[1][0]
    again = ns.post([sgv(5, 101), sgv(5, 102)])[1]
    entries = ns.get()[1]
    assert len(entries) == 1 and entries[0]["sgv"] == 102
    assert entries[0]["_id"] == first["_id"] == again[0]["_id"]


def test_entries_are_newest_first_with_count_and_find(ns) -> None:
    ns.post([sgv(m, 100 + m) for m in range(0, 60, 5)])
    entries = ns.get(count="3")[1]
    assert [e["sgv"] for e in entries] == [100, 105, 110]
    assert ns.get()[1] == ns.get("/api/v1/entries")[1]
    assert len(ns.get()[1]) == 10  # Nightscout's default count
    since = str(NOW_MS - 20 * 60_000)
    window = ns.get(**{"find[date][$gte]": since, "count": "100"})[1]
    assert [e["sgv"] for e in window] == [100, 105, 110, 115, 120]
    before = ns.get(**{"find[date][$lt]": since, "find[date][$gte]": str(NOW_MS - 30 * 60_000)})
    assert [e["sgv"] for e in before[1]] == [125, 130]
    iso = format_utc(from_epoch_ms(NOW_MS - 10 * 60_000))
    assert len(ns.get(**{"find[dateString][$gte]": iso})[1]) == 3
    assert ns.get(**{"find[type]": "mbg"})[1] == []


def test_sgv_and_current(ns) -> None:
    ns.post([sgv(10, 110), sgv(5, 105), {"type": "mbg", "mbg": 99, "date": NOW_MS}])
    sgvs = ns.get("/api/v1/entries/sgv.json")[1]
    assert [e["sgv"] for e in sgvs] == [105, 110]
    (current,) = ns.get("/api/v1/entries/current.json")[1]
    assert current["sgv"] == 105 and current["dateString"].endswith("Z")


@pytest.mark.parametrize(
    "query",
    [{"count": "0"}, {"count": "lots"}, {"find[sgv][$gte]": "40"}, {"find[date][$gte]": "soon"},
     {"find[type]": "treatment"}, {"find[dateString][$gte]": "2026-11-21"}],
)  # fmt: skip
def test_bad_queries_are_400(ns, query) -> None:
    assert ns.get(**query)[0] == 400


def test_delete_an_entry_by_id(ns) -> None:
    kept, gone = ns.post([sgv(10, 110), sgv(5, 105)])[1]
    status, answer = ns.delete(gone["_id"])
    assert status == 200 and answer == {"n": 1, "ok": 1}
    assert [e["_id"] for e in ns.get()[1]] == [kept["_id"]]
    assert ns.delete(gone["_id"])[0] == 404
    assert ns.delete("x" * 500)[0] == 404


def test_nobody_deletes_someone_elses_entry_or_a_non_entry(ns, lambda_context) -> None:
    (entry,) = ns.post([sgv(5)])[1]
    bob = Nightscout(lambda_context, BOB)
    assert bob.delete(entry["_id"])[0] == 404
    api = Api(lambda_context)
    dataset_id = api.new_dataset()
    pump = {"type": "basal", "deliveryType": "scheduled", "rate": 1, "duration": 60000,
            "deviceId": "p", "time": format_utc(utcnow())}  # fmt: skip
    api.upload(dataset_id, [pump])
    (basal,) = api.read_all(type="basal")
    assert ns.delete(basal["id"])[0] == 404


def test_entries_mark_the_summary_and_so_does_a_delete(ns) -> None:
    (entry,) = ns.post([sgv(5)])[1]
    account = AccountModel.get(ALICE.user_id)
    assert account.outdated_since and account.outdated_reasons == {"upload"}
    ns.delete(entry["_id"])
    account = AccountModel.get(ALICE.user_id)
    assert account.outdated_reasons == {"upload", "data-deleted"}


def test_a_session_caller_uses_the_same_routes_on_their_own_data(ns, lambda_context) -> None:
    ns.post([sgv(5, 111)])
    as_session = Nightscout(lambda_context, ALICE)
    assert [e["sgv"] for e in as_session.get()[1]] == [111]
    assert Nightscout(lambda_context, BOB).get()[1] == []


def test_no_credentials_is_401(aws, lambda_context) -> None:
    anonymous = Nightscout(lambda_context, None)
    assert anonymous.get()[0] == 401
    assert anonymous.post([sgv(1)])[0] == 401


def test_bad_entries_are_400_with_pointers_and_nothing_stored(ns) -> None:
    status, answer = ns.post([sgv(1), {"type": "sgv", "sgv": 2000, "date": NOW_MS}, {"type": "x"}])
    assert status == 400
    pointers = [e["source"]["pointer"] for e in answer["errors"]]
    assert pointers == ["/1/sgv", "/2/type", "/2/date"]
    assert ns.get()[1] == []


def test_status_json(aws, lambda_context) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    status, body = invoke(
        event("GET", "/api/v1/status.json", "/api/v1/status.json", caller=None), lambda_context
    )
    assert status == 200
    assert body["status"] == "ok" and body["apiEnabled"] is True and body["name"]
    assert body["version"] and isinstance(body["settings"], dict)
    assert body["serverTimeEpoch"] >= int(before.timestamp() * 1000)
    assert body["serverTime"] == format_utc(from_epoch_ms(body["serverTimeEpoch"]))
    assert body["careportalEnabled"] is True and "careportal" in body["settings"]["enable"]
    assert body["supported"] == ["entries", "treatments", "devicestatus", "profile"]
