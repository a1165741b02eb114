"""Linked events (spec/linking-events.md), through the platform and the legacy paths."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.spec_examples import BOLUS_ID, SPEC_BOLUS, SPEC_WIZARD, WIZARD_ID
from tidewater.domain.datums.pipeline import prepare, prepare_batch
from tidewater.domain.errors import InvalidData

NOW = datetime(2016, 6, 14, 18, 3, 50, 662000, tzinfo=UTC)
CREATED = "2016-06-14T18:03:50.662Z"


def stored_bolus(with_guid: bool = True) -> dict[str, Any]:
    """The spec's stored bolus, without the fields the store itself adds (`_groupId`, ...)."""
    bolus = {
        "type": "bolus",
        "subType": "normal",
        "normal": 1,
        "clockDriftOffset": 0,
        "conversionOffset": 0,
        "deviceId": "DevId0987654321",
        "deviceTime": "2016-06-14T10:52:45",
        "time": "2016-06-14T17:52:45.845Z",
        "timezoneOffset": -420,
        "guid": "4c2f3acc-8d1d-4df0-bc88-2fad64df8151",
    }
    if not with_guid:
        del bolus["guid"]
    return bolus


def stored_wizard() -> dict[str, Any]:
    return {
        "type": "wizard",
        "bgInput": 1.7762393571345707,
        "bgTarget": {"target": 4.718135792388703, "high": 8.048584587016023},
        "carbInput": 109,
        "insulinCarbRatio": 6,
        "insulinOnBoard": 20.032,
        "insulinSensitivity": 0.33304487946273204,
        "recommended": {"carb": 18.25, "correction": 5.25, "net": 3.5},
        "units": "mmol/L",
        "clockDriftOffset": 0,
        "conversionOffset": 0,
        "deviceId": "DevId0987654321",
        "deviceTime": "2016-06-14T10:52:45",
        "time": "2016-06-14T17:52:45.845Z",
        "timezoneOffset": -420,
        "guid": "b6a3e6b7-d44f-44bb-810e-189b8f2b03c2",
    }


def ids(*values: str) -> Callable[[], str]:
    it: Iterator[str] = iter(values)
    return lambda: next(it)


def run(datums: list[dict[str, Any]], *, legacy: bool, **kw: Any) -> list[dict[str, Any]]:
    return prepare(
        copy.deepcopy(datums), legacy=legacy, user_id="user1", upload_id="up1", now=NOW, **kw
    )


def without_server_fields(item: dict[str, Any]) -> dict[str, Any]:
    server = {"id", "dedupKey", "userId", "uploadId", "createdTime", "bolus"}
    return {k: v for k, v in item.items() if k not in server}


# --- platform path -------------------------------------------------------------------------


def test_platform_wizard_with_embedded_bolus_becomes_two_linked_datums() -> None:
    a, b = "9006526e4d8344a3987eea1a5f327426", "f2b9eb6c319b422f9b89cfb60bc2e298"
    bolus, wizard = run([SPEC_WIZARD], legacy=False, new_id=ids(a, b))
    assert bolus["id"] == a and wizard["id"] == b
    assert wizard["bolus"] == bolus["id"]
    assert without_server_fields(bolus) == stored_bolus(with_guid=False)
    assert without_server_fields(wizard) == stored_wizard()
    for item in (bolus, wizard):
        assert item["userId"] == "user1"
        assert item["uploadId"] == "up1"
        assert item["createdTime"] == CREATED


def test_platform_ids_are_random_32_hex() -> None:
    bolus, wizard = run([SPEC_WIZARD], legacy=False)
    assert wizard["bolus"] == bolus["id"] != wizard["id"]
    for item in (bolus, wizard):
        assert len(item["id"]) == 32 and int(item["id"], 16) >= 0


def test_platform_embedded_bolus_problems_point_inside_the_wizard() -> None:
    bad = copy.deepcopy(SPEC_WIZARD)
    bad["bolus"]["normal"] = 250
    bad["bolus"]["time"] = "2016-06-14 17:52"
    with pytest.raises(InvalidData) as caught:
        run([SPEC_BOLUS, bad], legacy=False)
    assert [(p.pointer, p.code) for p in caught.value.errors] == [
        ("/1/bolus/time", "value-not-valid"),
        ("/1/bolus/normal", "value-out-of-range"),
    ]


def test_an_outer_that_already_names_its_inner_keeps_the_id() -> None:
    wizard = {**SPEC_WIZARD, "bolus": "9006526e4d8344a3987eea1a5f327426"}
    for legacy in (False, True):
        (item,) = run([wizard], legacy=legacy)
        assert item["bolus"] == "9006526e4d8344a3987eea1a5f327426"


def test_platform_alarm_with_embedded_status_becomes_two_linked_datums() -> None:
    status = {
        "type": "deviceEvent",
        "subType": "status",
        "status": "suspended",
        "reason": {"suspended": "automatic"},
        "deviceId": "Pump1",
        "time": "2016-06-14T17:52:45.845Z",
    }
    alarm = {
        "type": "deviceEvent",
        "subType": "alarm",
        "alarmType": "no_insulin",
        "deviceId": "Pump1",
        "time": "2016-06-14T17:52:45.845Z",
        "status": status,
    }
    change = {**alarm, "subType": "reservoirChange", "time": "2016-06-14T18:00:00.000Z"}
    del change["alarmType"]
    items = run([alarm, change], legacy=False, new_id=ids("s1", "a1", "r1"))
    assert [(i["subType"], i["id"]) for i in items] == [
        ("status", "s1"),
        ("alarm", "a1"),
        ("reservoirChange", "r1"),
    ]
    # Both embed the same status (same device, time, content): stored once, linked twice.
    assert items[1]["status"] == "s1" and items[2]["status"] == "s1"


def test_platform_same_event_twice_in_one_upload_is_one_item() -> None:
    cbg = {"type": "cbg", "deviceId": "G6", "time": "2016-06-14T17:50:00Z", "value": 100}
    cbg["units"] = "mg/dL"
    items = run([cbg, {**cbg, "guid": "later"}], legacy=False)
    assert len(items) == 1
    assert items[0]["guid"] == "later"


# --- legacy (jellyfish) path ---------------------------------------------------------------


def test_legacy_bolus_then_wizard() -> None:
    items = run([SPEC_BOLUS, SPEC_WIZARD], legacy=True)
    assert [i["id"] for i in items] == [BOLUS_ID, WIZARD_ID]
    bolus, wizard = items
    assert wizard["bolus"] == BOLUS_ID
    assert without_server_fields(bolus) == stored_bolus()
    assert without_server_fields(wizard) == stored_wizard()
    assert bolus["dedupKey"] == BOLUS_ID and wizard["dedupKey"] == WIZARD_ID


def test_legacy_wizard_then_bolus_gives_the_same_items() -> None:
    first = run([SPEC_BOLUS, SPEC_WIZARD], legacy=True)
    second = run([SPEC_WIZARD, SPEC_BOLUS], legacy=True)
    assert sorted(second, key=lambda i: i["id"]) == sorted(first, key=lambda i: i["id"])
    # The bolus is stored once, with the fields of the one uploaded on its own (its guid).
    boluses = [i for i in second if i["type"] == "bolus"]
    assert len(boluses) == 1 and boluses[0]["guid"] == SPEC_BOLUS["guid"]


def test_legacy_wizard_alone_stores_its_embedded_bolus_under_the_same_id() -> None:
    batch = prepare_batch(
        copy.deepcopy([SPEC_WIZARD]), legacy=True, user_id="u", upload_id="x", now=NOW
    )
    bolus, wizard = batch.items
    assert (bolus["id"], wizard["id"], wizard["bolus"]) == (BOLUS_ID, WIZARD_ID, BOLUS_ID)
    assert without_server_fields(bolus) == stored_bolus(with_guid=False)
    assert batch.embedded_only == frozenset({BOLUS_ID})


def test_legacy_bolus_in_another_upload_gets_the_same_id() -> None:
    (bolus,) = run([SPEC_BOLUS], legacy=True)
    assert bolus["id"] == BOLUS_ID


def test_platform_path_never_reports_embedded_only_items() -> None:
    batch = prepare_batch(
        copy.deepcopy([SPEC_WIZARD]), legacy=False, user_id="u", upload_id="x", now=NOW
    )
    assert batch.embedded_only == frozenset()


def reference_jellyfish(*fields: str) -> str:
    text = "".join(f + "_" for f in fields) + "bootstrap_"
    return base64.b32hexencode(hashlib.sha1(text.encode()).digest()).decode().lower()


STATUS: dict[str, Any] = {
    "type": "deviceEvent",
    "subType": "status",
    "status": "suspended",
    "reason": {"suspended": "automatic"},
    "deviceId": "Pump1",
    "time": "2016-06-14T17:00:00.000Z",
}
ALARM: dict[str, Any] = {
    "type": "deviceEvent",
    "subType": "alarm",
    "alarmType": "no_insulin",
    "deviceId": "Pump1",
    "time": "2016-06-14T17:00:00.000Z",
    "status": {k: v for k, v in STATUS.items() if k != "reason"} | {"reason": {}},
}


def test_legacy_alarm_links_to_the_status_uploaded_on_its_own() -> None:
    status_id = reference_jellyfish("deviceEvent", "status", STATUS["time"], "Pump1")
    alarm_id = reference_jellyfish("deviceEvent", "alarm", ALARM["time"], "Pump1")
    for order in ([STATUS, ALARM], [ALARM, STATUS]):
        items = {i["id"]: i for i in run(order, legacy=True)}
        assert set(items) == {status_id, alarm_id}
        assert items[alarm_id]["status"] == status_id
        assert items[status_id]["reason"] == {"suspended": "automatic"}


CBG = {"type": "cbg", "deviceId": "G6", "units": "mg/dL", "value": 110}
LEGACY_BATCH: list[dict[str, Any]] = [
    SPEC_BOLUS,
    SPEC_WIZARD,
    STATUS,
    ALARM,
    {**CBG, "time": "2016-06-14T17:50:00.000Z"},
    {**CBG, "time": "2016-06-14T17:50:00.000Z"},  # sent twice
    {**CBG, "time": "2016-06-14T17:55:00.000Z", "value": 115},
    {**CBG, "time": "2016-06-14T10:55:00-07:00", "value": 115},  # the same, another zone
    {"type": "smbg", "deviceId": "M1", "time": "2016-06-14T17:40:00.000Z", "value": 5.5}
    | {"units": "mmol/L"},
]


def as_set(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((i["id"], repr(sorted(i.items()))) for i in items)


@settings(max_examples=60, deadline=None)
@given(st.permutations(LEGACY_BATCH))
def test_any_order_of_a_legacy_batch_gives_the_same_items(batch: list[dict[str, Any]]) -> None:
    assert as_set(run(batch, legacy=True)) == as_set(run(LEGACY_BATCH, legacy=True))


def test_legacy_batch_is_collapsed_to_one_item_per_id() -> None:
    items = run(LEGACY_BATCH, legacy=True)
    assert len(items) == len({i["id"] for i in items}) == 7
