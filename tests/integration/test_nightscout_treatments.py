"""Nightscout v1 treatments through the ingest handler, against moto: posted as Loop,
AndroidAPS and xDrip+ post them, read back as treatments and as the Tidepool datums they
mean; re-posted, out of order, deleted; bad ones refused with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration import nightscout_clients as clients
from tests.integration.ingest_support import ALICE, ALICE_NIGHTSCOUT, BOB, Api, event, invoke
from tidewater.domain.identity import Caller
from tidewater.store.models import AccountModel

PATH = "/api/v1/treatments"


class Treatments:
    def __init__(self, context: Any, caller: Caller | None = ALICE_NIGHTSCOUT) -> None:
        self.context = context
        self.caller = caller

    def post(self, body: Any, path: str = PATH) -> tuple[int, Any]:
        return invoke(event("POST", path, path, caller=self.caller, body=body), self.context)

    def get(self, path: str = PATH + ".json", **query: str) -> tuple[int, Any]:
        built = event("GET", path, path, caller=self.caller, query=query or None)
        return invoke(built, self.context)

    def delete(self, treatment_id: str) -> tuple[int, Any]:
        path = f"{PATH}/{treatment_id}"
        built = event("DELETE", PATH + "/{treatmentId}", path, caller=self.caller,
                      params={"treatmentId": treatment_id})  # fmt: skip
        return invoke(built, self.context)


@pytest.fixture
def ns(aws, lambda_context) -> Treatments:
    return Treatments(lambda_context)


def by_type(api: Api) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for datum in api.read_all():
        found.setdefault(datum["type"], []).append(datum)
    return found


def test_loop_treatments_become_bolus_basal_and_wizard(ns, lambda_context) -> None:
    status, stored = ns.post(clients.loop())
    assert status == 200, stored
    assert [t["tidepool"]["types"] for t in stored] == [
        ["bolus"],
        ["basal"],
        ["bolus", "wizard"],
        ["bolus"],
    ]
    data = by_type(Api(lambda_context))
    normal, meal, square = sorted(data["bolus"], key=lambda d: d["time"])
    assert (normal["subType"], normal["normal"]) == ("normal", 1.5)
    assert (square["subType"], square["extended"], square["duration"]) == ("square", 2.0, 3_600_000)
    (basal,) = data["basal"]
    assert (basal["deliveryType"], basal["rate"], basal["duration"]) == ("temp", 0.35, 1_800_000)
    (wizard,) = data["wizard"]
    assert wizard["carbInput"] == 45 and wizard["bolus"] == meal["id"] and meal["normal"] == 4.5
    assert "food" not in data  # the carbs are the wizard's
    assert normal["deviceId"] == "nightscout:loop://iPhone"
    back = ns.get(count="10")[1]
    assert [t["eventType"] for t in back] == [
        "Correction Bolus",
        "Meal Bolus",
        "Temp Basal",
        "Correction Bolus",
    ]
    assert back[1]["carbs"] == 45 and back[1]["_id"] == stored[2]["_id"]


def test_androidaps_treatments(ns, lambda_context) -> None:
    status, stored = ns.post(clients.aaps())
    assert status == 200, stored
    types = [t["tidepool"]["types"] for t in stored]
    assert types == [["bolus"], ["basal"], ["food"], ["bolus"], ["deviceEvent"],
                     ["deviceEvent"], []]  # fmt: skip
    assert "Tidepool has no datum for a temporary target" in stored[6]["tidepool"]["reason"]
    data = by_type(Api(lambda_context))
    smb, extended = sorted(data["bolus"], key=lambda d: d["time"])
    assert (smb["subType"], smb["normal"]) == ("automated", 0.3)
    assert (extended["subType"], extended["extended"], extended["duration"]) == (
        "square",
        3.0,
        7_200_000,
    )
    (basal,) = data["basal"]
    assert basal["rate"] == 0.64 and basal["percent"] == 0.8  # 20 % below the profile
    (food,) = data["food"]
    assert food["nutrition"]["carbohydrate"] == {"net": 20, "units": "grams"}
    prime, reservoir = sorted(data["deviceEvent"], key=lambda d: d["time"])
    assert (prime["subType"], prime["primeTarget"]) == ("prime", "cannula")
    assert prime["notes"] == ["new cannula"]
    assert reservoir["subType"] == "reservoirChange"
    assert ns.get(**{"find[eventType]": "Temporary Target"})[1][0]["targetTop"] == 140


def test_xdrip_treatments_and_the_bg_check_marks_the_bgm_summary(ns, lambda_context) -> None:
    status, stored = ns.post(clients.xdrip())
    assert status == 200, stored
    assert [t["tidepool"]["types"] for t in stored] == [["bolus", "wizard"], ["smbg"], [], []]
    assert "sensor start" in stored[3]["tidepool"]["reason"]
    (smbg,) = Api(lambda_context).read_all(type="smbg")
    assert (smbg["originalValue"], smbg["originalUnits"]) == (6.2, "mmol/L")
    assert smbg["value"] == 6.2
    account = AccountModel.get(ALICE.user_id)
    assert account.outdated_since and "upload" in account.outdated_reasons
    assert "smbg#2026-11-20T12" in account.touched  # the BGM summary's period, to recompute
    notes = ns.get(**{"find[eventType]": "Note"})[1]
    assert notes[0]["notes"] == "walked the dog"


def test_the_sample_event(aws, lambda_context) -> None:
    status, stored = invoke(load_event("nightscout_treatments.json"), lambda_context)
    assert status == 200
    assert [t["tidepool"]["types"] for t in stored] == [["bolus", "wizard"], ["basal"], []]


def test_reposting_never_duplicates(ns, lambda_context) -> None:
    first = ns.post(clients.loop())[1]
    again = ns.post(list(reversed(clients.loop())))[1]  # out of order, too
    assert {t["_id"] for t in first} == {t["_id"] for t in again}
    assert len(ns.get(count="100")[1]) == 4
    data = by_type(Api(lambda_context))
    assert len(data["bolus"]) == 3 and len(data["wizard"]) == 1 and len(data["basal"]) == 1


def test_a_client_id_is_kept_and_upserted_by(ns, lambda_context) -> None:
    body = {"_id": "5f1afb118b6aca48aa123400", "eventType": "Correction Bolus", "insulin": 1,
            "created_at": "2026-11-20T09:00:00Z"}  # fmt: skip
    ns.post(body)
    built = event("PUT", PATH, PATH, caller=ALICE_NIGHTSCOUT, body={**body, "insulin": 1.25})
    status, (answer,) = invoke(built, lambda_context)  # Loop's update of a treatment it sent
    assert status == 200
    assert answer["_id"] == body["_id"]
    (back,) = ns.get()[1]
    assert back["insulin"] == 1.25
    (bolus,) = Api(lambda_context).read_all(type="bolus")
    assert bolus["normal"] == 1.25


def test_a_repost_that_maps_to_less_takes_back_what_it_no_longer_means(ns, lambda_context):
    meal = {"eventType": "Meal Bolus", "insulin": 3, "carbs": 30,
            "created_at": "2026-11-20T09:00:00Z"}  # fmt: skip
    ns.post(meal)
    assert sorted(by_type(Api(lambda_context))) == ["bolus", "wizard"]
    (answer,) = ns.post({**meal, "carbs": 0})[1]
    assert answer["tidepool"]["types"] == ["bolus"]
    data = by_type(Api(lambda_context))
    assert sorted(data) == ["bolus"] and data["bolus"][0]["normal"] == 3


def test_an_update_that_moves_a_treatment_in_time_moves_it(ns, lambda_context) -> None:
    carbs = {"_id": "5f1afb118b6aca48aa123401", "eventType": "Carb Correction", "carbs": 30,
             "created_at": "2026-11-20T09:00:00Z"}  # fmt: skip
    ns.post(carbs)
    moved = {**carbs, "created_at": "2026-11-20T09:30:00Z"}
    assert (
        invoke(event("PUT", PATH, PATH, caller=ALICE_NIGHTSCOUT, body=moved), lambda_context)[0]
        == 200
    )
    (back,) = ns.get()[1]
    assert back["created_at"] == "2026-11-20T09:30:00.000Z" and back["_id"] == carbs["_id"]
    (food,) = Api(lambda_context).read_all(type="food")
    assert food["time"] == "2026-11-20T09:30:00.000Z"
    check = {"_id": "5f1afb118b6aca48aa123402", "eventType": "BG Check", "glucose": 99,
             "created_at": "2026-11-20T10:00:00Z"}  # fmt: skip
    ns.post(check)
    AccountModel.get(ALICE.user_id).update(actions=[AccountModel.touched.remove()])
    ns.post({**check, "created_at": "2026-11-20T11:00:00Z"})
    account = AccountModel.get(ALICE.user_id)  # the hour it left, and the one it moved to
    assert {"smbg#2026-11-20T10", "smbg#2026-11-20T11"} <= account.touched
    assert [d["time"] for d in Api(lambda_context).read_all(type="smbg")] == [
        "2026-11-20T11:00:00.000Z"
    ]


def test_delete_takes_the_datums_with_it(ns, lambda_context) -> None:
    stored = ns.post(clients.loop())[1]
    meal = stored[2]
    status, answer = ns.delete(meal["_id"])
    assert status == 200 and answer == {"n": 1, "ok": 1}
    assert [t["_id"] for t in ns.get()[1]] == [stored[3]["_id"], stored[1]["_id"],
                                               stored[0]["_id"]]  # fmt: skip
    data = by_type(Api(lambda_context))
    assert "wizard" not in data and len(data["bolus"]) == 2
    assert ns.delete(meal["_id"])[0] == 404
    assert Treatments(lambda_context, BOB).delete(stored[0]["_id"])[0] == 404


def test_queries(ns) -> None:
    ns.post(clients.loop())
    assert len(ns.get(count="2")[1]) == 2
    assert len(ns.get(count="0")[1]) == 4  # Nightscout's count=0: all of them
    since = ns.get(**{"find[created_at][$gte]": "2026-11-20T08:10:00Z"})[1]
    assert [t["eventType"] for t in since] == ["Correction Bolus", "Meal Bolus"]
    before = ns.get(**{"find[created_at][$lt]": "2026-11-20T08:10:00Z"})[1]
    assert [t["eventType"] for t in before] == ["Temp Basal", "Correction Bolus"]
    assert len(ns.get(**{"find[created_at][$gte]": "2026-11-20"})[1]) == 4
    assert ns.get(**{"find[eventType]": "Temp Basal"})[1][0]["absolute"] == 0.35
    assert ns.get(PATH)[1] == ns.get()[1]


@pytest.mark.parametrize(
    "query",
    [{"count": "-1"}, {"count": "lots"}, {"count": "10001"}, {"find[insulin][$gte]": "1"},
     {"find[created_at][$gte]": "soon"}],
)  # fmt: skip
def test_bad_queries_are_400(ns, query) -> None:
    assert ns.get(**query)[0] == 400


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ([{"eventType": "Correction Bolus", "insulin": 1, "created_at": "2026-11-20T08:00:00Z"},
          {"eventType": "Correction Bolus", "insulin": 500, "created_at": "2026-11-20T09:00:00Z"}],
         "/1/insulin"),
        ([{"eventType": "Meal Bolus", "carbs": "lots"}], "/0/carbs"),
        ([{"eventType": "BG Check", "glucose": 100, "units": "furlongs"}], "/0/units"),
        ({"eventType": "Note", "created_at": "yesterday"}, "/created_at"),
        ([7], "/0"),
    ],
)  # fmt: skip
def test_bad_treatments_are_400_with_nothing_stored(ns, lambda_context, body, pointer) -> None:
    status, answer = ns.post(body)
    assert status == 400, answer
    assert pointer in [e["source"]["pointer"] for e in answer["errors"]]
    assert ns.get()[1] == []
    assert Api(lambda_context).read_all() == []


def test_numeric_strings_are_numbers_as_nightscout_makes_them(ns, lambda_context) -> None:
    body = {"eventType": "Carb Correction", "carbs": "20", "created_at": "2026-11-20T08:00:00Z"}
    (stored,) = ns.post(body)[1]
    assert stored["carbs"] == 20
    (food,) = Api(lambda_context).read_all(type="food")
    assert food["nutrition"]["carbohydrate"]["net"] == 20


def test_a_batch_of_a_thousand(ns, lambda_context) -> None:
    body = [{"eventType": "Correction Bolus", "insulin": 0.1 + (i % 10) / 10,
             "created_at": f"2026-11-{1 + i // 288:02d}T{i % 288 // 12:02d}:{i % 12 * 5:02d}:00Z",
             "enteredBy": "loop://iPhone"} for i in range(1000)]  # fmt: skip
    status, stored = ns.post(body)
    assert status == 200 and len(stored) == 1000
    assert len(ns.get(count="1000")[1]) == 1000
    assert len(Api(lambda_context).read_all(type="bolus")) == 1000
