"""Tidewater's answers in Tidepool's shapes hold the fields Tidepool's published API
requires (tidepool-org/TidepoolApi at REFERENCE_COMMIT, the files named per shape). Fields
Tidewater cannot give are named, each with its reason, in ABSENT (and in
docs/tidepool-compatibility.md); a required field neither given nor named there fails."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tidewater.domain import tidepool
from tidewater.domain.accounts import Profile
from tidewater.domain.clinic import tide_report
from tidewater.domain.summary import summarize

REFERENCE_COMMIT = "2171c091a0333d840c4264fb0f4f5ace109e2822"

# `required:` of each schema, as the reference has it.
REQUIRED: dict[str, tuple[str, ...]] = {
    "auth/models/user.v1.yaml": ("userid", "emailVerified"),
    "auth/models/tokendata.v1.yaml": ("userid", "isserver"),
    "common/models/minimumclientversions.v1.yaml": ("versions",),
    "clinic/models/clinic.v1.yaml": ("id", "name", "shareCode", "canMigrate", "createdTime",
                                     "updatedTime", "tierDescription", "tier",
                                     "preferredBgUnits"),
    "clinic/models/clinician.v1.yaml": ("email", "roles", "createdTime", "updatedTime"),
    "clinic/models/patient.v1.yaml": ("id", "fullName", "birthDate", "createdTime",
                                      "updatedTime", "connectionRequests"),
    "summary/models/summaryDates.v1.yaml": ("hasFirstData", "hasLastData",
                                            "hasLastUploadDate", "hasOutdatedSince"),
    "summary/models/cgm/cgmPeriod.v1.yaml": (
        "hasAverageGlucoseMmol", "hasGlucoseManagementIndicator", "hasTimeInTargetPercent",
        "hasTimeInTargetMinutes", "hasTimeInTargetRecords", "hasTimeInHighPercent",
        "hasTimeInHighMinutes", "hasTimeInHighRecords", "hasTimeInVeryHighPercent",
        "hasTimeInVeryHighMinutes", "hasTimeInVeryHighRecords", "hasTimeInExtremeHighPercent",
        "hasTimeInExtremeHighMinutes", "hasTimeInExtremeHighRecords", "hasTimeInLowPercent",
        "hasTimeInLowMinutes", "hasTimeInLowRecords", "hasTimeInVeryLowPercent",
        "hasTimeInVeryLowMinutes", "hasTimeInVeryLowRecords", "hasTimeInAnyLowPercent",
        "hasTimeInAnyLowMinutes", "hasTimeInAnyLowRecords", "hasTimeInAnyHighPercent",
        "hasTimeInAnyHighMinutes", "hasTimeInAnyHighRecords", "hasTimeCGMUsePercent",
        "hasTimeCGMUseMinutes", "hasTimeCGMUseRecords", "hasTotalRecords",
        "hasAverageDailyRecords", "standardDeviation", "standardDeviationDelta",
        "coefficientOfVariation", "coefficientOfVariationDelta", "hoursWithData",
        "hoursWithDataDelta", "daysWithData", "daysWithDataDelta", "min", "minDelta", "max",
        "maxDelta",
    ),
    "summary/models/bgm/bgmPeriod.v1.yaml": (
        "min", "minDelta", "max", "maxDelta", "hasAverageGlucoseMmol",
        "hasTimeInTargetPercent", "hasTimeInTargetRecords", "hasTimeInHighPercent",
        "hasTimeInHighRecords", "hasTimeInVeryHighPercent", "hasTimeInVeryHighRecords",
        "hasTimeInExtremeHighPercent", "hasTimeInExtremeHighRecords", "hasTimeInLowPercent",
        "hasTimeInLowRecords", "hasTimeInVeryLowPercent", "hasTimeInVeryLowRecords",
        "hasTimeInAnyLowPercent", "hasTimeInAnyLowRecords", "hasTotalRecords",
        "hasAverageDailyRecords", "daysWithData", "daysWithDataDelta",
    ),
    "clinic/models/tide/tideConfig.v1.yaml": ("schemaVersion", "clinicId", "period",
                                             "lastDataCutoff", "highGlucoseThreshold",
                                             "veryHighGlucoseThreshold", "lowGlucoseThreshold",
                                             "veryLowGlucoseThreshold", "tags", "filters"),
    "clinic/models/tide/tidePatient.v1.yaml": ("id", "tags"),
}  # fmt: skip

# Required fields Tidewater does not answer, and why.
ABSENT: dict[str, dict[str, str]] = {
    "clinic/models/clinic.v1.yaml": {
        "shareCode": "clinic codes are single-use: only the POST that creates one shows it",
    },
    "clinic/models/patient.v1.yaml": {"birthDate": "Tidewater keeps no birth dates"},
    "summary/models/cgm/cgmPeriod.v1.yaml": {
        name: "the summary keeps no minimum or maximum" for name in
        ("min", "minDelta", "max", "maxDelta")
    },
    "summary/models/bgm/bgmPeriod.v1.yaml": {
        name: "the summary keeps no minimum or maximum" for name in
        ("min", "minDelta", "max", "maxDelta")
    },
}  # fmt: skip

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
PROFILE = Profile("0123456789", "Ann Tidepool", "patient", "2026-11-01T00:00:00.000Z")


def _holds(shape: str, answer: dict[str, Any]) -> None:
    missing = {f for f in REQUIRED[shape] if f not in answer} - set(ABSENT.get(shape, {}))
    assert not missing, f"{shape} requires {sorted(missing)}"


def _summary() -> dict[str, Any]:
    """Two days of CGM (5-min, 100 then 260 mg/dL) and a few meter readings, summarised."""
    start = NOW - timedelta(days=2)
    datums: list[dict[str, Any]] = [
        {"type": "cbg", "units": "mg/dL", "value": 100 if n < 288 else 260, "deviceId": "G6",
         "time": (start + timedelta(minutes=5 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for n in range(576)
    ]  # fmt: skip
    datums += [
        {"type": "smbg", "units": "mmol/L", "value": 5.5 + n, "deviceId": "M",
         "time": (NOW - timedelta(hours=3 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for n in range(3)
    ]  # fmt: skip
    summary = summarize(datums)
    summary["dates"] = {"lastUpdatedDate": "2026-11-21T12:01:00.000Z"}
    return summary


def test_the_user_answers_shorelines_required_fields() -> None:
    user = tidepool.user(PROFILE, {"email": "ann@example.org", "email_verified": True})
    _holds("auth/models/user.v1.yaml", user)
    assert user["userid"] == user["userId"] == PROFILE.user_id
    assert user["emails"] == ["ann@example.org"] and user["username"] == "ann@example.org"
    assert user["roles"] == []
    clinician = Profile("c1", "Doc", "clinician", PROFILE.created_time)
    assert tidepool.user(clinician, {})["roles"] == ["clinic"]  # Tidepool's only role


def test_info_answers_the_minimum_client_versions() -> None:
    info = tidepool.info()
    _holds("common/models/minimumclientversions.v1.yaml", info)
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["versions"]["uploaderMinimum"])


def test_a_clinic_answers_clinic_v1() -> None:
    clinic = tidepool.clinic({"id": "c", "name": "Seastar", "createdTime": PROFILE.created_time})
    _holds("clinic/models/clinic.v1.yaml", clinic)
    assert clinic["preferredBgUnits"] in ("mg/dL", "mmol/L")


def test_a_clinician_answers_clinician_v1() -> None:
    shown = tidepool.clinician("c1", "doc@example.org", "Doc", True, PROFILE.created_time)
    _holds("clinic/models/clinician.v1.yaml", shown)
    assert shown["roles"] == ["CLINIC_ADMIN"]
    assert tidepool.clinician("c1", "d", "D", False, "")["roles"] == ["CLINIC_MEMBER"]


def test_a_patient_and_its_summary_answer_the_reference() -> None:
    patient = tidepool.patient(PROFILE.user_id, PROFILE.full_name, PROFILE.created_time,
                               _summary())  # fmt: skip
    _holds("clinic/models/patient.v1.yaml", patient)
    cgm, bgm = patient["summary"]["cgmStats"], patient["summary"]["bgmStats"]
    _holds("summary/models/summaryDates.v1.yaml", cgm["dates"])
    assert set(cgm["periods"]) == set(bgm["periods"]) == {"1d", "7d", "14d", "30d"}
    for name in cgm["periods"]:
        _holds("summary/models/cgm/cgmPeriod.v1.yaml", cgm["periods"][name])
        _holds("summary/models/bgm/bgmPeriod.v1.yaml", bgm["periods"][name])
    day = cgm["periods"]["1d"]
    # The last day was all at 260 mg/dL (very high), the day before in target.
    assert day["timeInVeryHighPercent"] == 1.0 and day["timeInTargetPercent"] == 0.0
    assert day["timeInTargetPercentDelta"] == -1.0 and day["timeCGMUseMinutes"] == 1440
    assert day["hasTimeInTargetPercent"] is True
    assert day["averageGlucoseMmol"] == pytest.approx(260 / 18.01559)
    assert bgm["periods"]["1d"]["totalRecords"] == 3
    assert "timeCGMUsePercent" not in bgm["periods"]["1d"]


def test_a_patient_without_data_says_so_in_the_flags() -> None:
    patient = tidepool.patient("u", "No Data", PROFILE.created_time, None)
    dates = patient["summary"]["cgmStats"]["dates"]
    _holds("summary/models/summaryDates.v1.yaml", dates)
    assert dates["hasLastData"] is False and patient["summary"]["cgmStats"]["periods"] == {}


def test_tide_config_and_filters_answer_the_reference() -> None:
    config = tidepool.tide_config("c", "14d", "2026-11-14T00:00:00.000Z", [])
    _holds("clinic/models/tide/tideConfig.v1.yaml", config)
    for value in config["filters"].values():  # tideFilters.v1's pattern
        assert re.fullmatch(r"(>=|>|<=|<)\d\.\d\d?", value), value
    assert config["filters"]["dropInTimeInTargetPercent"] == ">0.15"
    names = tidepool.tide_category_names()
    assert names == ["timeInVeryLowPercent", "timeInAnyLowPercent", "timeInVeryHighPercent",
                     "timeInAnyHighPercent", "dropInTimeInTargetPercent", "timeCGMUsePercent",
                     "meetingTargets"]  # fmt: skip
    # Every name is one of the reference's `categories` values.
    assert set(names) <= {"timeInVeryLowPercent", "timeInAnyLowPercent",
                          "timeInExtremeHighPercent", "timeInVeryHighPercent",
                          "timeInAnyHighPercent", "dropInTimeInTargetPercent",
                          "timeInTargetPercent", "timeCGMUsePercent", "meetingTargets"}  # fmt: skip
    report = tide_report([({"userId": "u"}, None)])
    assert report.no_data == [{"userId": "u"}]


def test_data_sets_paging_refuses_what_the_platform_refuses() -> None:
    assert tidepool.data_sets_page({}) == (0, 100, None)
    assert tidepool.data_sets_page({"size": "1000", "page": "2", "deviceId": "d"}) == (2, 1000, "d")
    for bad in ({"size": "0"}, {"size": "1001"}, {"page": "-1"}, {"size": "x"}):
        with pytest.raises(Exception, match="must be a whole number") as raised:
            tidepool.data_sets_page(bad)
        assert raised.value.parameter == next(iter(bad))  # type: ignore[attr-defined]
