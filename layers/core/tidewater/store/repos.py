"""The repositories a use case needs, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tidewater.settings import Settings, current
from tidewater.store.accounts import AccountsRepository
from tidewater.store.clinics import ClinicsRepository
from tidewater.store.identity import CognitoIdentity
from tidewater.store.models import bind


@dataclass(frozen=True)
class Repositories:
    settings: Settings
    accounts: AccountsRepository
    clinics: ClinicsRepository
    identity: CognitoIdentity


def build(settings: Settings) -> Repositories:
    bind(settings)
    return Repositories(
        settings=settings,
        accounts=AccountsRepository(settings.region),
        clinics=ClinicsRepository(),
        identity=CognitoIdentity(
            settings.user_pool_id, settings.user_pool_client_id, settings.region
        ),
    )


@lru_cache(maxsize=1)
def repositories() -> Repositories:
    return build(current())
