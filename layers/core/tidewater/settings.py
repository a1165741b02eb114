"""Configuration, read from the environment once and passed in.

The template sets these variables for Lambda (Globals.Function.Environment); the local stack
resolves the same entries of the template and sets them for itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    datums_table: str
    datasets_table: str
    accounts_table: str
    buckets_table: str
    clinics_table: str
    donations_table: str
    donations_bucket: str
    exports_bucket: str = "exportsbucket"
    summary_batch_size: int = 250
    summary_batches: int = 4
    clinic_patients_table: str = "ClinicPatientsTable"
    cursor_secret_arn: str = ""
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    # Set only where something plays AWS locally (moto's server): then Cognito's keys are
    # served there too, under the same path as in AWS.
    aws_endpoint_url: str = ""
    # Data donation: slice length, embargo and k-minimum (days, days, donors); whether
    # exported times keep their seconds; whether anyone may list and download the slices.
    donation_slice_days: int = 7
    donation_embargo_days: int = 30
    donation_min_donors: int = 5
    donation_keep_seconds: bool = False
    public_donations: bool = False

    @property
    def token_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        base = self.aws_endpoint_url.rstrip("/") or self.token_issuer.rsplit("/", 1)[0]
        return f"{base}/{self.user_pool_id}/.well-known/jwks.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            stage=env.get("STAGE", "local"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            datums_table=env.get("DATUMS_TABLE", "DatumsTable"),
            datasets_table=env.get("DATASETS_TABLE", "DatasetsTable"),
            accounts_table=env.get("ACCOUNTS_TABLE", "AccountsTable"),
            buckets_table=env.get("BUCKETS_TABLE", "BucketsTable"),
            clinics_table=env.get("CLINICS_TABLE", "ClinicsTable"),
            donations_table=env.get("DONATIONS_TABLE", "DonationsTable"),
            donations_bucket=env.get("DONATIONS_BUCKET", "donationsbucket"),
            exports_bucket=env.get("EXPORTS_BUCKET", "exportsbucket"),
            summary_batch_size=int(env.get("SUMMARY_BATCH_SIZE", "250")),
            summary_batches=int(env.get("SUMMARY_BATCHES", "4")),
            clinic_patients_table=env.get("CLINIC_PATIENTS_TABLE", "ClinicPatientsTable"),
            cursor_secret_arn=env.get("CURSOR_SECRET_ARN", ""),
            user_pool_id=env.get("USER_POOL_ID", ""),
            user_pool_client_id=env.get("USER_POOL_CLIENT_ID", ""),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL", ""),
            donation_slice_days=int(env.get("DONATION_SLICE_DAYS", "7")),
            donation_embargo_days=int(env.get("DONATION_EMBARGO_DAYS", "30")),
            donation_min_donors=int(env.get("DONATION_MIN_DONORS", "5")),
            donation_keep_seconds=env.get("DONATION_KEEP_SECONDS", "false").lower() == "true",
            public_donations=env.get("PUBLIC_DONATIONS", "false").lower() == "true",
        )


@lru_cache(maxsize=1)
def current() -> Settings:
    """The process's settings, built from the environment on first use."""
    return Settings.from_env()
