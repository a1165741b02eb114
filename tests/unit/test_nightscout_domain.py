"""Nightscout v1 entries to datums and back."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from tidewater.domain.datums.pipeline import prepare
from tidewater.domain.errors import InvalidData
from tidewater.domain.nightscout import (
    datum_to_entry,
    datums_to_entries,
    entries_to_datums,
    nightscout_id,
)

NOW = datetime(2023, 11, 15, tzinfo=UTC)
# 1,700,000,000 s after the epoch is 2023-11-14 22:13:20 UTC.
DATE = 1_700_000_000_000
DATE_STRING = "2023-11-14T22:13:20.000Z"


def sgv(**fields: Any) -> dict[str, Any]:
    entry = {
        "type": "sgv",
        "sgv": 120,
        "date": DATE,
        "dateString": DATE_STRING,
        "direction": "Flat",
        "noise": 1,
        "device": "xDrip-DexcomG5",
        "filtered": 131232,
        "unfiltered": 129184,
        "rssi": 100,
    }
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


def problems(body: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidData) as caught:
        entries_to_datums(body)
    return [(p.pointer, p.code) for p in caught.value.errors]


def test_sgv_becomes_a_cbg_in_mg_dl() -> None:
    (datum,) = entries_to_datums([sgv()])
    assert datum == {
        "type": "cbg",
        "units": "mg/dL",
        "value": 120,
        "time": DATE_STRING,
        "deviceId": "nightscout:xDrip-DexcomG5",
        "trend": "Flat",
        "noise": 1,
        "filtered": 131232,
        "unfiltered": 129184,
        "rssi": 100,
        "origin": {"name": "nightscout", "id": nightscout_id("sgv", DATE)},
    }


def test_sgv_is_normalised_like_any_cbg() -> None:
    (item,) = prepare(entries_to_datums(sgv()), legacy=False, user_id="u", upload_id="x", now=NOW)
    assert item["value"] == 120 / 18.01559
    assert item["units"] == "mmol/L"
    assert (item["originalValue"], item["originalUnits"]) == (120, "mg/dL")


def test_a_single_entry_or_an_array_is_accepted() -> None:
    assert entries_to_datums(sgv()) == entries_to_datums([sgv()])


def test_a_missing_device_is_unknown() -> None:
    (datum,) = entries_to_datums([sgv(device=None)])
    assert datum["deviceId"] == "nightscout:unknown"


def test_date_string_is_used_when_there_is_no_date() -> None:
    (datum,) = entries_to_datums([sgv(date=None, dateString="2023-11-14T23:13:20+01:00")])
    assert datum["time"] == DATE_STRING
    assert datum["origin"]["id"] == nightscout_id("sgv", DATE)


def test_mbg_becomes_an_smbg() -> None:
    entry = {"type": "mbg", "mbg": 95, "date": DATE, "device": "Contour"}
    (datum,) = entries_to_datums([entry])
    assert datum["type"] == "smbg"
    assert (datum["value"], datum["units"]) == (95, "mg/dL")
    assert datum["deviceId"] == "nightscout:Contour"
    assert datum["time"] == DATE_STRING


def test_cal_becomes_a_calibration_device_event() -> None:
    entry = {"type": "cal", "slope": 850.5, "intercept": 30000, "scale": 1, "date": DATE}
    (datum,) = entries_to_datums([entry])
    assert datum["type"] == "deviceEvent" and datum["subType"] == "calibration"
    assert (datum["slope"], datum["intercept"], datum["scale"]) == (850.5, 30000, 1)
    (item,) = prepare([datum], legacy=False, user_id="u", upload_id="x", now=NOW)
    assert item["slope"] == 850.5


def test_problems_point_at_the_entry_and_field() -> None:
    body = [
        sgv(),
        sgv(sgv=1001),
        {"type": "sgv", "date": DATE},
        {"type": "treatment", "date": DATE},
        sgv(date=None, dateString=None),
        sgv(sgv=True, noise="high"),
        "not an entry",
        sgv(date=-1),
    ]
    assert problems(body) == [
        ("/1/sgv", "value-out-of-range"),
        ("/2/sgv", "value-missing"),
        ("/3/type", "value-not-valid"),
        ("/4/date", "value-missing"),
        ("/5/sgv", "type-not-valid"),
        ("/5/noise", "type-not-valid"),
        ("/6", "type-not-valid"),
        ("/7/date", "value-out-of-range"),
    ]


def test_a_single_entrys_problems_point_into_it() -> None:
    assert problems(sgv(sgv=-1)) == [("/sgv", "value-out-of-range")]
    assert problems("sgv") == [("", "type-not-valid")]


def test_sgv_edges() -> None:
    assert entries_to_datums([sgv(sgv=0), sgv(sgv=1000)])
    assert problems([sgv(sgv=1000.5)]) == [("/0/sgv", "value-out-of-range")]


def test_nightscout_id_is_deterministic_on_type_and_date() -> None:
    text = f"nightscout_sgv_{DATE}_"
    expected = base64.b32hexencode(hashlib.sha1(text.encode()).digest()).decode().lower()
    assert nightscout_id("sgv", DATE) == expected
    assert nightscout_id("sgv", DATE) != nightscout_id("mbg", DATE)
    assert nightscout_id("sgv", DATE) != nightscout_id("sgv", DATE + 1)


def test_a_reposted_entry_replaces_the_first_even_when_corrected() -> None:
    def key(entry: dict[str, Any]) -> tuple[str, str, str]:
        (item,) = prepare(
            entries_to_datums(entry), legacy=False, user_id="u", upload_id="x", now=NOW
        )
        return item["type"], item["time"], item["dedupKey"]

    assert key(sgv()) == key(sgv()) == key(sgv(sgv=125))
    assert key(sgv()) != key(sgv(date=DATE + 300_000))


def test_cbg_back_to_an_sgv_entry() -> None:
    (item,) = prepare(entries_to_datums(sgv()), legacy=False, user_id="u", upload_id="x", now=NOW)
    assert datum_to_entry(item) == {
        "_id": item["id"],
        "type": "sgv",
        "sgv": 120,
        "date": DATE,
        "dateString": DATE_STRING,
        "direction": "Flat",
        "noise": 1,
        "device": "xDrip-DexcomG5",
        "filtered": 131232,
        "unfiltered": 129184,
        "rssi": 100,
    }


@pytest.mark.parametrize(
    ("original", "units", "mgdl"),
    [
        (119.5, "mg/dL", 120),  # half up, as JavaScript's Math.round
        (119.49, "mg/dL", 119),
        (6.66, "mmol/L", 120),  # 6.66 x 18.01559 = 119.98
        (5.5, "mmol/L", 99),  # 5.5 x 18.01559 = 99.09
    ],
)
def test_sgv_is_whole_mg_dl(original: float, units: str, mgdl: int) -> None:
    datum = {"type": "cbg", "deviceId": "G6", "time": DATE_STRING, "value": original}
    (item,) = prepare([datum | {"units": units}], legacy=False, user_id="u", upload_id="x", now=NOW)
    assert datum_to_entry(item)["sgv"] == mgdl  # type: ignore[index]


def test_a_stored_value_without_its_original_is_converted_from_mmol() -> None:
    item = {"id": "i", "type": "cbg", "deviceId": "G6", "time": DATE_STRING, "value": 6.66}
    assert datum_to_entry(item | {"units": "mmol/L"})["sgv"] == 120  # type: ignore[index]


def test_smbg_and_calibration_back_to_entries_and_others_skipped() -> None:
    datums = entries_to_datums(
        [
            {"type": "mbg", "mbg": 95, "date": DATE},
            {"type": "cal", "slope": 850.5, "intercept": 30000, "scale": 1, "date": DATE},
        ]
    )
    basal = {
        "type": "basal",
        "deliveryType": "scheduled",
        "rate": 1,
        "duration": 1000,
        "deviceId": "P",
        "time": DATE_STRING,
    }
    items = prepare([*datums, basal], legacy=False, user_id="u", upload_id="x", now=NOW)
    entries = datums_to_entries(items)
    assert [e["type"] for e in entries] == ["mbg", "cal"]
    assert entries[0]["mbg"] == 95 and entries[0]["device"] == "unknown"
    assert (entries[1]["slope"], entries[1]["intercept"], entries[1]["scale"]) == (850.5, 30000, 1)
    assert all(e["date"] == DATE and e["dateString"] == DATE_STRING for e in entries)


def test_utc_offset_round_trips_as_timezone_offset() -> None:
    (datum,) = entries_to_datums([sgv(utcOffset=-300)])
    assert datum["timezoneOffset"] == -300
    (item,) = prepare([datum], legacy=False, user_id="u", upload_id="x", now=NOW)
    assert datum_to_entry(item)["utcOffset"] == -300  # type: ignore[index]
