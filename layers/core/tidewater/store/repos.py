"""The repositories a use case needs, built once per process from the settings.

Each repository is imported and built on first use: a function loads only the stores (and
the domain code behind them) that its requests touch, which keeps its cold start short."""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from tidewater.settings import Settings, current
from tidewater.store.models import bind

if TYPE_CHECKING:
    from tidewater.store.accounts import AccountsRepository
    from tidewater.store.buckets import BucketsRepository
    from tidewater.store.clinics import ClinicsRepository
    from tidewater.store.datasets import DatasetsRepository
    from tidewater.store.datums import DatumsRepository
    from tidewater.store.donations import DonationsRepository, SlicesBucket
    from tidewater.store.erasures import ErasuresRepository
    from tidewater.store.exports import ExportsBucket
    from tidewater.store.identity import CognitoIdentity
    from tidewater.store.population import PopulationRepository
    from tidewater.store.secrets import SecretsRepository
    from tidewater.store.sessions import SessionsRepository
    from tidewater.store.sources import SourcesRepository


class Repositories:
    """Every store, by name, for `settings`; `replace(name=store)` gives a copy with some
    stores given (tests, or a use case run against other settings)."""

    def __init__(self, settings: Settings, **given: Any) -> None:
        self.settings = settings
        self.__dict__.update(given)  # what cached_property would otherwise build

    def replace(self, **changes: Any) -> Repositories:
        built = {k: v for k, v in self.__dict__.items() if k != "settings"}
        return Repositories(changes.pop("settings", self.settings), **{**built, **changes})

    @cached_property
    def accounts(self) -> AccountsRepository:
        from tidewater.store.accounts import AccountsRepository

        return AccountsRepository(self.settings.region)

    @cached_property
    def buckets(self) -> BucketsRepository:
        from tidewater.store.buckets import BucketsRepository

        return BucketsRepository()

    @cached_property
    def clinics(self) -> ClinicsRepository:
        from tidewater.store.clinics import ClinicsRepository

        return ClinicsRepository(self.settings.region)

    @cached_property
    def identity(self) -> CognitoIdentity:
        from tidewater.store.identity import CognitoIdentity

        s = self.settings
        return CognitoIdentity(s.user_pool_id, s.user_pool_client_id, s.region)

    @cached_property
    def secrets(self) -> SecretsRepository:
        from tidewater.store.secrets import SecretsRepository

        return SecretsRepository(self.settings.cursor_secret_arn, self.settings.region)

    @cached_property
    def sessions(self) -> SessionsRepository:
        from tidewater.store.sessions import SessionsRepository

        return SessionsRepository()

    @cached_property
    def datasets(self) -> DatasetsRepository:
        from tidewater.store.datasets import DatasetsRepository

        return DatasetsRepository()

    @cached_property
    def datums(self) -> DatumsRepository:
        from tidewater.store.datums import DatumsRepository

        return DatumsRepository()

    @cached_property
    def donations(self) -> DonationsRepository:
        from tidewater.store.donations import DonationsRepository

        return DonationsRepository(self.settings.region)

    @cached_property
    def slices(self) -> SlicesBucket:
        from tidewater.store.donations import SlicesBucket

        return SlicesBucket(self.settings.donations_bucket, self.settings.region)

    @cached_property
    def erasures(self) -> ErasuresRepository:
        from tidewater.store.erasures import ErasuresRepository

        return ErasuresRepository(self.settings.region)

    @cached_property
    def exports(self) -> ExportsBucket:
        from tidewater.store.exports import ExportsBucket

        return ExportsBucket(self.settings.exports_bucket, self.settings.region)

    @cached_property
    def population(self) -> PopulationRepository:
        from tidewater.store.population import PopulationRepository

        return PopulationRepository()

    @cached_property
    def sources(self) -> SourcesRepository:
        from tidewater.store.sources import SourcesRepository

        return SourcesRepository()

    def connect(self) -> None:
        """Make the DynamoDB clients of the tables the summariser's and the poller's threads
        use (PynamoDB's and the batch writer's) now: botocore makes a client on first use,
        from a session that is not thread safe, so threads that share clients must find
        them made. The repositories those threads use are built here too (a cached_property
        built by two threads at once would be built twice)."""
        from tidewater.store.batch import dynamodb_client
        from tidewater.store.models import (
            AccountModel,
            BucketsModel,
            ClinicPatientModel,
            DatasetModel,
            DatumModel,
            SourceModel,
        )

        for name in ("accounts", "buckets", "clinics", "datasets", "datums", "sources"):
            getattr(self, name)
        for model in (
            AccountModel, BucketsModel, DatumModel, ClinicPatientModel, DatasetModel, SourceModel
        ):  # fmt: skip
            model._get_connection().connection.client  # noqa: B018 (made on first read)
            dynamodb_client(model)


def build(settings: Settings) -> Repositories:
    bind(settings)
    return Repositories(settings)


@lru_cache(maxsize=1)
def repositories() -> Repositories:
    return build(current())
