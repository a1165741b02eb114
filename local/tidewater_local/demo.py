"""Demo accounts for `tidewater local --demo`, made through the same service as sign-up.

Their ids are fixed, so that data kept in the snapshot stays theirs across restarts (moto
keeps Cognito users in memory only: they are made again at every start).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tidewater.domain.errors import Conflict
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import auth, clinics, ingest, summarizer
from tidewater.store.identity import NewUser
from tidewater.store.repos import Repositories

DEMO_PASSWORD = "Tidewater-demo-1"  # noqa: S105 - a local demo, printed at start-up


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    role: str
    user_id: str


DEMO_ACCOUNTS = (
    DemoAccount("alice@tidewater.test", "Alice Patient", "patient", "de00000001"),
    DemoAccount("bob@tidewater.test", "Bob Patient", "patient", "de00000002"),
    DemoAccount("carol@tidewater.test", "Dr Carol Clinician", "clinician", "de00000003"),
)


DEMO_CLINIC = "Seastar Endocrinology"


def create_demo_clinic(repos: Repositories) -> str:
    """Dr Carol's clinic, with Alice and Bob sharing their data with it."""
    carol, *patients = (a for a in reversed(DEMO_ACCOUNTS))
    found = repos.clinics.clinics_of(carol.user_id)
    if found:
        return sorted(found)[0]
    clinician = Caller(carol.user_id, carol.role, Via.SESSION)
    clinic_id = str(clinics.create_clinic(clinician, {"name": DEMO_CLINIC}, repos, utcnow())["id"])
    for patient in patients:
        caller = Caller(patient.user_id, patient.role, Via.SESSION)
        clinics.share_patient(caller, clinic_id, patient.user_id, {}, repos, utcnow())
    return clinic_id


def create_demo_accounts(repos: Repositories) -> list[DemoAccount]:
    for account in DEMO_ACCOUNTS:
        body = {
            "email": account.email,
            "password": DEMO_PASSWORD,
            "fullName": account.full_name,
            "role": account.role,
        }
        try:
            auth.sign_up(body, repos, utcnow(), user_id=account.user_id)
        except Conflict:  # restored from the snapshot: only the credentials are missing
            repos.identity.create_user(
                NewUser(
                    account.email, DEMO_PASSWORD, account.full_name, account.user_id, account.role
                )
            )
    return list(DEMO_ACCOUNTS)


# Each demo patient's CGM: (mean mg/dL, daily swing, noise, share of time very low).
_PROFILES = {"de00000001": (130.0, 35.0, 12.0, 0.0), "de00000002": (175.0, 70.0, 25.0, 0.03)}
DEMO_DAYS = 14


def create_demo_data(repos: Repositories, now: datetime | None = None) -> int:
    """Two weeks of 5-min CGM for each demo patient who has none yet, uploaded through the
    upload service (a dataset per patient), then summarised: the demo clinic's list has
    numbers from the start. Returns the datums stored."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    stored = 0
    for user_id, (mean, swing, noise, lows) in _PROFILES.items():
        caller = Caller(user_id, "patient", Via.SESSION)
        if repos.datums.latest(user_id, "cbg", "0000", "9999", 1):
            continue
        rng = random.Random(user_id)  # the same demo every time
        start = now - timedelta(days=DEMO_DAYS)
        datums = []
        for n in range(DEMO_DAYS * 288):
            at = start + timedelta(minutes=5 * n)
            day_phase = 2 * math.pi * (at.hour * 60 + at.minute) / 1440
            value = mean + swing * math.sin(day_phase - 1.0) + rng.gauss(0, noise)
            if rng.random() < lows:
                value = rng.uniform(40, 53)
            datums.append(
                {
                    "type": "cbg",
                    "units": "mg/dL",
                    "value": round(min(max(value, 40), 400)),
                    "deviceId": "DemoCGM_0001",
                    "time": format_utc(at),
                }
            )
        dataset = ingest.create_dataset(
            caller, user_id, {"client": {"name": "org.tidewater.demo", "version": "1.0"}}, repos
        )
        for chunk in range(0, len(datums), 1000):
            stored += ingest.upload(caller, dataset.id, datums[chunk : chunk + 1000], repos).stored
    if stored:
        summarizer.run_iteration(repos)
    return stored
