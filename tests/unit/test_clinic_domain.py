"""Patient-list queries, the signed cursor and TIDE triage (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tidewater.domain import clinic
from tidewater.domain.errors import InvalidData


def test_defaults_are_fourteen_days_by_name_fifty_at_a_time() -> None:
    query = clinic.parse_patient_query({})
    assert (query.period, query.sort, query.descending, query.limit) == (
        "14d",
        "fullName",
        False,
        50,
    )


def test_sort_direction_and_filters_are_parsed() -> None:
    query = clinic.parse_patient_query(
        {
            "sort": "-cgm.timeInVeryLowPercent",
            "cgm.timeInAnyLowPercent": ">0.04",
            "cgm.timeInTargetPercentDelta": "<=-0.15",
            "limit": "10",
            "period": "7d",
        }
    )
    assert query.sort == "cgm.timeInVeryLowPercent" and query.descending
    assert query.filters == (
        clinic.Filter("cgm.timeInAnyLowPercent", ">", Decimal("0.04")),
        clinic.Filter("cgm.timeInTargetPercentDelta", "<=", Decimal("-0.15")),
    )


def test_every_bad_parameter_is_pointed_at() -> None:
    with pytest.raises(InvalidData) as raised:
        clinic.parse_patient_query(
            {
                "period": "3d",
                "sort": "-cgm.shoeSize",
                "limit": "101",
                "cgm.timeInLowPercent": "~1",
                "cgm.nothing": ">1",
            }
        )
    parameters = sorted(str(p.parameter) for p in raised.value.errors)
    assert parameters == ["cgm.nothing", "cgm.timeInLowPercent", "limit", "period", "sort"]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (">", 0.04, False),
        (">=", 0.04, True),
        ("<", 0.04, False),
        ("<=", 0.04, True),
        (">", 0.039, True),
        ("<", 0.041, True),
    ],
)
def test_filter_operators_at_and_beside_the_bound(op, value, expected) -> None:
    assert clinic.matches(0.04, clinic.Filter("m", op, Decimal(str(value)))) is expected


def _period(**values: float) -> dict:
    """A CGM period with the given metrics (percent fractions), records present."""
    period: dict = {"total": {"records": 100, "minutes": 500, "percent": 1}, "delta": {}}
    for name, value in values.items():
        if name == "timeCGMUsePercent":
            period[name] = value
        elif name == "timeInTargetPercentDelta":
            period["delta"]["inTarget"] = {"percent": value}
        else:
            period["in" + name.removeprefix("timeIn").removesuffix("Percent")] = {"percent": value}
    return period


HEALTHY = {"timeCGMUsePercent": 0.9, "timeInTargetPercent": 0.8}


@pytest.mark.parametrize(
    ("metric", "bound", "above_is_flagged", "category"),
    [
        ("timeInVeryLowPercent", 0.01, True, "timeInVeryLowPercent"),
        ("timeInAnyLowPercent", 0.04, True, "timeInAnyLowPercent"),
        ("timeInVeryHighPercent", 0.05, True, "timeInVeryHighPercent"),
        ("timeInAnyHighPercent", 0.25, True, "timeInAnyHighPercent"),
        ("timeInTargetPercentDelta", -0.15, False, "dropInTimeInTargetPercent"),
        ("timeCGMUsePercent", 0.7, False, "timeCGMUsePercentLessThan70"),
    ],
)
def test_tide_thresholds_at_and_either_side(metric, bound, above_is_flagged, category) -> None:
    def placed(value: float) -> str | None:
        report = clinic.tide_report([({"userId": "p"}, _period(**{**HEALTHY, metric: value}))])
        return next((name for name, rows in report.categories.items() if rows), None)

    flagged, clear = (
        (bound + 0.001, bound - 0.001) if above_is_flagged else (bound - 0.001, bound + 0.001)
    )
    assert placed(flagged) == category
    assert placed(bound) != category  # the thresholds are strict
    assert placed(clear) != category


def test_each_patient_is_in_the_first_matching_category_only() -> None:
    both = _period(**HEALTHY, timeInVeryLowPercent=0.02, timeInAnyHighPercent=0.5)
    report = clinic.tide_report([({"userId": "p"}, both)])
    assert [n for n, rows in report.categories.items() if rows] == ["timeInVeryLowPercent"]


def test_meeting_targets_needs_tir_and_use_of_seventy_percent() -> None:
    at = clinic.tide_report(
        [({"userId": "p"}, _period(timeCGMUsePercent=0.7, timeInTargetPercent=0.7))]
    )
    assert at.categories["meetingTargets"][0]["userId"] == "p"
    below = clinic.tide_report(
        [({"userId": "p"}, _period(timeCGMUsePercent=0.7, timeInTargetPercent=0.69))]
    )
    assert not any(below.categories.values())


def test_worst_first_within_a_category_and_no_data_listed() -> None:
    patients = [
        ({"userId": u}, _period(**HEALTHY, timeInVeryLowPercent=v))
        for u, v in (("a", 0.02), ("b", 0.09), ("c", 0.05))
    ]
    patients.append(({"userId": "n"}, None))
    report = clinic.tide_report(patients)
    assert [r["userId"] for r in report.categories["timeInVeryLowPercent"]] == ["b", "c", "a"]
    assert [r["userId"] for r in report.no_data] == ["n"]
