"""GET /v1/users/{userId}/export: everything stored for a person, through the local stack's
gateway in process (the template's route, the real authorizer and handler) against moto."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import clinic_share_code, sign_up_as, signed_in
from tests.integration.ingest_support import WIZARD
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import auth, clinics, donations, ingest, rights, summarizer
from tidewater.services.summaries import get_summary
from tidewater.store.models import AccountModel
from tidewater.store.repos import repositories
from tidewater_local.front import Gateway
from tidewater_local.runtime import Functions, HttpRequest

PASSWORD = "Export-my-data-1"
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
MGDL = 18.01559  # spec: mmol/L = mg/dL / 18.01559
CBG_COLUMNS = ["id", "type", "time", "deviceTime", "timezoneOffset", "clockDriftOffset",
               "conversionOffset", "deviceId", "userId", "uploadId", "createdTime",
               "modifiedTime", "value", "units", "sampleInterval", "trend", "originalValue",
               "originalUnits", "other"]  # fmt: skip


@dataclass
class Person:
    email: str
    caller: Caller
    token: str

    @property
    def user_id(self) -> str:
        return self.caller.user_id


def _sign_up(name: str, role: str = "patient") -> Person:
    email = f"{name}@example.org"
    body = {"email": email, "password": PASSWORD, "fullName": f"{name.title()} Tester",
            "role": role}  # fmt: skip
    user_id = sign_up_as(body).user_id
    token = signed_in(email, PASSWORD)
    return Person(email, Caller(user_id, role, Via.SESSION), token)


def _at(minutes: int) -> str:
    return format_utc(START + timedelta(minutes=minutes))


def _mixed(n_cbg: int = 12) -> list[dict[str, Any]]:
    """cbg in both units, smbg, a wizard embedding its bolus, a basal."""
    cbg = [{"type": "cbg", "deviceId": "DexG6-1", "time": _at(5 * i), "value": 100 + i,
            "units": "mg/dL", "timezoneOffset": -300} for i in range(n_cbg)]  # fmt: skip
    cbg += [{"type": "cbg", "deviceId": "Libre-2", "time": _at(2 + 15 * i), "value": 5.5 + i / 10,
             "units": "mmol/L", "trend": "flat"} for i in range(4)]  # fmt: skip
    smbg = [{"type": "smbg", "deviceId": "Meter-1", "time": _at(30), "value": 7.2,
             "units": "mmol/L", "subType": "manual"},
            {"type": "smbg", "deviceId": "Meter-1", "time": _at(90), "value": 140,
             "units": "mg/dL"}]  # fmt: skip
    wizard = {**WIZARD, "time": _at(40), "bolus": {**WIZARD["bolus"], "time": _at(40)}}
    basal = {"type": "basal", "deliveryType": "scheduled", "rate": 0.9, "duration": 3600000,
             "deviceId": "Pump-1", "time": _at(0), "scheduleName": "Weekday"}  # fmt: skip
    return [*cbg, *smbg, wizard, basal]


@pytest.fixture
def gateway(aws, template) -> Gateway:
    return Gateway(Functions(template), {})


@pytest.fixture
def alice(aws) -> Person:
    """A patient who uploaded a mixed dataset, was summarised, consents to donation, set a
    Nightscout secret and shares with a clinic."""
    person = _sign_up("alice")
    repos = repositories()
    dataset = ingest.create_dataset(person.caller, person.user_id,
                                    {"client": {"name": "org.example.uploader", "version": "3"},
                                     "deviceId": "DexG6-1"}, repos)  # fmt: skip
    ingest.upload(person.caller, dataset.id, _mixed(), repos)
    assert summarizer.run_iteration(repos).summarized == 1
    donations.set_consent(person.caller, person.user_id, {"consent": True}, repos, utcnow())
    auth.set_nightscout_secret(person.caller, person.user_id,
                               {"secret": "a-nightscout-secret-1"}, repos)  # fmt: skip
    return person


def _get(gateway: Gateway, path: str, token: str | None, query: str = "") -> Any:
    headers = [("X-Tidepool-Session-Token", token)] if token else []
    return gateway.handle(HttpRequest("GET", path, query, headers, b"", "127.0.0.1", "local"))


def _export(gateway: Gateway, person: Person, fmt: str) -> tuple[dict[str, Any], bytes]:
    reply = _get(gateway, f"/v1/users/{person.user_id}/export", person.token, f"format={fmt}")
    assert reply.status == 303, reply.body
    location = dict(reply.headers)["Location"]
    meta = json.loads(reply.body)["data"]
    assert meta["url"] == location and meta["format"] == fmt
    download = requests.get(location, timeout=10)  # the presigned URL, served by moto's S3
    assert download.status_code == 200
    assert len(download.content) == meta["bytes"]
    return meta, download.content


def _stored(person: Person) -> list[dict[str, Any]]:
    """Every datum as GET /v1/users/{userId}/data reads it back."""
    found: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "5000"}
    while True:
        page = ingest.read_data(person.caller, person.user_id, params, repositories())
        found += page.items
        if not page.cursor:
            return found
        params["cursor"] = page.cursor


def test_json_export_holds_every_datum_once_as_stored(gateway, alice) -> None:
    _, body = _export(gateway, alice, "json")
    document = json.loads(body)
    data = document["data"]
    assert len(data) == len({d["id"] for d in data})
    assert sorted(data, key=lambda d: d["id"]) == sorted(_stored(alice), key=lambda d: d["id"])
    kinds = Counter(d["type"] for d in data)
    assert kinds == {"cbg": 16, "smbg": 2, "wizard": 1, "bolus": 1, "basal": 1}
    first = next(d for d in data if d["type"] == "cbg" and d["deviceId"] == "DexG6-1"
                 and d["time"] == _at(0))  # fmt: skip
    assert first["value"] == 100 / MGDL and first["units"] == "mmol/L"
    assert (first["originalValue"], first["originalUnits"]) == (100, "mg/dL")
    (wizard,) = [d for d in data if d["type"] == "wizard"]
    (bolus,) = [d for d in data if d["type"] == "bolus"]
    assert wizard["bolus"] == bolus["id"]  # the embedded bolus, stored on its own and linked
    assert wizard["bgInput"] == 32 / MGDL and wizard["insulinSensitivity"] == 6 / MGDL


def test_json_export_carries_the_account_and_no_secret(gateway, alice) -> None:
    _, body = _export(gateway, alice, "json")
    document = json.loads(body)
    assert document["profile"] == {
        "userId": alice.user_id,
        "email": "alice@example.org",
        "fullName": "Alice Tester",
        "role": "patient",
        "createdTime": document["profile"]["createdTime"],
    }
    assert document["summary"] == get_summary(alice.caller, alice.user_id, repositories())
    assert document["summary"]["cgm"]["periods"]
    assert document["donation"]["consent"] is True and "consentedTime" in document["donation"]
    assert document["nightscout"] == {"secretConfigured": True}
    (dataset,) = document["datasets"]
    assert dataset["client"] == {"name": "org.example.uploader", "version": "3"}
    text = body.decode()
    assert "a-nightscout-secret-1" not in text and PASSWORD not in text
    stored_digest = AccountModel.get(alice.user_id).nightscout_digest  # not even its digest
    assert stored_digest and stored_digest not in text


def test_clinics_shared_with_are_named(gateway, alice) -> None:
    carol = _sign_up("carol", "clinician")
    clinic = clinics.create_clinic(carol.caller, {"name": "Seastar Clinic"}, repositories(),
                                   utcnow())  # fmt: skip
    clinics.share_patient(alice.caller, clinic["id"], alice.user_id,
                          clinic_share_code(clinic["id"]), repositories(), utcnow())  # fmt: skip
    _, body = _export(gateway, alice, "json")
    assert json.loads(body)["clinics"] == [{"id": clinic["id"], "name": "Seastar Clinic"}]
    _, archive = _export(gateway, alice, "csv")
    rows = _csv(zipfile.ZipFile(io.BytesIO(archive)), "clinics.csv")
    assert rows == [{"clinicId": clinic["id"], "name": "Seastar Clinic"}]


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"), newline="")))


def test_csv_export_has_one_file_per_type_with_its_columns(gateway, alice) -> None:
    _, body = _export(gateway, alice, "csv")
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert {"data/cbg.csv", "data/smbg.csv", "data/wizard.csv", "data/bolus.csv",
            "data/basal.csv"} <= names  # fmt: skip
    assert {"profile.csv", "datasets.csv", "summary.csv", "clinics.csv"} <= names
    header = archive.read("data/cbg.csv").decode().split("\r\n", 1)[0]
    assert header.split(",") == CBG_COLUMNS
    stored = {d["id"]: d for d in _stored(alice)}
    seen: list[str] = []
    for name in sorted(n for n in names if n.startswith("data/")):
        for row in _csv(archive, name):
            datum = stored[row["id"]]
            assert row["type"] == datum["type"] == name[5:-4]
            seen.append(row["id"])
    assert sorted(seen) == sorted(stored)  # every datum once
    cbg = {r["id"]: r for r in _csv(archive, "data/cbg.csv")}
    for datum_id, row in cbg.items():
        datum = stored[datum_id]
        assert float(row["value"]) == datum["value"]  # the shortest repr reads back exactly
        assert row["originalUnits"] == datum["originalUnits"]
        assert row["trend"] == datum.get("trend", "")
    first = next(r for r in cbg.values() if r["time"] == _at(0) and r["deviceId"] == "DexG6-1")
    assert float(first["value"]) == 100 / MGDL and first["originalValue"] == "100"
    assert first["timezoneOffset"] == "-300"
    (wizard,) = _csv(archive, "data/wizard.csv")
    assert json.loads(wizard["bgTarget"]) == stored[wizard["id"]]["bgTarget"]
    (basal,) = _csv(archive, "data/basal.csv")
    assert (basal["rate"], basal["duration"], basal["scheduleName"]) == ("0.9", "3600000",
                                                                          "Weekday")  # fmt: skip


def test_csv_profile_and_summary(gateway, alice) -> None:
    _, body = _export(gateway, alice, "csv")
    archive = zipfile.ZipFile(io.BytesIO(body))
    (profile,) = _csv(archive, "profile.csv")
    assert set(profile) == {"userId", "email", "fullName", "role", "createdTime",
                            "nightscoutSecretConfigured", "donationConsent",
                            "donationConsentedTime", "donationWithdrawnTime",
                            "populationShare", "populationSharedTime"}  # fmt: skip
    assert (profile["userId"], profile["email"], profile["nightscoutSecretConfigured"],
            profile["donationConsent"]) == (alice.user_id, alice.email, "true", "true")  # fmt: skip
    everything = b"".join(archive.read(n) for n in archive.namelist()).decode()
    assert "a-nightscout-secret-1" not in everything and PASSWORD not in everything
    summary = {r["field"]: r["value"] for r in _csv(archive, "summary.csv")}
    stored = get_summary(alice.caller, alice.user_id, repositories())
    mean = stored["cgm"]["periods"]["1d"]["averageGlucoseMmol"]
    assert float(summary["cgm.periods.1d.averageGlucoseMmol"]) == mean
    assert summary["cgm.dates.lastData"] == stored["cgm"]["dates"]["lastData"]
    (dataset,) = _csv(archive, "datasets.csv")
    assert json.loads(dataset["client"]) == {"name": "org.example.uploader", "version": "3"}


def test_more_datums_than_one_query_page_all_come_back(aws, alice, monkeypatch) -> None:
    """A page of 7 items: the export reads page after page, with no cap of its own."""
    repos = repositories()
    queries: list[int] = []
    original = repos.datums._pages

    def counted(**query: Any) -> Any:
        for page in original(**query):
            queries.append(len(page.get("Items", [])))
            yield page

    monkeypatch.setattr(repos.datums, "_pages", counted)
    link = rights.export(alice.caller, alice.user_id, {"format": "json"},
                         alice.email, repos, utcnow(), page_size=7)  # fmt: skip
    assert queries == [7, 7, 7, 0] or queries == [7, 7, 7]  # 21 datums, 7 a page
    assert link.datums == len(_stored(alice)) == 21
    document = json.loads(requests.get(link.url, timeout=10).content)
    assert len({d["id"] for d in document["data"]}) == 21


def test_an_export_larger_than_a_megabyte_of_items_is_whole(gateway, aws) -> None:
    """Over 1 MB of datums: more than one DynamoDB page at its own limit."""
    bob = _sign_up("bob")
    repos = repositories()
    dataset = ingest.create_dataset(bob.caller, bob.user_id, {"client": {"name": "t"}}, repos)
    note = "x" * 900  # a client field, kept as sent: each item is about 1.3 KB
    datums = [{"type": "cbg", "deviceId": "G7", "time": _at(i), "value": 90 + i % 50,
               "units": "mg/dL", "note": note} for i in range(1200)]  # fmt: skip
    ingest.upload(bob.caller, dataset.id, datums, repos)
    answer = repos.datums.client.query(
        TableName=repos.datums.table, KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": bob.user_id}},
    )  # fmt: skip
    assert "LastEvaluatedKey" in answer  # DynamoDB itself cut the first page
    _, body = _export(gateway, bob, "csv")
    rows = _csv(zipfile.ZipFile(io.BytesIO(body)), "data/cbg.csv")
    assert len({r["id"] for r in rows}) == len(rows) == 1200
    assert json.loads(rows[0]["other"]) == {"note": note}  # a field without a column of its own


def test_an_account_with_nothing_uploaded_exports_its_profile(gateway, aws) -> None:
    dan = _sign_up("dan")
    _, body = _export(gateway, dan, "json")
    document = json.loads(body)
    assert document["data"] == [] and document["datasets"] == []
    assert document["donation"] == {"consent": False}
    assert document["population"] == {"share": False}  # the choice, never a hash
    assert document["nightscout"] == {"secretConfigured": False}
    _, archive = _export(gateway, dan, "csv")
    assert not [n for n in zipfile.ZipFile(io.BytesIO(archive)).namelist() if "data/" in n]


def test_only_the_owner_may_export(gateway, alice) -> None:
    """Not another patient, not a clinician of the patient's own clinic (a copy of all of
    it leaves with its owner alone), not anonymous."""
    other = _sign_up("eve")
    carol = _sign_up("carol", "clinician")
    clinic = clinics.create_clinic(carol.caller, {"name": "Seastar"}, repositories(), utcnow())
    clinics.share_patient(alice.caller, clinic["id"], alice.user_id,
                          clinic_share_code(clinic["id"]), repositories(), utcnow())  # fmt: skip
    path = f"/v1/users/{alice.user_id}/export"
    assert _get(gateway, path, other.token).status == 403
    assert _get(gateway, path, carol.token).status == 403
    anonymous = _get(gateway, path, None)
    assert anonymous.status == 401
    assert json.loads(anonymous.body)["errors"][0]["code"] == "unauthorized"
    assert _get(gateway, path, alice.token).status == 303
    listed = repositories().exports.client.list_objects_v2(
        Bucket=repositories().settings.exports_bucket
    )
    assert listed["KeyCount"] == 1  # only the owner's request wrote anything


def test_a_bad_format_is_400_naming_the_parameter(gateway, alice) -> None:
    reply = _get(gateway, f"/v1/users/{alice.user_id}/export", alice.token, "format=xml")
    assert reply.status == 400
    (error,) = json.loads(reply.body)["errors"]
    assert error["source"] == {"parameter": "format"} and error["code"] == "parameter-not-valid"


def test_the_link_lasts_fifteen_minutes_and_names_no_one(gateway, alice) -> None:
    before = utcnow()
    meta, _ = _export(gateway, alice, "json")
    expires = datetime.fromisoformat(meta["expiresTime"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires - before <= timedelta(minutes=15, seconds=5)
    url = urlsplit(meta["url"])
    assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]
    assert alice.user_id not in url.path and "alice" not in meta["url"]
    bucket = repositories().settings.exports_bucket
    key = url.path.lstrip("/").removeprefix(f"{bucket}/")  # virtual-hosted or path style
    assert key.startswith("exports/")
    head = repositories().exports.client.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"


def test_a_failed_export_leaves_no_object_or_upload(gateway, alice, monkeypatch) -> None:
    repos = repositories()

    def broken(user_id: str, page_size: int = 1000) -> Any:
        yield {"type": "cbg", "id": "x"}
        raise RuntimeError("the store went away")

    monkeypatch.setattr(repos.datums, "every", broken)
    assert _get(gateway, f"/v1/users/{alice.user_id}/export", alice.token).status == 500
    client, bucket = repos.exports.client, repos.settings.exports_bucket
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_the_nightscout_records_leave_with_the_export(gateway, alice) -> None:
    from tidewater.services import nightscout

    owner = Caller(alice.user_id, "", Via.NIGHTSCOUT)
    repos = repositories()
    nightscout.post_treatments(owner, [{"eventType": "Note", "notes": "kept", "created_at": _at(1)},
                                       {"eventType": "Bolus", "insulin": 1, "created_at": _at(2)}],
                               repos)  # fmt: skip
    nightscout.post_device_status(owner, {"device": "loop://iPhone", "created_at": _at(3)}, repos)
    _, body = _export(gateway, alice, "json")
    kinds = Counter(d["type"] for d in json.loads(body)["data"])
    assert kinds["nightscoutTreatment"] == 2 and kinds["nightscoutDeviceStatus"] == 1
    assert kinds["bolus"] == 2  # the upload's, and the treatment's
    _, archive = _export(gateway, alice, "csv")
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "data/nightscoutTreatment.csv" in names
