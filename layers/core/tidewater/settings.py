"""Configuration, read from the environment once and passed in.

The template sets these variables for Lambda (Globals.Function.Environment); the local stack
resolves the same entries of the template and sets them for itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")


def _env(names: str, default: T) -> T:
    """A setting read from the first of the environment variables `names` (space-separated)
    that is set, else `default`; its default's type is the setting's."""
    value: T = field(default=default, metadata={"env": names.split()})
    return value


@dataclass(frozen=True)
class Settings:
    stage: str = _env("STAGE", "local")
    region: str = _env("AWS_REGION AWS_DEFAULT_REGION", "us-east-1")
    datums_table: str = _env("DATUMS_TABLE", "DatumsTable")
    datasets_table: str = _env("DATASETS_TABLE", "DatasetsTable")
    accounts_table: str = _env("ACCOUNTS_TABLE", "AccountsTable")
    buckets_table: str = _env("BUCKETS_TABLE", "BucketsTable")
    clinics_table: str = _env("CLINICS_TABLE", "ClinicsTable")
    donations_table: str = _env("DONATIONS_TABLE", "DonationsTable")
    donations_bucket: str = _env("DONATIONS_BUCKET", "donationsbucket")
    exports_bucket: str = _env("EXPORTS_BUCKET", "exportsbucket")
    summary_batch_size: int = _env("SUMMARY_BATCH_SIZE", 250)
    summary_batches: int = _env("SUMMARY_BATCHES", 4)
    # Accounts of a batch summarised at once: their DynamoDB round trips overlap.
    summary_workers: int = _env("SUMMARY_WORKERS", 16)
    clinic_patients_table: str = _env("CLINIC_PATIENTS_TABLE", "ClinicPatientsTable")
    cursor_secret_arn: str = _env("CURSOR_SECRET_ARN", "")
    user_pool_id: str = _env("USER_POOL_ID", "")
    user_pool_client_id: str = _env("USER_POOL_CLIENT_ID", "")
    # Set only where something plays AWS locally (moto's server): then Cognito's keys are
    # served there too, under the same path as in AWS.
    aws_endpoint_url: str = _env("AWS_ENDPOINT_URL", "")
    # Data donation: slice length, embargo and k-minimum (days, days, donors); whether
    # exported times keep their seconds; whether anyone may list and download the slices.
    donation_slice_days: int = _env("DONATION_SLICE_DAYS", 7)
    donation_embargo_days: int = _env("DONATION_EMBARGO_DAYS", 30)
    donation_min_donors: int = _env("DONATION_MIN_DONORS", 5)
    donation_keep_seconds: bool = _env("DONATION_KEEP_SECONDS", False)
    public_donations: bool = _env("PUBLIC_DONATIONS", False)
    # The aggregator: followed Nightscout sites and the population view.
    aggregator_table: str = _env("AGGREGATOR_TABLE", "AggregatorTable")
    public_population: bool = _env("PUBLIC_POPULATION", False)
    population_min_people: int = _env("POPULATION_MIN_PEOPLE", 5)
    # People read for one population view at most (one Query each, overlapped).
    population_max_people: int = _env("POPULATION_MAX_PEOPLE", 100)
    # Where a followed site may be: https on a public address, unless these say otherwise
    # (the local stack allows http and loopback for its own test servers; AWS never does).
    source_allow_http: bool = _env("SOURCE_ALLOW_HTTP", False)
    source_allow_private: bool = _env("SOURCE_ALLOW_PRIVATE", False)

    @property
    def token_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        base = self.aws_endpoint_url.rstrip("/") or self.token_issuer.rsplit("/", 1)[0]
        return f"{base}/{self.user_pool_id}/.well-known/jwks.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        values: dict[str, Any] = {}
        for setting in fields(cls):
            text = next((env[n] for n in setting.metadata["env"] if env.get(n)), None)
            if text is not None:
                values[setting.name] = _parse(text, setting.default)
        return cls(**values)


def _parse(text: str, default: object) -> object:
    if isinstance(default, bool):
        return text.lower() == "true"
    if isinstance(default, int):
        return int(text)
    return text


@lru_cache(maxsize=1)
def current() -> Settings:
    """The process's settings, built from the environment on first use."""
    return Settings.from_env()
