"""The spec's linked example (spec/linking-events.md): a bolus and the wizard that embeds
it, as a legacy client uploads them, and the ids the jellyfish recipe gives them."""

from __future__ import annotations

from typing import Any

BOLUS_ID = "hbnktcpbppt98g2a2o61qdc25k6kvo13"
WIZARD_ID = "aiipljcqrquq96pugkbr2bfj4mb4r2mv"

SPEC_BOLUS: dict[str, Any] = {
    "type": "bolus",
    "subType": "normal",
    "normal": 1,
    "clockDriftOffset": 0,
    "conversionOffset": 0,
    "deviceId": "DevId0987654321",
    "deviceTime": "2016-06-14T10:52:45",
    "guid": "4c2f3acc-8d1d-4df0-bc88-2fad64df8151",
    "time": "2016-06-14T17:52:45.845Z",
    "timezoneOffset": -420,
    "uploadId": "SampleUploadId",
}
SPEC_WIZARD: dict[str, Any] = {
    "type": "wizard",
    "bgInput": 32,
    "bgTarget": {"target": 85, "high": 145},
    "bolus": {
        "type": "bolus",
        "subType": "normal",
        "normal": 1,
        "clockDriftOffset": 0,
        "conversionOffset": 0,
        "deviceId": "DevId0987654321",
        "deviceTime": "2016-06-14T10:52:45",
        "time": "2016-06-14T17:52:45.845Z",
        "timezoneOffset": -420,
        "uploadId": "SampleUploadId",
    },
    "carbInput": 109,
    "insulinCarbRatio": 6,
    "insulinOnBoard": 20.032,
    "insulinSensitivity": 6,
    "recommended": {"carb": 18.25, "correction": 5.25, "net": 3.5},
    "units": "mg/dL",
    "clockDriftOffset": 0,
    "conversionOffset": 0,
    "deviceId": "DevId0987654321",
    "deviceTime": "2016-06-14T10:52:45",
    "guid": "b6a3e6b7-d44f-44bb-810e-189b8f2b03c2",
    "time": "2016-06-14T17:52:45.845Z",
    "timezoneOffset": -420,
    "uploadId": "SampleUploadId",
}
