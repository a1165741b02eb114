"""The treatment mapping table, one case per row: Nightscout's documented event types (the
careportal's list, and what Loop, AndroidAPS and xDrip+ send) to the Tidepool datums they
mean, with the values worked by hand from Nightscout's units (minutes, U, U/h, g)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tidewater.domain import datums
from tidewater.domain import nightscout_treatments as nt
from tidewater.domain.errors import InvalidData

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
AT = "2026-11-21T08:00:00Z"

# eventType, fields -> [(type, the fields that matter)]
ROWS: list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    ("Bolus", {"insulin": 2}, [("bolus", {"subType": "normal", "normal": 2.0})]),
    ("Correction Bolus", {"insulin": 1.5, "programmed": 2.0},
     [("bolus", {"subType": "normal", "normal": 1.5, "expectedNormal": 2.0})]),
    ("Meal Bolus", {"insulin": 4, "carbs": 40},
     [("bolus", {"normal": 4.0}), ("wizard", {"carbInput": 40.0, "units": "mg/dL"})]),
    ("Snack Bolus", {"carbs": 15}, [("food", {"nutrition": {"carbohydrate": {
        "net": 15.0, "units": "grams"}}})]),
    ("Combo Bolus", {"enteredinsulin": 3, "splitNow": 40, "splitExt": 60, "duration": 90},
     [("bolus", {"subType": "dual/square", "normal": 3 - 3 * 0.6, "extended": 3 * 0.6,
                 "duration": 5_400_000})]),
    ("Bolus Wizard", {"insulin": 1, "carbs": 10}, [("bolus", {}), ("wizard", {"carbInput": 10.0})]),
    ("Carb Correction", {"carbs": 20}, [("food", {})]),
    ("Carbs", {"carbs": 5}, [("food", {})]),
    ("<none>", {"insulin": 0.5}, [("bolus", {"normal": 0.5})]),
    ("Temp Basal", {"absolute": 0.8, "percent": 60, "duration": 45},
     [("basal", {"deliveryType": "temp", "rate": 0.8, "percent": 1.6, "duration": 2_700_000})]),
    ("Temp Basal Start", {"rate": 1.2, "duration": 30},
     [("basal", {"deliveryType": "temp", "rate": 1.2, "duration": 1_800_000})]),
    ("Site Change", {}, [("deviceEvent", {"subType": "prime", "primeTarget": "cannula"})]),
    ("Insulin Change", {}, [("deviceEvent", {"subType": "reservoirChange"})]),
    ("BG Check", {"glucose": 5.5, "units": "mmol", "glucoseType": "Manual"},
     [("smbg", {"value": 5.5, "units": "mmol/L", "subType": "manual"})]),
]  # fmt: skip


def one(event: str, **fields: Any) -> nt.Treatment:
    (treatment,), _ = nt.parse({"eventType": event, "created_at": AT, **fields}, "u", NOW)
    return treatment


def test_every_row_of_the_table_has_a_case() -> None:
    assert {row[0] for row in ROWS} == set(nt.MAPPING)


@pytest.mark.parametrize(("event", "fields", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_mapped_row(event: str, fields: dict[str, Any], expected: list) -> None:
    treatment = one(event, **fields)
    assert treatment.reason is None
    assert [d["type"] for d in treatment.datums] == [kind for kind, _ in expected]
    for datum, (_, wanted) in zip(treatment.datums, expected, strict=True):
        assert {k: datum[k] for k in wanted} == wanted
        assert datum["time"] == "2026-11-21T08:00:00.000Z"
    datums.validate_all(treatment.datums, NOW)  # valid Tidepool datums, as they are


@pytest.mark.parametrize("event", sorted(nt.KEPT))
def test_kept_row(event: str) -> None:
    treatment = one(event, notes="text")
    assert treatment.datums == [] and treatment.reason.startswith("kept as a Nightscout")
    assert treatment.body["notes"] == "text"


def test_an_unknown_event_type_is_kept_and_says_so() -> None:
    treatment = one("Pizza Party")
    assert treatment.datums == [] and "'Pizza Party'" in str(treatment.reason)


def test_a_meal_bolus_links_its_bolus_and_keeps_notes() -> None:
    bolus, wizard = one("Meal Bolus", insulin=2, carbs=20, notes="lunch").datums
    assert wizard["bolus"] == bolus["id"]
    assert bolus["notes"] == wizard["notes"] == ["lunch"]


def test_the_fields_decide_within_a_row() -> None:
    assert one("Meal Bolus", carbs=20).datums[0]["type"] == "food"
    assert one("Meal Bolus", insulin=2).datums[0]["type"] == "bolus"
    assert one("Meal Bolus").reason is not None
    assert one("Temp Basal", percent=-20, duration=30).reason is not None  # no rate
    assert one("Temp Basal", temp="percentage", rate=150, duration=30).reason is not None
    assert one("Temp Basal", absolute=0, duration=0).reason is not None  # a cancel
    assert one("Correction Bolus", insulin=0.2, isSMB=True).datums[0]["subType"] == "automated"
    assert one("Correction Bolus", insulin=0.2, automatic=True).datums[0]["subType"] == "automated"
    square = one("Correction Bolus", insulin=2, type="square", duration=60).datums[0]
    assert (square["subType"], square["extended"], square["duration"]) == ("square", 2.0, 3_600_000)


def test_identity_is_id_then_identifier_then_time_and_event() -> None:
    assert one("Note", _id="abc").id == "abc"
    by_identifier = one("Note", identifier="x-1")
    assert by_identifier.key == "identifier:x-1" and len(by_identifier.id) == 24
    assert one("Note").id == one("Note").id != one("Exercise").id
    assert nt.treatment_id("u", "k") != nt.treatment_id("v", "k")


def test_time_from_date_ms_or_now() -> None:
    (treatment,), _ = nt.parse({"eventType": "Note", "date": 1_795_168_800_000}, "u", NOW)
    assert treatment.created_at == "2026-11-20T10:00:00.000Z"
    (treatment,), _ = nt.parse({"eventType": "Note"}, "u", NOW)
    assert treatment.created_at == "2026-11-21T12:00:00.000Z"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [("text", ""), ([{"insulin": "x"}], "/0/insulin"), ([{"_id": 7}], "/0/_id"),
     ({"created_at": 5}, "/created_at"), ({"eventType": 3}, "/eventType"),
     ({"eventType": "Temp Basal", "absolute": 1, "duration": 1e305}, "/duration")],
)  # fmt: skip
def test_problems_point_into_the_body(body: Any, pointer: str) -> None:
    with pytest.raises(InvalidData) as raised:
        nt.parse(body, "u", NOW)
    assert pointer in [p.pointer for p in raised.value.errors]


def test_a_profile_time_out_of_the_day_is_refused_not_overflowed() -> None:
    from tidewater.domain import nightscout_records

    body = {"store": {"A": {"basal": [{"timeAsSeconds": 1e308, "value": 1}]}}, "mills": 1e308}
    with pytest.raises(InvalidData) as raised:
        nightscout_records.parse_profiles(body, "u", NOW)
    assert [p.pointer for p in raised.value.errors] == ["/store/A/basal/0/time"]
