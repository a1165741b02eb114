"""The pipeline from request body to store items: all or nothing, server fields on every
item, one item per store key, and what the upload means for the summariser."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tidewater.domain.datums.pipeline import prepare
from tidewater.domain.errors import InvalidData
from tidewater.domain.outdated import touched_periods

NOW = datetime(2024, 3, 5, 12, 0, 0, tzinfo=UTC)


def cbg(time: str, value: float = 120, **fields: Any) -> dict[str, Any]:
    return {"type": "cbg", "deviceId": "G6", "time": time, "value": value, "units": "mg/dL"} | (
        fields
    )


def smbg(time: str, value: float = 6.1) -> dict[str, Any]:
    return {"type": "smbg", "deviceId": "M1", "time": time, "value": value, "units": "mmol/L"}


def basal(time: str) -> dict[str, Any]:
    return {
        "type": "basal",
        "deliveryType": "scheduled",
        "rate": 0.9,
        "duration": 3600000,
        "deviceId": "P1",
        "time": time,
    }


def test_every_item_gets_the_server_fields() -> None:
    datums = [cbg("2024-03-05T11:00:00Z"), basal("2024-03-05T10:00:00Z")]
    for legacy in (False, True):
        items = prepare(datums, legacy=legacy, user_id="u1", upload_id="up9", now=NOW)
        assert len(items) == 2
        for item in items:
            assert item["userId"] == "u1"
            assert item["uploadId"] == "up9"
            assert item["createdTime"] == "2024-03-05T12:00:00.000Z"
            assert isinstance(item["id"], str) and len(item["id"]) == 32
            assert isinstance(item["dedupKey"], str) and item["dedupKey"]


def test_created_time_is_utc_whatever_the_zone_of_now() -> None:
    now = datetime(2024, 3, 5, 14, 0, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    (item,) = prepare(
        [cbg("2024-03-05T11:00:00Z")], legacy=False, user_id="u", upload_id="x", now=now
    )
    assert item["createdTime"] == "2024-03-05T12:00:00.250Z"


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        prepare([], legacy=False, user_id="u", upload_id="x", now=datetime(2024, 3, 5))


def test_one_bad_datum_and_nothing_is_prepared() -> None:
    datums = [cbg("2024-03-05T11:00:00Z"), cbg("2024-03-05T11:05:00Z", value=-3)]
    before = copy.deepcopy(datums)
    with pytest.raises(InvalidData) as caught:
        prepare(datums, legacy=False, user_id="u", upload_id="x", now=NOW)
    assert [p.pointer for p in caught.value.errors] == ["/1/value"]
    assert datums == before


def test_prepare_does_not_modify_the_upload() -> None:
    datums = [cbg("2024-03-05T11:00:00Z", id="mine", _meta=1), basal("2024-03-05T10:00:00Z")]
    before = copy.deepcopy(datums)
    prepare(datums, legacy=True, user_id="u", upload_id="x", now=NOW)
    assert datums == before


def test_items_are_plain_json() -> None:
    datums = [
        cbg("2024-03-05T11:00:00+01:00", payload={"a": [1, 2.5, None, True]}),
        smbg("2024-03-05T11:00:00Z"),
    ]
    items = prepare(datums, legacy=False, user_id="u", upload_id="x", now=NOW)
    assert json.loads(json.dumps(items, allow_nan=False)) == items


def test_platform_dedup_key_is_the_same_when_reposted_to_another_dataset() -> None:
    datum = cbg("2024-03-05T11:00:00Z", guid="x")
    (first,) = prepare([datum], legacy=False, user_id="u", upload_id="up1", now=NOW)
    later = NOW + timedelta(days=1)
    (again,) = prepare([datum], legacy=False, user_id="u", upload_id="up2", now=later)
    assert first["id"] != again["id"]
    assert (first["type"], first["time"], first["dedupKey"]) == (
        again["type"],
        again["time"],
        again["dedupKey"],
    )


def test_one_item_per_store_key() -> None:
    datums = [
        cbg("2024-03-05T11:00:00Z"),
        cbg("2024-03-05T12:00:00+01:00"),  # the same instant
        cbg("2024-03-05T11:00:00Z", value=121),  # a different reading
        cbg("2024-03-05T11:00:00Z", deviceId="G7"),
    ]
    for legacy, expected in ((False, 3), (True, 2)):
        items = prepare(datums, legacy=legacy, user_id="u", upload_id="x", now=NOW)
        keys = {(i["type"], i["time"], i["dedupKey"]) for i in items}
        assert len(items) == len(keys) == expected


def test_legacy_cbg_ids_ignore_the_value() -> None:
    items = prepare(
        [cbg("2024-03-05T11:00:00Z"), cbg("2024-03-05T11:00:00Z", value=130)],
        legacy=True,
        user_id="u",
        upload_id="x",
        now=NOW,
    )
    (item,) = items
    assert item["originalValue"] == 130  # the later one wins


def test_glucose_in_the_summary_window_marks_its_hours_and_nothing_else() -> None:
    datums = [
        cbg("2022-03-05T11:59:59.999Z"),  # 1 ms too old
        cbg("2022-03-05T12:00:00.000Z"),  # the oldest counted
        cbg("2024-03-05T11:00:00Z"),
        smbg("2024-03-06T12:00:00.000Z"),  # the newest counted
        basal("2020-01-01T00:00:00Z"),
    ]
    items = prepare(datums, legacy=False, user_id="u", upload_id="x", now=NOW)
    assert len(items) == 5
    # 1 ms too far ahead: an upload refuses it (test_future_time_is_refused_at_its_time),
    # and the window does not count it either.
    too_far_ahead = ("smbg", "2024-03-06T12:00:00.001Z")
    touched = touched_periods([*((i["type"], i["time"]) for i in items), too_far_ahead], NOW)
    assert touched == {"cbg#2022-03-05T12", "cbg#2024-03-05T11", "smbg#2024-03-06T12"}


def test_an_upload_without_glucose_changes_no_summary() -> None:
    items = prepare(
        [basal("2024-03-05T10:00:00Z")], legacy=False, user_id="u", upload_id="x", now=NOW
    )
    assert touched_periods(((i["type"], i["time"]) for i in items), NOW) == frozenset()


def test_an_empty_upload_is_fine() -> None:
    assert prepare([], legacy=False, user_id="u", upload_id="x", now=NOW) == []


def test_future_time_is_refused_at_its_time() -> None:
    datums = [cbg("2024-03-06T12:00:00.000Z"), basal("2024-03-05T12:00:00Z"),
              smbg("2024-03-06T13:00:00+01:00"), cbg("2024-03-06T12:00:00.001Z")]  # fmt: skip
    with pytest.raises(InvalidData) as refused:
        prepare(datums, legacy=False, user_id="u", upload_id="x", now=NOW)
    assert [(p.pointer, p.code) for p in refused.value.errors] == [
        ("/3/time", "value-out-of-range")
    ]
    assert "2024-03-06T12:00:00.000Z" in refused.value.errors[0].detail
