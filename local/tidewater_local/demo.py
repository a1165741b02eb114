"""Demo accounts and data for `tidewater local --demo`, made through the platform's own
services (sign-up, clinics, uploads, consent), so that they are what a user would have made.

Their ids are fixed and every step makes only what is missing: a restart on a kept data
directory finds the same accounts, clinic and data, and makes none of them again.
"""

from __future__ import annotations

import math
import random
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from tidewater.domain import donation
from tidewater.domain.errors import Conflict
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import auth, clinics, donations, ingest, summarizer
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
    DemoAccount("dana@tidewater.test", "Dana Researcher", "researcher", "de00000004"),
)


DEMO_CLINIC = "Seastar Endocrinology"


def create_demo_clinic(repos: Repositories) -> str:
    """Dr Carol's clinic, with Alice and Bob sharing their data with it."""
    *patients, carol = (a for a in DEMO_ACCOUNTS if a.role in ("patient", "clinician"))
    found = repos.clinics.clinics_of(carol.user_id)
    if found:
        return sorted(found)[0]
    clinician = Caller(carol.user_id, carol.role, Via.SESSION)
    clinic_id = str(clinics.create_clinic(clinician, {"name": DEMO_CLINIC}, repos, utcnow())["id"])
    for patient in patients:  # each with a code of the clinic's, as Dr Carol gives them
        code = clinics.create_clinic_share_code(clinician, clinic_id, repos, utcnow())
        caller = Caller(patient.user_id, patient.role, Via.SESSION)
        clinics.share_patient(caller, clinic_id, patient.user_id, code, repos, utcnow())
    return clinic_id


def _ensure_account(account: DemoAccount, repos: Repositories) -> None:
    """Sign-up (everyone is a patient), then the operator's grant of any other role."""
    body = {"email": account.email, "password": DEMO_PASSWORD, "fullName": account.full_name}
    try:
        auth.sign_up(body, repos, utcnow(), user_id=account.user_id)
    except Conflict:  # the account is there (a restart): its credentials may not be
        with suppress(Conflict):  # both kept by the snapshot: nothing to make
            repos.identity.create_user(
                NewUser(account.email, DEMO_PASSWORD, account.full_name, account.user_id)
            )
    if account.role != "patient":
        auth.grant_role(account.email, account.role, repos)


def create_demo_accounts(repos: Repositories) -> list[DemoAccount]:
    for account in DEMO_ACCOUNTS:
        _ensure_account(account, repos)
    return list(DEMO_ACCOUNTS)


# Each demo patient's CGM: (mean mg/dL, daily swing, noise, share of time very low).
_PROFILES = {"de00000001": (130.0, 35.0, 12.0, 0.0), "de00000002": (175.0, 70.0, 25.0, 0.03)}
DEMO_DAYS = 14


def _cgm(
    user_id: str, start: datetime, count: int, profile: tuple[float, float, float, float]
) -> list[dict[str, object]]:
    """`count` 5-min CGM readings from `start`, the same for the same account every time."""
    mean, swing, noise, lows = profile
    rng = random.Random(user_id)
    datums: list[dict[str, object]] = []
    for n in range(count):
        at = start + timedelta(minutes=5 * n)
        day_phase = 2 * math.pi * (at.hour * 60 + at.minute) / 1440
        value = mean + swing * math.sin(day_phase - 1.0) + rng.gauss(0, noise)
        # Only the deliberate lows are very low (< 54 mg/dL): Alice's demo has none, whatever
        # the time of day the stack starts at (the curve follows the clock).
        value = max(value, 55.0)
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
    return datums


def _upload(user_id: str, datums: list[dict[str, object]], repos: Repositories) -> int:
    """One dataset of `datums`, sent as a client sends them (1,000 a request)."""
    caller = Caller(user_id, "patient", Via.SESSION)
    dataset = ingest.create_dataset(
        caller, user_id, {"client": {"name": "org.tidewater.demo", "version": "1.0"}}, repos
    )
    return sum(
        ingest.upload(caller, dataset.id, datums[chunk : chunk + 1000], repos).stored
        for chunk in range(0, len(datums), 1000)
    )


def _has_cgm(user_id: str, repos: Repositories) -> bool:
    return bool(repos.datums.latest(user_id, "cbg", "0000", "9999", 1))


def create_demo_data(repos: Repositories, now: datetime | None = None) -> int:
    """Two weeks of 5-min CGM for each demo patient who has none yet, uploaded through the
    upload service (a dataset per patient), then summarised: the demo clinic's list has
    numbers from the start. Returns the datums stored."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    stored = 0
    for user_id, profile in _PROFILES.items():
        if not _has_cgm(user_id, repos):
            stored += _upload(user_id, _cgm(user_id, now - timedelta(days=DEMO_DAYS),
                                            DEMO_DAYS * 288, profile), repos)  # fmt: skip
    if stored:
        summarizer.run_iteration(repos)
    return stored


def demo_donor(n: int) -> DemoAccount:
    user_id = f"de{0x100 + n:08x}"
    return DemoAccount(f"donor{n}@tidewater.test", f"Demo Donor {n}", "patient", user_id)


def create_demo_donors(repos: Repositories, now: datetime | None = None) -> list[DemoAccount]:
    """As many consenting donors as a slice needs (DonationMinDonors), each with 5-min CGM
    over the newest window past the embargo (DonationEmbargoDays): the first export
    publishes it. Donors who have data already (a restart) get none again."""
    settings = repos.settings
    now = now or utcnow()
    due = donation.due_windows(now, settings.donation_slice_days, settings.donation_embargo_days)
    donors = [demo_donor(n) for n in range(1, max(1, settings.donation_min_donors) + 1)]
    for account in donors:
        _ensure_account(account, repos)
        caller = Caller(account.user_id, account.role, Via.SESSION)
        donations.set_consent(caller, account.user_id, {"consent": True}, repos, now)
        if due and not _has_cgm(account.user_id, repos):
            window = due[-1]
            rng = random.Random(account.user_id)
            profile = (rng.uniform(115, 175), rng.uniform(25, 60), rng.uniform(10, 25), 0.01)
            count = int((window.end - window.start).total_seconds()) // 300
            _upload(account.user_id, _cgm(account.user_id, window.start, count, profile), repos)
    return donors
