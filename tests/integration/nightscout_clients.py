"""Treatments shaped as the uploaders send them, field for field.

Loop: LoopKit's NightscoutUploadKit (`Treatments/BolusNightscoutTreatment.swift`,
`MealBolusNightscoutTreatment.swift`, `TempBasalNightscoutTreatment.swift`,
`NightscoutTreatment.swift`): `created_at` and `timestamp`, `enteredBy: loop://<device>`,
bolus `type`/`insulin`/`programmed`/`unabsorbed`/`duration` (minutes)/`automatic`, temp
`temp`/`rate`/`absolute`/`duration` (minutes), glucose units `mg/dL`.
AndroidAPS: its NSClient v1 upload (`enteredBy: openaps://AndroidAPS`, `date` in ms, `isSMB`,
`isValid`, `pumpId`/`pumpType`/`pumpSerial`, temp basal `absolute`/`rate`/`percent` relative
to the profile/`duration` minutes with `durationInMilliseconds`, Combo Bolus
`enteredinsulin`/`splitNow`/`splitExt`/`relative`).
xDrip+: `utilitymodels/NightscoutUploader.java` (`eventType: <none>` for insulin and carbs,
`uuid`, `timestamp` ms, `sysTime`, `enteredBy: xdrip`; BG Check `glucose`/`glucoseType`/`units`).
"""

from __future__ import annotations

from typing import Any

from tidewater.domain.timeutil import format_utc, from_epoch_ms, parse_rfc3339, to_epoch_ms

LOOP_AT = "2026-11-20T08:00:00Z"
AAPS_AT_MS = to_epoch_ms(parse_rfc3339("2026-11-20T10:00:00Z"))
XDRIP_AT = "2026-11-20T12:00:00.000Z"


def loop() -> list[dict[str, Any]]:
    base = {"created_at": LOOP_AT, "timestamp": LOOP_AT, "enteredBy": "loop://iPhone"}
    return [
        {**base, "eventType": "Correction Bolus", "type": "normal", "insulin": 1.5,
         "programmed": 1.5, "unabsorbed": 0, "duration": 0, "automatic": False},
        {**base, "created_at": "2026-11-20T08:05:00Z", "timestamp": "2026-11-20T08:05:00Z",
         "eventType": "Temp Basal", "temp": "absolute", "rate": 0.35, "absolute": 0.35,
         "duration": 30},
        {**base, "created_at": "2026-11-20T08:10:00Z", "timestamp": "2026-11-20T08:10:00Z",
         "eventType": "Meal Bolus", "carbs": 45, "insulin": 4.5, "glucose": 142,
         "glucoseType": "Meter", "units": "mg/dL"},
        {**base, "created_at": "2026-11-20T08:20:00Z", "timestamp": "2026-11-20T08:20:00Z",
         "eventType": "Correction Bolus", "type": "square", "insulin": 2.0, "programmed": 2.0,
         "unabsorbed": 0, "duration": 60, "automatic": False},
    ]  # fmt: skip


def aaps() -> list[dict[str, Any]]:
    def at(minutes: int) -> dict[str, Any]:
        ms = AAPS_AT_MS + minutes * 60_000
        return {"date": ms, "created_at": format_utc(from_epoch_ms(ms)),
                "enteredBy": "openaps://AndroidAPS", "isValid": True, "pumpType": "DANA_I",
                "pumpSerial": "serial"}  # fmt: skip

    return [
        {**at(0), "eventType": "Correction Bolus", "insulin": 0.3, "type": "SMB", "isSMB": True,
         "pumpId": 4101},
        {**at(5), "eventType": "Temp Basal", "duration": 30, "durationInMilliseconds": 1_800_000,
         "rate": 0.64, "absolute": 0.64, "percent": -20, "type": "NORMAL", "pumpId": 4102},
        {**at(10), "eventType": "Carb Correction", "carbs": 20, "duration": 0},
        {**at(15), "eventType": "Combo Bolus", "enteredinsulin": 3.0, "splitNow": 0,
         "splitExt": 100, "duration": 120, "relative": 1.5, "insulin": 0},
        {**at(20), "eventType": "Site Change", "notes": "new cannula"},
        {**at(25), "eventType": "Insulin Change"},
        {**at(30), "eventType": "Temporary Target", "duration": 60, "reason": "Activity",
         "targetBottom": 140, "targetTop": 140, "units": "mg/dl"},
    ]  # fmt: skip


def _xdrip_ms(index: int) -> int:
    return to_epoch_ms(parse_rfc3339(XDRIP_AT)) + index * 5 * 60_000


def xdrip() -> list[dict[str, Any]]:
    return [
        {"timestamp": _xdrip_ms(0), "eventType": "<none>", "enteredBy": "xdrip",
         "uuid": "8f14e45f-ceea-467f-a8f5-000000000001", "carbs": 12, "insulin": 1.0,
         "created_at": XDRIP_AT, "sysTime": "2026-11-20T12:00:00.000+0000"},
        {"timestamp": _xdrip_ms(1), "eventType": "BG Check", "enteredBy": "xdrip",
         "uuid": "8f14e45f-ceea-467f-a8f5-000000000002", "glucose": 6.2, "glucoseType": "Finger",
         "units": "mmol", "created_at": "2026-11-20T12:05:00.000Z"},
        {"timestamp": _xdrip_ms(2), "eventType": "Note", "enteredBy": "xdrip",
         "uuid": "8f14e45f-ceea-467f-a8f5-000000000003", "notes": "walked the dog",
         "created_at": "2026-11-20T12:10:00.000Z"},
        {"timestamp": _xdrip_ms(3), "eventType": "Sensor Start", "enteredBy": "xdrip",
         "uuid": "8f14e45f-ceea-467f-a8f5-000000000004", "created_at": "2026-11-20T12:15:00.000Z"},
    ]  # fmt: skip


def loop_device_status(at: str) -> dict[str, Any]:
    """NightscoutUploadKit's `DeviceStatus` (`device`, `created_at`, `pump`, `uploader`,
    `loop` with `iob`, `cob`, `predicted`, `enacted`)."""
    return {
        "device": "loop://iPhone",
        "created_at": at,
        "pump": {"clock": at, "pumpID": "pump", "reservoir": 112.5, "suspended": False,
                 "bolusing": False, "battery": {"percent": 75}},
        "uploader": {"name": "iPhone", "timestamp": at, "battery": 64},
        "loop": {"name": "Loop", "version": "3.2.3", "timestamp": at,
                 "iob": {"timestamp": at, "iob": 1.25},
                 "cob": {"timestamp": at, "cob": 12.0},
                 "predicted": {"startDate": at, "values": [142, 140, 137, 133]},
                 "enacted": {"timestamp": at, "rate": 0.35, "duration": 30, "received": True}},
    }  # fmt: skip


def aaps_profile(start: str) -> dict[str, Any]:
    """AndroidAPS's profile store upload (`defaultProfile`, `store.<name>` with `dia`,
    `carbratio`, `sens`, `basal`, `target_low`, `target_high` of `{time, value,
    timeAsSeconds}`, `units`, `timezone`)."""

    def entries(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
        return [{"time": t, "value": v, "timeAsSeconds": int(t[:2]) * 3600 + int(t[3:]) * 60}
                for t, v in pairs]  # fmt: skip

    return {
        "defaultProfile": "Weekday",
        "created_at": start,
        "startDate": start,
        "enteredBy": "openaps://AndroidAPS",
        "units": "mg/dl",
        "store": {
            "Weekday": {
                "dia": 5, "units": "mg/dl", "timezone": "Europe/Prague",
                "carbratio": entries(("00:00", 10), ("12:00", 12)),
                "sens": entries(("00:00", 45)),
                "basal": entries(("00:00", 0.8), ("06:30", 1.1), ("22:00", 0.7)),
                "target_low": entries(("00:00", 100), ("08:00", 90)),
                "target_high": entries(("00:00", 120)),
            },
            "Sport": {
                "dia": 5, "units": "mg/dl", "timezone": "Europe/Prague",
                "carbratio": entries(("00:00", 15)), "sens": entries(("00:00", 60)),
                "basal": entries(("00:00", 0.5)),
                "target_low": entries(("00:00", 140)), "target_high": entries(("00:00", 140)),
            },
        },
    }  # fmt: skip
