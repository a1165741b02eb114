"""DELETE /v1/users/{userId}: the person removed from every table, bucket and the user pool,
their rows out of published slices, resumed by the schedule when it stops halfway.

Requests go through the local stack's gateway in process (the template's routes, the real
authorizer, the real handlers) against moto.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import clinic_share_code, sign_up_as, signed_in
from tests.integration.donation_support import (
    NOW,
    WINDOW,
    cgm,
    consent,
    donor,
    hash_of,
    published,
    store,
)
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import utcnow
from tidewater.services import (
    auth,
    clinics,
    erasure,
    exporter,
    ingest,
    nightscout,
    population,
    sources,
    summarizer,
)  # fmt: skip
from tidewater.store.repos import Repositories, repositories
from tidewater_local.front import Gateway
from tidewater_local.runtime import Functions, HttpRequest

pytestmark = pytest.mark.usefixtures("aws")

PASSWORD = "Correct-horse-9-battery"
EMAIL = "leaving.soon@example.org"
DEVICES = ("DexG6-SN-GONE0001", "Libre3-SN-GONE0002", "loop://Phone-SN-GONE0003")
OTHERS = [f"d0n0r0000{i}" for i in range(5)]  # enough donors left for k = 5


@dataclass
class Person:
    user_id: str
    token: str
    clinician_token: str
    clinic_id: str
    gateway: Gateway
    slice_text: str  # the published slice before the deletion
    hash: str  # the person's hash in it


def _request(gateway: Gateway, method: str, path: str, token: str = "", body: Any = None,
             headers: list[tuple[str, str]] | None = None) -> tuple[int, Any]:  # fmt: skip
    sent = [("Content-Type", "application/json"), *(headers or [])]
    if token:
        sent.append(("X-Tidepool-Session-Token", token))
    raw = b"" if body is None else json.dumps(body).encode()
    answer = gateway.handle(HttpRequest(method, path, "", sent, raw, "127.0.0.1", "127.0.0.1"))
    return answer.status, json.loads(answer.body) if answer.body else None


def _sign_up(repos: Repositories, email: str, role: str) -> tuple[str, str]:
    body = {"email": email, "password": PASSWORD, "fullName": "Lee Ving", "role": role}
    user_id = sign_up_as(body).user_id
    return user_id, signed_in(email, PASSWORD)


@pytest.fixture
def person(template) -> Person:  # type: ignore[no-untyped-def]
    repos = repositories()
    user_id, token = _sign_up(repos, EMAIL, "patient")
    clinician_id, clinician_token = _sign_up(repos, "dr.stays@example.org", "clinician")
    me = Caller(user_id, "patient", Via.SESSION)
    clinic_id = clinics.create_clinic(
        Caller(clinician_id, "clinician", Via.SESSION), {"name": "Seastar"}, repos, utcnow()
    )["id"]
    clinics.share_patient(me, clinic_id, user_id, clinic_share_code(clinic_id), repos, utcnow())
    clinics.create_share_code(me, user_id, repos, utcnow())
    auth.set_nightscout_secret(me, user_id, {"secret": "a-nightscout-secret"}, repos)
    sources.link(me, user_id, {"url": "http://127.0.0.1:9/mine", "token": "a-site-token"},
                 repos, utcnow())  # fmt: skip
    ingest.create_dataset(me, user_id, {"client": {"name": "org.example", "version": "1"},
                                        "deviceId": DEVICES[1]}, repos)  # fmt: skip
    consent(repos, user_id, True)
    population.set_choice(me, user_id, {"share": True}, repos, utcnow())
    uploader = Caller(user_id, "", Via.NIGHTSCOUT)  # Nightscout's records go too
    nightscout.post_treatments(uploader, {"eventType": "Meal Bolus", "insulin": 2, "carbs": 20,
                                          "enteredBy": DEVICES[2]}, repos)  # fmt: skip
    nightscout.post_device_status(uploader, {"device": DEVICES[2]}, repos)
    nightscout.post_profiles(uploader, {"enteredBy": DEVICES[2], "store": {"A": {}}}, repos)
    start = WINDOW.start + timedelta(hours=6)
    store(repos, user_id, cgm(start, 24, device=DEVICES[0]))
    store(repos, user_id, cgm(start + timedelta(hours=12), 24, device=DEVICES[1]))
    repos.accounts.mark_outdated(
        user_id, "2026-11-21T00:00:00.000Z", "upload", {"cbg#" + start.strftime("%Y-%m-%d")}
    )
    assert summarizer.summarize_account(user_id, repos)
    for other in OTHERS:
        donor(repos, other)
    exporter.run(repos, now=NOW, rng=random.Random(7))
    (before,) = published(repos)
    return Person(user_id, token, clinician_token, clinic_id, Gateway(Functions(template), {}),
                  before.text, hash_of(repos, user_id))  # fmt: skip


def _delete(person: Person, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    sent = {"password": PASSWORD} if body is None else body
    return _request(person.gateway, "DELETE", f"/v1/users/{person.user_id}",
                    person.token if token is None else token, sent)  # fmt: skip


def _finish(repos: Repositories) -> erasure.ResumeResult:
    """What the schedules do next: the export applies the withdrawal, then the deletion
    is resumed once the grace period has passed."""
    exporter.apply_pending_withdrawals(repos, NOW + timedelta(days=1))
    return erasure.resume_pending(repos, utcnow() + erasure.GRACE, lambda: True)


def _login(person: Person, email: str = EMAIL) -> int:
    basic = "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()
    return _request(person.gateway, "POST", "/auth/login", headers=[("Authorization", basic)])[0]


def _unpacked(value: Any) -> str:
    """A binary attribute as text (the buckets' are zlib-packed: JSON, or columns)."""
    try:
        return zlib.decompress(value).decode(errors="replace")
    except zlib.error:
        return bytes(value).decode(errors="replace")


def _every_stored_byte(template) -> str:  # type: ignore[no-untyped-def]
    """Every item of every table of the template and every version of every object of
    every bucket, as text (scans: a test may)."""
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    dump: list[str] = []
    for logical_id in template.of_type("AWS::DynamoDB::Table"):
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=template.physical_name(logical_id)
        )
        dump.extend(json.dumps(page["Items"], default=_unpacked) for page in pages)
    for logical_id in template.of_type("AWS::S3::Bucket"):
        bucket = template.physical_name(logical_id)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                raw = s3.get_object(Bucket=bucket, Key=version["Key"],
                                    VersionId=version["VersionId"])["Body"].read()  # fmt: skip
                dump.append(version["Key"])
                dump.append(
                    gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
                )
    return "\n".join(dump)


# ------------------------------------------------------------------ the whole deletion
def test_a_deleted_account_leaves_nothing_behind_and_others_rows_intact(person, template) -> None:
    repos = repositories()
    assert _login(person) == 200  # a session: its sealed refresh token names its owner
    stored = _every_stored_byte(template)
    assert person.user_id in stored and EMAIL not in stored  # the email is Cognito's only
    assert '"session#' in stored
    assert repos.population.members() == [person.user_id]
    assert all(device in stored for device in DEVICES)
    status, body = _delete(person)
    assert (status, body) == (202, {"data": {"status": "deleting"}})
    assert _login(person) == 401
    result = _finish(repos)
    assert (result.deleted, result.pending, result.failed) == (1, 0, 0)
    everything = _every_stored_byte(template)
    for trace in (person.user_id, EMAIL, *DEVICES):
        assert trace not in everything
    (after,) = published(repos)
    kept = [line for line in person.slice_text.splitlines(keepends=True)
            if not line.startswith(person.hash + ",")]  # fmt: skip
    assert after.text == "".join(kept) and len(after.hashes) == 5
    with pytest.raises(ClientError):
        repos.identity.client.admin_get_user(UserPoolId=repos.settings.user_pool_id, Username=EMAIL)
    assert repos.erasures.pending() == []
    assert repos.population.members() == []


def test_from_the_first_moment_every_route_answers_as_for_an_unknown_user(person) -> None:
    assert _delete(person)[0] == 202
    me = person.user_id
    for method, path, body in [
        ("GET", f"/v1/users/{me}", None),
        ("DELETE", f"/v1/users/{me}", {"password": PASSWORD}),
        ("PUT", f"/v1/users/{me}/nightscout", {"secret": "another-long-secret"}),
        ("POST", f"/v1/users/{me}/datasets", {"client": {"name": "x", "version": "1"}}),
        ("GET", f"/v1/users/{me}/data", None),
        ("GET", f"/v1/users/{me}/summary", None),
        ("GET", f"/v1/users/{me}/donation", None),
        ("POST", f"/v1/users/{me}/share_codes", None),
        ("GET", "/api/v1/entries.json", None),
    ]:
        assert _request(person.gateway, method, path, person.token, body)[0] == 401, path
    # The Nightscout secret opens nothing, and the clinic no longer lists or reads them.
    entries = _request(person.gateway, "GET", "/api/v1/entries.json",
                       headers=[("api-secret", "a-nightscout-secret")])  # fmt: skip
    assert entries[0] == 401
    assert _request(person.gateway, "GET", f"/v1/users/{me}", person.clinician_token)[0] == 403
    listed = _request(person.gateway, "GET", f"/v1/clinics/{person.clinic_id}/patients",
                      person.clinician_token)  # fmt: skip
    assert listed[0] == 200 and listed[1]["data"] == []


# ------------------------------------------------------------------ who may
@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [({"password": "Wrong-horse-9-battery"}, 403, None), ({}, 400, "/password"),
     ("", 400, "/password")],
    ids=["wrong-password", "no-password", "no-body"],
)  # fmt: skip
def test_without_the_right_password_nothing_is_deleted(person, body, status, pointer) -> None:
    answer, errors = _delete(person, body)
    assert answer == status
    assert errors["errors"][0].get("source", {}).get("pointer") == pointer
    assert _login(person) == 200
    assert repositories().erasures.pending() == []
    assert _request(person.gateway, "GET", f"/v1/users/{person.user_id}", person.token)[0] == 200


def test_nobody_else_deletes_an_account(person) -> None:
    assert _delete(person, token="")[0] == 401
    assert _delete(person, token=person.clinician_token)[0] == 403  # a clinician of theirs
    assert _login(person) == 200 and repositories().erasures.pending() == []
    # And the owner's deletion leaves the clinician's account as it was.
    assert _delete(person)[0] == 202
    _finish(repositories())
    assert _login(person, "dr.stays@example.org") == 200


# ------------------------------------------------------------------ faults
def test_a_deletion_that_fails_halfway_is_unusable_at_once_and_resumed(person, template) -> None:
    repos = repositories()
    failures = 1

    def fail(**_: Any) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "BatchWriteItem")

    repos.datums.client.meta.events.register("before-call.dynamodb.BatchWriteItem", fail)
    assert _delete(person)[0] == 202
    assert failures == 0  # it did fail, with datums still stored
    assert _login(person) == 401
    assert (
        _request(person.gateway, "GET", f"/v1/users/{person.user_id}/data", person.token)[0] == 401
    )
    assert [e.user_id for e in repos.erasures.pending()] == [person.user_id]
    # The schedules: the export's withdrawals, then a resume that deletes what was left,
    # then one that finds nothing left and finishes.
    assert _finish(repos).pending == 1
    assert erasure.resume_pending(repos, utcnow() + erasure.GRACE, lambda: True).deleted == 1
    assert repos.erasures.pending() == []
    assert person.user_id not in _every_stored_byte(template)


def test_the_schedule_resumes_deletions_through_the_handler(person, lambda_context) -> None:
    from functions.auth import app

    assert _delete(person)[0] == 202
    first = app.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, lambda_context)
    assert first == {"pending": 1, "deleted": 0, "failed": 0}  # the grace has not passed
