"""The summariser's threads: a batch's accounts summarised at once store what one at a time
stores (summaries and clinic rows), and an account that stays throttled costs only itself."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import clinic_share_code, sign_up_as
from tests.faults import ANY, Faults
from tidewater.domain.clinic import PERIODS
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import auth, clinics, ingest, summarizer
from tidewater.services.summaries import get_summary
from tidewater.store.repos import repositories

PASSWORD = "Correct-horse-9-battery"
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
PATIENTS = 6


def _patient(name: str) -> Caller:
    body = {"email": f"{name}@example.org", "password": PASSWORD, "fullName": "P"}
    return Caller(auth.sign_up(body, repositories(), utcnow()).user_id, "patient", Via.SESSION)


def _clinic(name: str) -> str:
    body = {"email": f"{name}@example.org", "password": PASSWORD, "fullName": "Doc"}
    doctor = Caller(sign_up_as(body, "clinician").user_id, "clinician", Via.SESSION)
    return str(clinics.create_clinic(doctor, {"name": name}, repositories(), utcnow())["id"])


def _datums(i: int, hours: range) -> list[dict[str, Any]]:
    """Patient i's CGM (a level of its own, with a swing) and a meter reading every 6 hours."""
    out: list[dict[str, Any]] = []
    for h in hours:
        at = START + timedelta(hours=h)
        out += [
            {
                "type": "cbg",
                "units": "mg/dL",
                "value": 60 + 20 * i + (n * 37 + h * 11) % 150,
                "deviceId": "DexG6_1",
                "time": format_utc(at + timedelta(minutes=5 * n, seconds=i)),
            }
            for n in range(12)
        ]
        if h % 6 == 0:
            value = 90 + 10 * i + h % 40
            reading = {"type": "smbg", "units": "mg/dL", "value": value, "deviceId": "meter"}
            out.append({**reading, "time": format_utc(at + timedelta(minutes=17))})
    return out


def _upload(caller: Caller, datums: list[dict[str, Any]]) -> None:
    dataset = ingest.create_dataset(caller, caller.user_id, {"client": {"name": "t"}},
                                    repositories())  # fmt: skip
    ingest.upload(caller, dataset.id, datums, repositories())


def _world(name: str, workers: int) -> list[dict[str, Any]]:
    """Patients in a clinic: a first summary, then an hour more of data (the update); what
    each patient's summary and clinic rows are at the end."""
    clinic_id = _clinic(name)
    patients = [_patient(f"{name}-{i}") for i in range(PATIENTS)]
    for patient in patients:
        clinics.share_patient(patient, clinic_id, patient.user_id, clinic_share_code(clinic_id),
                              repositories(), utcnow())  # fmt: skip
    for i, patient in enumerate(patients):
        _upload(patient, _datums(i, range(0, 30)))
    first = summarizer.run_iteration(repositories(), workers=workers)
    for i, patient in enumerate(patients):
        _upload(patient, _datums(i, range(30, 31 + i % 2)))
    update = summarizer.run_iteration(repositories(), workers=workers)
    assert (first.summarized, update.summarized) == (PATIENTS, PATIENTS)
    found = []
    for patient in patients:
        summary = get_summary(patient, patient.user_id, repositories())
        rows = {
            period: [
                {k: v for k, v in row.items() if k not in ("userId", "fullName")}
                for row in repositories().clinics.all_rows(clinic_id, period)
                if row["userId"] == patient.user_id
            ]
            for period in PERIODS
        }
        found.append(
            {
                "cgm": summary["cgm"],
                "bgm": summary["bgm"],
                "lastData": summary["dates"]["lastData"],
                "outdated": "outdatedSince" in summary["dates"],
                "rows": rows,
            }
        )
    return found


def test_accounts_summarised_at_once_store_what_one_at_a_time_stores(aws, monkeypatch) -> None:
    serial = _world("serial", workers=1)
    threads: set[str] = set()
    real = summarizer.summarize_account

    def recorded(user_id, repos, clock=None):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return real(user_id, repos, clock) if clock else real(user_id, repos)

    monkeypatch.setattr(summarizer, "summarize_account", recorded)
    parallel = _world("parallel", workers=4)
    assert len(threads) > 1 and all(name.startswith("summary") for name in threads)
    assert parallel == serial
    assert all(not p["outdated"] and all(p["rows"][period] for period in PERIODS)
               for p in parallel)  # fmt: skip
    assert len({json.dumps(p["cgm"], sort_keys=True) for p in parallel}) == PATIENTS


def test_an_account_that_stays_throttled_does_not_stop_the_others(faults: Faults) -> None:
    patients = [_patient(f"t-{i}") for i in range(PATIENTS)]
    for i, patient in enumerate(patients):
        _upload(patient, _datums(i, range(0, 6)))
    bad = patients[2].user_id
    faults.throttle(ANY, times=None, where=lambda params: bad in json.dumps(params, default=str))
    result = summarizer.run_iteration(repositories(), workers=4)
    assert (result.summarized, result.failed) == (PATIENTS - 1, 1)
    faults.clear()
    for patient in patients:
        summary = get_summary(patient, patient.user_id, repositories())
        if patient.user_id == bad:
            assert "outdatedSince" in summary["dates"] and "cgm" not in summary
        else:
            assert "outdatedSince" not in summary["dates"]
            assert summary["cgm"]["periods"]["1d"]["total"]["records"] == 72
