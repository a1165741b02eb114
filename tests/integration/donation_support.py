"""Helpers for the donation tests: donors with stored CGM data, and the published slices."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tidewater.domain import donation
from tidewater.domain.datums.pipeline import prepare
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc
from tidewater.services import donations
from tidewater.store import keys
from tidewater.store.repos import Repositories, repositories

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
# The newest window due at NOW (a Monday-to-Sunday UTC week that ended 30+ days before).
WINDOW = donation.due_windows(NOW, 7, 30)[-1]
CONSENTED = NOW - timedelta(days=60)


def repos_with(**settings: Any) -> Repositories:
    base = repositories()
    return base.replace(settings=dataclasses.replace(base.settings, **settings))


def consent(repos: Repositories, user_id: str, given: bool, when: datetime = CONSENTED) -> None:
    caller = Caller(user_id, "patient", Via.SESSION)
    donations.set_consent(caller, user_id, {"consent": given}, repos, when)


def cgm(
    start: datetime,
    count: int,
    *,
    every: timedelta = timedelta(minutes=30),
    values: Iterable[float] | None = None,
    offset: int | None = -300,
    device: str = "DexG6-SN-0001",
    **fields: Any,
) -> list[dict[str, Any]]:
    readings = list(values) if values is not None else [100 + (i * 7) % 150 for i in range(count)]
    datums = []
    for i in range(count):
        datum = {"type": "cbg", "deviceId": device, "time": format_utc(start + i * every),
                 "value": readings[i % len(readings)], "units": "mg/dL", **fields}  # fmt: skip
        if offset is not None:
            datum["timezoneOffset"] = offset
        datums.append(datum)
    return datums


def store(repos: Repositories, user_id: str, datums: list[dict[str, Any]]) -> list[dict]:
    items = prepare(datums, legacy=False, user_id=user_id, upload_id=f"upload-{user_id}", now=NOW)
    repos.datums.put_many(items)
    return items


def donor(
    repos: Repositories, user_id: str, start: datetime | None = None, count: int = 48, **kw: Any
) -> list[dict]:
    """A consenting donor with `count` readings every 30 min from `start` (in WINDOW)."""
    consent(repos, user_id, True)
    return store(repos, user_id, cgm(start or WINDOW.start + timedelta(hours=6), count, **kw))


@dataclasses.dataclass
class Published:
    slice_id: str
    key: str
    raw: bytes  # as stored: gzip
    text: str

    @property
    def rows(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.text)))

    @property
    def hashes(self) -> set[str]:
        return {row["hash"] for row in self.rows}


def published(repos: Repositories) -> list[Published]:
    client = repos.slices.client
    bucket = repos.settings.donations_bucket
    found = []
    listing = client.list_objects_v2(Bucket=bucket, Prefix=keys.DONATION_SLICES_PREFIX)
    for entry in listing.get("Contents", []):
        raw = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        slice_id = entry["Key"].removeprefix(keys.DONATION_SLICES_PREFIX).removesuffix(".csv.gz")
        found.append(Published(slice_id, entry["Key"], raw, gzip.decompress(raw).decode()))
    return found


def hash_of(repos: Repositories, user_id: str, index: int = WINDOW.index) -> str:
    (membership,) = [m for m in repos.donations.memberships(user_id) if m.index == index]
    return membership.hash
