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
from tidewater.services import auth, clinics, donations, ingest, population, summarizer
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
        # Noise truncated at 2.5 sigma: a patient whose profile has no lows never dips below
        # 54 mg/dL by chance (130 - 35 - 2.5 * 12 = 65), whatever hour the demo starts at.
        jitter = max(-2.5, min(2.5, rng.gauss(0, 1)))
        value = mean + swing * math.sin(day_phase - 1.0) + jitter * noise + _meals(at, swing)
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


# Breakfast, lunch and dinner (local hour): each a rise that peaks an hour later and is gone
# in about three; nights have none, so they are the flat part of the AGP.
_MEAL_HOURS = (7.5, 12.5, 19.0)


def _meals(at: datetime, swing: float) -> float:
    hour = at.hour + at.minute / 60
    rise = 0.0
    for meal in _MEAL_HOURS:
        after = (hour - meal) % 24
        if after < 4:
            rise += 0.9 * swing * after * math.exp(1 - after)  # peaks at 0.9 swing after 1 h
    return rise


@dataclass(frozen=True)
class DemoPatient:
    """A demo patient of `make run`'s clinic, beyond Alice and Bob: one per TIDE group.
    `recent` is the profile of the last 14 days, `earlier` that of the days before them;
    `wear` the share of 6-hour blocks the sensor is worn; `ends_days_ago` when data stops."""

    account: DemoAccount
    recent: tuple[float, float, float, float]
    earlier: tuple[float, float, float, float]
    wear: float = 1.0
    ends_days_ago: int = 0


def _more(n: int, name: str) -> DemoAccount:
    return DemoAccount(f"{name.split()[0].lower()}@tidewater.test", name, "patient", f"de{n:08d}")


MORE_PATIENTS = (
    DemoPatient(_more(11, "Chloe Patient"), (105.0, 30.0, 8.0, 0.0), (105.0, 30.0, 8.0, 0.0)),
    DemoPatient(_more(12, "Dev Patient"), (205.0, 45.0, 20.0, 0.0), (190.0, 45.0, 20.0, 0.0)),
    DemoPatient(_more(13, "Emma Patient"), (140.0, 30.0, 12.0, 0.0), (110.0, 20.0, 8.0, 0.0)),
    DemoPatient(
        _more(14, "Frank Patient"), (125.0, 30.0, 10.0, 0.0), (125.0, 30.0, 10.0, 0.0), wear=0.5
    ),
    DemoPatient(
        _more(15, "Grace Patient"),
        (140.0, 40.0, 12.0, 0.0),
        (140.0, 40.0, 12.0, 0.0),
        ends_days_ago=16,
    ),
)
MORE_DAYS = 28


def _more_cgm(patient: DemoPatient, now: datetime) -> list[dict[str, object]]:
    """Four weeks: the earlier profile, then the recent one; worn as the patient wears it."""
    user_id = patient.account.user_id
    end = now - timedelta(days=patient.ends_days_ago)
    half = MORE_DAYS // 2 * 288
    start = now - timedelta(days=MORE_DAYS)
    datums = _cgm(user_id, start, half, patient.earlier)
    datums += _cgm(user_id + "r", start + timedelta(days=MORE_DAYS // 2), half, patient.recent)
    rng = random.Random(user_id)
    worn = [rng.random() < patient.wear for _ in range(MORE_DAYS * 4 + 1)]
    # A 15-minute sensor (its interval sent, as Libre's uploads do): a third of the
    # readings, so that `make run` still starts in seconds with five more patients.
    last = format_utc(end)
    return [
        {**d, "deviceId": "DemoLibre_0001", "sampleInterval": 15 * 60 * 1000}
        for n, d in enumerate(datums)
        if n % 3 == 0 and worn[n // 72] and str(d["time"]) <= last
    ]


def _add_more_patients(repos: Repositories, now: datetime) -> int:
    """The patients beyond Alice and Bob, sharing with Dr Carol's clinic, with their data."""
    carol = next(a for a in DEMO_ACCOUNTS if a.role == "clinician")
    clinic_id = sorted(repos.clinics.clinics_of(carol.user_id))[0]
    clinician = Caller(carol.user_id, carol.role, Via.SESSION)
    stored = 0
    for patient in MORE_PATIENTS:
        _ensure_account(patient.account, repos)
        if _has_cgm(patient.account.user_id, repos):
            continue
        code = clinics.create_clinic_share_code(clinician, clinic_id, repos, utcnow())
        caller = Caller(patient.account.user_id, "patient", Via.SESSION)
        with suppress(Conflict):
            clinics.share_patient(caller, clinic_id, patient.account.user_id, code, repos, utcnow())
        stored += _upload(patient.account.user_id, _more_cgm(patient, now), repos)
    return stored


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
    """Two weeks of 5-min CGM for Alice and Bob, four for the other demo patients (one in
    each TIDE group), for each who has none yet, uploaded through the upload service (a
    dataset per patient), then summarised: the demo clinic's list has
    numbers from the start. Returns the datums stored."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    stored = 0
    for user_id, profile in _PROFILES.items():
        if not _has_cgm(user_id, repos):
            cgm = _cgm(user_id, now - timedelta(days=DEMO_DAYS), DEMO_DAYS * 288, profile)
            if user_id == ALICE_ID:
                cgm += _second_source(cgm)
            stored += _upload(user_id, cgm, repos)
    stored += _add_more_patients(repos, now)
    _share_with_population(repos, now)
    if stored:
        summarizer.run_iteration(repos)
    return stored


ALICE_ID = DEMO_ACCOUNTS[0].user_id
SECOND_SOURCE_DAYS = 2


def _second_source(cgm: list[dict[str, object]]) -> list[dict[str, object]]:
    """Alice's last two days as a DIY uploader also sent them: the same sensor read through
    another app, each reading 2 minutes earlier and a little higher, with noise of its own
    (the patient page compares the two sources)."""
    rng = random.Random("second source")
    datums = []
    for datum in cgm[-SECOND_SOURCE_DAYS * 288 :]:
        at = datetime.fromisoformat(str(datum["time"]).replace("Z", "+00:00"))
        jitter = max(-2.5, min(2.5, rng.gauss(0, 1))) * 4
        value = round(min(max(float(datum["value"]) * 1.04 + jitter, 40), 400))  # type: ignore[arg-type]
        datums.append({**datum, "deviceId": "DemoUploader_xDrip", "value": value,
                       "time": format_utc(at - timedelta(minutes=2))})  # fmt: skip
    return datums


def _share_with_population(repos: Repositories, now: datetime) -> None:
    """Every demo patient shares with the population view (more than the 5 it needs)."""
    for account in (DEMO_ACCOUNTS[0], DEMO_ACCOUNTS[1], *(p.account for p in MORE_PATIENTS)):
        caller = Caller(account.user_id, account.role, Via.SESSION)
        population.set_choice(caller, account.user_id, {"share": True}, repos, now)


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
