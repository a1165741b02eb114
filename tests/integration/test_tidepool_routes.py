"""Tidepool's own upload and read routes through the ingest handler, against moto:
jellyfish's POST /data/{userId}, tide-whisperer's GET /data/{userId}, the platform's data
sets list, /info and /v1/time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.ingest_support import ALICE, BOB, BOLUS, WIZARD, Api, cbg, event, invoke
from tests.spec_examples import BOLUS_ID, WIZARD_ID
from tidewater.domain.identity import Caller
from tidewater.services import ingest


@pytest.fixture
def api(aws, lambda_context) -> Api:
    return Api(lambda_context)


def jellyfish(api: Api, datums: Any, caller: Caller = ALICE) -> tuple[int, Any]:
    return invoke(
        event("POST", "/data/{userId}", f"/data/{caller.user_id}", caller=caller,
              params={"userId": caller.user_id}, body=datums),
        api.context,
    )  # fmt: skip


def whisper(api: Api, user_id: str = ALICE.user_id, caller: Caller = ALICE, **query: str):
    return invoke(
        event("GET", "/data/{userId}", f"/data/{user_id}", caller=caller,
              params={"userId": user_id}, query=query or None),
        api.context,
    )  # fmt: skip


def data_sets(api: Api, route: str = "data_sets", **query: str) -> tuple[int, Any]:
    path = f"/v1/users/{ALICE.user_id}/{route}"
    return invoke(
        event("GET", "/v1/users/{userId}/" + route, path, params={"userId": ALICE.user_id},
              query=query or None),
        api.context,
    )  # fmt: skip


def test_jellyfish_stores_both_halves_in_any_order_and_names_the_duplicates(api) -> None:
    status, answer = jellyfish(api, [BOLUS, WIZARD])
    assert (status, answer) == (200, [])
    # The same again, in the other order: every datum is a duplicate, nothing is stored twice.
    status, answer = jellyfish(api, [WIZARD, BOLUS])
    assert (status, answer) == (200, [0, 1])
    status, stored = whisper(api, type="wizard,bolus")
    assert status == 200
    by_type = {d["type"]: d for d in stored}
    assert len(stored) == 2
    assert by_type["wizard"]["id"] == WIZARD_ID and by_type["bolus"]["id"] == BOLUS_ID
    assert by_type["wizard"]["bolus"] == BOLUS_ID


def test_jellyfish_refuses_a_bad_datum_with_its_pointer_and_stores_nothing(api) -> None:
    status, answer = jellyfish(api, [cbg("2026-11-20T10:00:00Z"), {"type": "cbg", "value": 5}])
    assert status == 400
    assert {e["source"]["pointer"] for e in answer["errors"]} >= {"/1/time"}
    assert whisper(api)[1] == []


def test_whisperer_reads_mmol_with_filters_and_latest(api) -> None:
    jellyfish(api, [cbg("2026-11-20T10:00:00Z", 90, "G6-A"), cbg("2026-11-20T10:05:00Z", 180,
                   "G6-B"), {"type": "smbg", "deviceId": "M", "time": "2026-11-20T11:00:00Z",
                   "value": 100, "units": "mg/dL", "subType": "manual"}])  # fmt: skip
    status, every = whisper(api)
    assert status == 200 and isinstance(every, list) and len(every) == 3
    values = sorted(d["value"] for d in every if d["type"] == "cbg")
    assert values == [90 / 18.01559, 180 / 18.01559]
    assert [d["deviceId"] for d in whisper(api, deviceId="G6-B")[1]] == ["G6-B"]
    assert [d["type"] for d in whisper(api, subType="manual")[1]] == ["smbg"]
    window = whisper(api, startDate="2026-11-20T10:01:00Z", endDate="2026-11-20T10:59:00Z")[1]
    assert [d["time"] for d in window] == ["2026-11-20T10:05:00.000Z"]
    latest = whisper(api, latest="true", type="cbg,smbg")[1]
    assert sorted((d["type"], d["time"]) for d in latest) == [
        ("cbg", "2026-11-20T10:05:00.000Z"),
        ("smbg", "2026-11-20T11:00:00.000Z"),
    ]
    # A type Tidewater does not store matches nothing, as in tide-whisperer.
    assert whisper(api, type="water")[1] == []
    assert len(whisper(api, type="water,cbg")[1]) == 2


def test_whisperer_answers_413_past_its_maximum_never_a_cut_array(api, monkeypatch) -> None:
    jellyfish(api, [cbg(f"2026-11-20T10:0{m}:00Z") for m in range(4)])
    monkeypatch.setattr(ingest, "WHISPERER_MAX_DATUMS", 3)
    status, answer = whisper(api)
    assert status == 413
    assert "more than 3 datums" in answer["errors"][0]["detail"]
    assert len(whisper(api, endDate="2026-11-20T10:02:00Z")[1]) == 3


def test_whisperer_refuses_bad_parameters_by_name(api) -> None:
    status, answer = whisper(api, startDate="yesterday")
    assert status == 400 and answer["errors"][0]["source"] == {"parameter": "startDate"}
    status, answer = whisper(api, latest="perhaps")
    assert status == 400 and answer["errors"][0]["source"] == {"parameter": "latest"}


def test_whisperer_keeps_access_control(api) -> None:
    status, _ = whisper(api, ALICE.user_id, BOB)
    assert status == 403


def test_data_sets_newest_first_by_device_and_page(api) -> None:
    ids = [api.new_dataset(deviceId=device) for device in ("Pump-1", "G6-1", "Pump-1")]
    status, listed = data_sets(api)
    assert status == 200
    assert [d["id"] for d in listed] == ids[::-1]
    assert [d["id"] for d in data_sets(api, deviceId="Pump-1", size="1")[1]] == [ids[2]]
    assert [d["id"] for d in data_sets(api, deviceId="Pump-1", size="1", page="1")[1]] == [ids[0]]
    assert data_sets(api, "datasets")[1] == listed
    status, answer = data_sets(api, size="0")
    assert status == 400 and answer["errors"][0]["source"] == {"parameter": "size"}


def test_info_and_time_need_no_session(api) -> None:
    status, info = invoke(event("GET", "/info", "/info", caller=None), api.context)
    assert status == 200 and set(info["versions"]) == {"schema", "uploaderMinimum"}
    status, now = invoke(event("GET", "/v1/time", "/v1/time", caller=None), api.context)
    assert status == 200 and now["data"]["time"].endswith("Z")
