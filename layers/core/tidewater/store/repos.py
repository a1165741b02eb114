"""The repositories a use case needs, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tidewater.settings import Settings, current
from tidewater.store.accounts import AccountsRepository
from tidewater.store.batch import dynamodb_client
from tidewater.store.buckets import BucketsRepository
from tidewater.store.clinics import ClinicsRepository
from tidewater.store.datasets import DatasetsRepository
from tidewater.store.datums import DatumsRepository
from tidewater.store.donations import DonationsRepository, SlicesBucket
from tidewater.store.erasures import ErasuresRepository
from tidewater.store.exports import ExportsBucket
from tidewater.store.identity import CognitoIdentity
from tidewater.store.models import (
    AccountModel,
    BucketsModel,
    ClinicPatientModel,
    DatasetModel,
    DatumModel,
    SourceModel,
    bind,
)
from tidewater.store.population import PopulationRepository
from tidewater.store.secrets import SecretsRepository
from tidewater.store.sessions import SessionsRepository
from tidewater.store.sources import SourcesRepository


@dataclass(frozen=True)
class Repositories:
    settings: Settings
    accounts: AccountsRepository
    buckets: BucketsRepository
    clinics: ClinicsRepository
    identity: CognitoIdentity
    secrets: SecretsRepository
    sessions: SessionsRepository
    datasets: DatasetsRepository
    datums: DatumsRepository
    donations: DonationsRepository
    slices: SlicesBucket
    erasures: ErasuresRepository
    exports: ExportsBucket
    population: PopulationRepository
    sources: SourcesRepository

    def connect(self) -> None:
        """Make the DynamoDB clients of the tables the summariser's and the poller's threads
        use (PynamoDB's and the batch writer's) now: botocore makes a client on first use,
        from a session that is not thread safe, so threads that share clients must find
        them made."""
        for model in (
            AccountModel, BucketsModel, DatumModel, ClinicPatientModel, DatasetModel, SourceModel
        ):  # fmt: skip
            model._get_connection().connection.client  # noqa: B018 (made on first read)
            dynamodb_client(model)


def build(settings: Settings) -> Repositories:
    bind(settings)
    return Repositories(
        settings=settings,
        accounts=AccountsRepository(settings.region),
        buckets=BucketsRepository(),
        clinics=ClinicsRepository(settings.region),
        identity=CognitoIdentity(
            settings.user_pool_id, settings.user_pool_client_id, settings.region
        ),
        secrets=SecretsRepository(settings.cursor_secret_arn, settings.region),
        sessions=SessionsRepository(),
        datasets=DatasetsRepository(),
        datums=DatumsRepository(),
        donations=DonationsRepository(settings.region),
        slices=SlicesBucket(settings.donations_bucket, settings.region),
        erasures=ErasuresRepository(settings.region),
        exports=ExportsBucket(settings.exports_bucket, settings.region),
        population=PopulationRepository(),
        sources=SourcesRepository(),
    )


@lru_cache(maxsize=1)
def repositories() -> Repositories:
    return build(current())
