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
    summary_batch_size: int = 250
    summary_batches: int = 4
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    # Set only where something plays AWS locally (moto's server): then Cognito's keys are
    # served there too, under the same path as in AWS.
    aws_endpoint_url: str = ""

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
            summary_batch_size=int(env.get("SUMMARY_BATCH_SIZE", "250")),
            summary_batches=int(env.get("SUMMARY_BATCHES", "4")),
            user_pool_id=env.get("USER_POOL_ID", ""),
            user_pool_client_id=env.get("USER_POOL_CLIENT_ID", ""),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL", ""),
        )


@lru_cache(maxsize=1)
def current() -> Settings:
    """The process's settings, built from the environment on first use."""
    return Settings.from_env()
