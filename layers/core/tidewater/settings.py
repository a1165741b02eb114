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
        )


@lru_cache(maxsize=1)
def current() -> Settings:
    """The process's settings, built from the environment on first use."""
    return Settings.from_env()
