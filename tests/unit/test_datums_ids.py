"""Ids: random platform ids, deterministic jellyfish ids, JavaScript number strings, and the
platform dedup key."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any

import pytest

from tidewater.domain.datums.ids import (
    dedup_key,
    id_field_str,
    jellyfish_id,
    js_number_str,
    legacy_id,
    random_id,
)

TIME = "2016-06-14T17:52:45.845Z"


def reference_jellyfish(*fields: str) -> str:
    """The DESIGN.md recipe, written out independently."""
    text = "".join(f + "_" for f in fields) + "bootstrap_"
    return base64.b32hexencode(hashlib.sha1(text.encode()).digest()).decode().lower()


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (5.0, "5"),
        (5, "5"),
        (0.1, "0.1"),
        (1.7762393571345707, "1.7762393571345707"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (1.5e300, "1.5e+300"),
        (2.5e-7, "2.5e-7"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (0.0000015, "0.0000015"),
        (1e16, "10000000000000000"),
        (9007199254740994.0, "9007199254740994"),
        (9007199254740993.0, "9007199254740992"),
        (1.5e16, "15000000000000000"),
        (-2.5, "-2.5"),
        (-0.0, "0"),
        (0.0, "0"),
        (20.032, "20.032"),
        (100.0, "100"),
        (float("inf"), "Infinity"),
    ],
)
def test_js_number_str_writes_numbers_as_javascript_does(x: float, expected: str) -> None:
    assert js_number_str(x) == expected


def test_id_field_str_rejects_what_javascript_would_not_hash_meaningfully() -> None:
    assert id_field_str("bolus") == "bolus"
    assert id_field_str(True) == "true"
    with pytest.raises(TypeError):
        id_field_str({"a": 1})


def test_jellyfish_id_of_the_spec_bolus() -> None:
    fields = ["bolus", "normal", "DevId0987654321", TIME]
    assert jellyfish_id(fields) == "hbnktcpbppt98g2a2o61qdc25k6kvo13"


def test_jellyfish_id_of_the_spec_wizard() -> None:
    assert jellyfish_id(["wizard", "DevId0987654321", TIME]) == "aiipljcqrquq96pugkbr2bfj4mb4r2mv"


def test_legacy_id_uses_each_types_id_fields() -> None:
    bolus = {"type": "bolus", "subType": "normal", "deviceId": "DevId0987654321", "time": TIME}
    assert legacy_id(bolus) == "hbnktcpbppt98g2a2o61qdc25k6kvo13"
    basal = {"type": "basal", "deliveryType": "temp", "deviceId": "P1", "time": TIME, "rate": 1}
    assert legacy_id(basal) == reference_jellyfish("basal", "temp", "P1", TIME)
    event = {"type": "deviceEvent", "subType": "alarm", "deviceId": "P1", "time": TIME}
    assert legacy_id(event) == reference_jellyfish("deviceEvent", "alarm", TIME, "P1")
    cbg = {"type": "cbg", "deviceId": "G6", "time": TIME, "value": 5.5, "units": "mmol/L"}
    assert legacy_id(cbg) == reference_jellyfish("cbg", "G6", TIME)
    settings = {"type": "pumpSettings", "deviceId": "P1", "time": TIME}
    assert legacy_id(settings) == reference_jellyfish("pumpSettings", "P1", TIME)


def test_legacy_smbg_id_adds_the_mmol_value_as_javascript_writes_it() -> None:
    smbg = {"type": "smbg", "deviceId": "Meter1", "time": TIME, "value": 5.0, "units": "mmol/L"}
    assert legacy_id(smbg) == reference_jellyfish("smbg", "Meter1", TIME, "5")
    smbg["value"] = 6.25
    assert legacy_id(smbg) == reference_jellyfish("smbg", "Meter1", TIME, "6.25")


def test_legacy_id_needs_its_fields() -> None:
    with pytest.raises(ValueError, match="subType"):
        legacy_id({"type": "bolus", "deviceId": "P1", "time": TIME})


def test_jellyfish_ids_are_32_lowercase_base32hex() -> None:
    assert re.fullmatch(r"[0-9a-v]{32}", jellyfish_id(["x"]))


def test_random_ids_are_uuid4_without_dashes() -> None:
    ids = {random_id() for _ in range(1000)}
    assert len(ids) == 1000
    for value in list(ids)[:50]:
        assert re.fullmatch(r"[0-9a-f]{32}", value)
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def reading(**fields: Any) -> dict[str, Any]:
    datum = {
        "type": "cbg",
        "deviceId": "G6",
        "time": TIME,
        "units": "mmol/L",
        "value": 5.5,
        "originalValue": 99.0,
        "originalUnits": "mg/dL",
    }
    datum.update(fields)
    return datum


def test_dedup_key_is_the_same_for_the_same_event_in_another_dataset() -> None:
    first = reading(uploadId="up1", id="a" * 32, createdTime="x", guid="g1")
    again = reading(uploadId="up2", id="b" * 32, createdTime="y", guid="g2")
    assert dedup_key(first) == dedup_key(again)
    assert re.fullmatch(r"[0-9a-f]{16}", dedup_key(first))


@pytest.mark.parametrize(
    "change",
    [
        {"deviceId": "G7"},
        {"time": "2016-06-14T17:52:45.846Z"},
        {"value": 5.6},
        {"type": "smbg"},
        {"subType": "manual"},
    ],
)
def test_dedup_key_tells_different_events_apart(change: dict[str, Any]) -> None:
    assert dedup_key(reading()) != dedup_key(reading(**change))


def test_dedup_key_of_a_number_does_not_depend_on_int_or_float() -> None:
    assert dedup_key(reading(value=5)) == dedup_key(reading(value=5.0))


def test_dedup_key_tells_subtype_from_delivery_type() -> None:
    one = {"type": "basal", "deviceId": "P", "time": TIME, "subType": "temp"}
    other = {"type": "basal", "deviceId": "P", "time": TIME, "deliveryType": "temp"}
    assert dedup_key(one) != dedup_key(other)


def test_dedup_key_follows_a_source_record_id() -> None:
    origin = {"name": "nightscout", "id": "abc"}
    assert dedup_key(reading(origin=origin)) == dedup_key(reading(origin=origin, value=7.0))
    assert dedup_key(reading(origin=origin)) != dedup_key(
        reading(origin={"name": "nightscout", "id": "abd"})
    )
