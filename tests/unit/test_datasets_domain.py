"""A new dataset's fields: what a client says about itself and its device."""

from __future__ import annotations

import pytest

from tidewater.domain.datasets import (
    DEFAULT_DEDUPLICATOR,
    Dataset,
    system_dataset_id,
    validate_new,
)
from tidewater.domain.errors import InvalidData

CLIENT = {"client": {"name": "org.tidepool.mobile", "version": "2.1.0"}}


def problems(body: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidData) as caught:
        validate_new(body)
    return [(p.pointer, p.code) for p in caught.value.errors]


def test_the_least_a_dataset_needs_is_a_client() -> None:
    fields = validate_new(CLIENT)
    assert fields == {**CLIENT, "dataSetType": "normal", "deduplicator": DEFAULT_DEDUPLICATOR}


def test_device_fields_are_echoed_and_others_dropped() -> None:
    body = {**CLIENT, "deviceId": "Dex-1", "deviceTags": ["cgm"], "deviceManufacturers": ["Dexcom"],
            "time": "2026-11-21T06:00:00+01:00", "timezone": "Europe/Paris",
            "timezoneOffset": 60, "computerTime": "2026-11-21T06:00:00",
            "dataSetType": "continuous", "userId": "someone-else", "_state": "x"}  # fmt: skip
    fields = validate_new(body)
    assert fields["time"] == "2026-11-21T06:00:00+01:00"  # as sent
    assert "userId" not in fields and "_state" not in fields
    assert fields["dataSetType"] == "continuous"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("/client", "value-missing")]),
        ([], [("", "type-not-valid")]),
        ({"client": "me"}, [("/client", "type-not-valid")]),
        ({"client": {"version": "1"}}, [("/client/name", "value-missing")]),
        ({"client": {"name": "x" * 101}}, [("/client/name", "value-out-of-range")]),
        ({**CLIENT, "deduplicator": {"version": "1"}}, [("/deduplicator/name", "value-missing")]),
        ({**CLIENT, "dataSetType": "weekly"}, [("/dataSetType", "value-not-valid")]),
        ({**CLIENT, "deviceTags": []}, [("/deviceTags", "value-not-valid")]),
        ({**CLIENT, "time": "yesterday"}, [("/time", "value-not-valid")]),
        ({**CLIENT, "timezoneOffset": 99999}, [("/timezoneOffset", "value-out-of-range")]),
    ],
)
def test_every_problem_has_a_pointer(body, expected) -> None:
    assert problems(body) == expected


def test_system_dataset_ids_are_stable_hex_and_per_user() -> None:
    a = system_dataset_id("legacy", "u1", "up")
    assert a == system_dataset_id("legacy", "u1", "up")
    assert len(a) == 32 and set(a) <= set("0123456789abcdef")
    assert len({a, system_dataset_id("legacy", "u2", "up"), system_dataset_id("legacy", "u1"),
                system_dataset_id("nightscout", "u1", "up")}) == 4  # fmt: skip


def test_the_api_shape_of_a_dataset() -> None:
    shown = Dataset("d" * 32, "u1", "2026-11-21T06:00:00.000Z", "closed", dict(CLIENT)).as_dict()
    assert shown == {**CLIENT, "id": "d" * 32, "uploadId": "d" * 32, "userId": "u1",
                     "type": "upload", "dataState": "closed",
                     "createdTime": "2026-11-21T06:00:00.000Z"}  # fmt: skip
