"""Demo accounts for `tidewater local --demo`, made through the same service as sign-up.

Their ids are fixed, so that data kept in the snapshot stays theirs across restarts (moto
keeps Cognito users in memory only: they are made again at every start).
"""

from __future__ import annotations

from dataclasses import dataclass

from tidewater.domain.errors import Conflict
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import utcnow
from tidewater.services import auth, clinics
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
