"""A person's rights over their data: the export of everything stored for them.

The archive is written as it is read, never held whole: one Query page of datums, one CSV
row or JSON datum, and one multipart part are in memory at a time, whatever the history.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, BinaryIO, Final, cast

from tidewater.domain import personal_export as fmt
from tidewater.domain import population
from tidewater.domain.datasets import Dataset
from tidewater.domain.datums.checks import Datum
from tidewater.domain.errors import BadRequest
from tidewater.domain.identity import Action, Caller
from tidewater.domain.timeutil import format_utc
from tidewater.observability import logger
from tidewater.services.access import require
from tidewater.store.datums import QUERY_PAGE_MAX
from tidewater.store.repos import Repositories

CONTENT_TYPES: Final = {fmt.JSON: ("json", "application/json"), fmt.CSV: ("zip", "application/zip")}


@dataclass(frozen=True)
class ExportLink:
    url: str
    expires_time: str
    format: str
    bytes: int
    datums: int

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "expiresTime": self.expires_time, "format": self.format,
                "bytes": self.bytes}  # fmt: skip


@dataclass(frozen=True)
class Person:
    """What is stored about a person besides their datums and datasets."""

    profile: dict[str, Any]
    nightscout: bool
    donation: dict[str, Any]
    population: dict[str, Any]
    clinics: list[dict[str, Any]]
    summary: dict[str, Any]


class _Counting:
    """Passes bytes on to the upload and counts them."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sink.write(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.sink.flush()


def parse_format(params: Mapping[str, str]) -> str:
    chosen = params.get("format", fmt.JSON)
    if chosen not in fmt.FORMATS:
        raise BadRequest("`format` must be json or csv", code="parameter-not-valid",
                         parameter="format")  # fmt: skip
    return chosen


def export(
    caller: Caller,
    user_id: str,
    params: Mapping[str, str],
    email: str,
    repos: Repositories,
    now: datetime,
    *,
    page_size: int = QUERY_PAGE_MAX,
) -> ExportLink:
    """Everything stored for `user_id`, as one JSON document or a zip of CSV files, in the
    exports bucket; a presigned link to it. The owner only: a clinician reads a patient's
    data through the API, but a copy of all of it leaves with its owner alone. `email` is the
    owner's, from their verified session token (the identity provider keeps it)."""
    require(caller, Action.WRITE, user_id, repos)
    chosen = parse_format(params)
    person = _person(user_id, email, repos)
    export_id = secrets.token_hex(16)
    extension, content_type = CONTENT_TYPES[chosen]
    datums = repos.datums.every(user_id, page_size=page_size)
    counted_datums = _Counted(datums)
    with repos.exports.upload(export_id, extension, content_type) as sink:
        out = _Counting(sink)
        writer = _write_json if chosen == fmt.JSON else _write_zip
        writer(out, person, repos.datasets.of_user(user_id), counted_datums, format_utc(now))
    seconds = repos.exports.link_seconds
    filename = f"tidewater-export-{now:%Y-%m-%d}.{extension}"
    link = ExportLink(
        repos.exports.presigned_get(export_id, extension, filename, seconds),
        format_utc(now + timedelta(seconds=seconds)),
        chosen,
        out.size,
        counted_datums.count,
    )
    logger.info("export written", extra={"format": chosen, "datums": link.datums,
                                         "bytes": link.bytes})  # fmt: skip
    return link


class _Counted:
    """An iterator that counts what went through it."""

    def __init__(self, items: Iterable[Datum]) -> None:
        self._items = iter(items)
        self.count = 0

    def __iter__(self) -> Iterator[Datum]:
        return self

    def __next__(self) -> Datum:
        item = next(self._items)
        self.count += 1
        return item


def _person(user_id: str, email: str, repos: Repositories) -> Person:
    profile = repos.accounts.profile(user_id)
    return Person(
        profile={
            "userId": user_id,
            "email": email,
            "fullName": profile.full_name,
            "role": profile.role,
            "createdTime": profile.created_time,
        },
        nightscout=repos.accounts.has_nightscout_secret(user_id),
        donation=repos.donations.consent(user_id).as_dict(),
        population=population.choice(repos.population.shared_since(user_id)),
        clinics=repos.clinics.clinics_of_patient(user_id),
        summary=repos.accounts.summary(user_id),
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _write_array(out: _Counting, items: Iterable[Any]) -> None:
    out.write(b"[")
    for i, item in enumerate(items):
        out.write(b"," + _dumps(item) if i else _dumps(item))
    out.write(b"]")


def _write_json(
    out: _Counting,
    person: Person,
    datasets: Iterable[Dataset],
    datums: Iterable[Datum],
    exported: str,
) -> None:
    """One document; `datasets` and `data` are written as they are read."""
    head = {
        "export": {"version": fmt.VERSION, "exportedTime": exported},
        "profile": person.profile,
        "nightscout": {"secretConfigured": person.nightscout},
        "donation": person.donation,
        "population": person.population,
        "clinics": person.clinics,
        "summary": person.summary,
    }
    out.write(_dumps(head)[:-1] + b',"datasets":')
    _write_array(out, (d.as_dict() for d in datasets))
    out.write(b',"data":')
    _write_array(out, datums)
    out.write(b"}")


def _csv_file(archive: zipfile.ZipFile, name: str) -> tuple[IO[str], Any]:
    # Sizes are unknown until written, and the stream cannot seek back: zip64 headers, so
    # that a file may outgrow 2 GiB.
    text = io.TextIOWrapper(archive.open(name, "w", force_zip64=True), "utf-8", newline="")
    return text, csv.writer(text, lineterminator="\r\n")


def _write_table(archive: zipfile.ZipFile, name: str, columns: tuple[str, ...],
                 rows: Iterable[Mapping[str, Any]]) -> None:  # fmt: skip
    text, writer = _csv_file(archive, name)
    with text:
        writer.writerow(columns)
        for record in rows:
            writer.writerow(fmt.row(record, columns))


def _write_zip(
    out: _Counting,
    person: Person,
    datasets: Iterable[Dataset],
    datums: Iterable[Datum],
    exported: str,
) -> None:
    """A zip: the account's tables, then one CSV per datum type. The store yields datums
    type by type, so each type's file is written whole before the next one starts."""
    with zipfile.ZipFile(cast(IO[bytes], out), "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(fmt.README_FILE, fmt.README + f"\nExported {exported}.\n")
        donation = person.donation
        profile = {**person.profile, "nightscoutSecretConfigured": person.nightscout,
                   "donationConsent": donation.get("consent"),
                   "donationConsentedTime": donation.get("consentedTime"),
                   "donationWithdrawnTime": donation.get("withdrawnTime"),
                   "populationShare": person.population["share"],
                   "populationSharedTime": person.population.get("sharedTime")}  # fmt: skip
        _write_table(archive, fmt.PROFILE_FILE, fmt.PROFILE_COLUMNS, [profile])
        clinic_rows = [{"clinicId": c["id"], "name": c["name"]} for c in person.clinics]
        _write_table(archive, fmt.CLINICS_FILE, fmt.CLINICS_COLUMNS, clinic_rows)
        summary = [{"field": k, "value": v} for k, v in fmt.flatten(person.summary)]
        _write_table(archive, fmt.SUMMARY_FILE, fmt.SUMMARY_COLUMNS, summary)
        rows = ({**d.fields, "id": d.id, "createdTime": d.created_time, "dataState": d.data_state}
                for d in datasets)  # fmt: skip
        _write_table(archive, fmt.DATASETS_FILE, fmt.DATASET_COLUMNS, rows)
        current: str | None = None
        text: IO[str] | None = None
        writer: Any = None
        columns: tuple[str, ...] = ()
        for datum in datums:
            kind = str(datum.get("type", ""))
            if kind != current:
                if text is not None:
                    text.close()
                current, columns = kind, fmt.datum_columns(kind)
                text, writer = _csv_file(archive, fmt.data_file(kind))
                writer.writerow(columns)
            writer.writerow(fmt.row(datum, columns))
        if text is not None:
            text.close()
