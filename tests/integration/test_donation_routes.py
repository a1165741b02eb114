"""The donations function: consent routes and the researchers' manifest, called as API
Gateway calls it (the authorizer's context in the event)."""

from __future__ import annotations

import copy
import gzip
import json
import random
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.donation_support import NOW, donor, published, repos_with
from tidewater import settings
from tidewater.domain.identity import Caller, Via
from tidewater.services import exporter
from tidewater.store import repos as store_repos

pytestmark = pytest.mark.usefixtures("aws")

PATIENT = Caller("0a1b2c3d4e", "patient", Via.SESSION)
OTHER = Caller("5f6e7d8c9b", "patient", Via.SESSION)
RESEARCHER = Caller("9f8e7d6c5b", "researcher", Via.SESSION)
CLINICIAN = Caller("c1c1c1c1c1", "clinician", Via.SESSION)
ANONYMOUS = Caller()


def _event(name: str, caller: Caller, path: str | None = None, body: Any = None) -> dict:
    event = copy.deepcopy(load_event(name))
    event["requestContext"]["authorizer"] = {"lambda": caller.to_context()}
    if path is not None:
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["pathParameters"] = {"userId": path.split("/")[3]}
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def _consent(caller: Caller, user_id: str, body: Any, method: str = "PUT") -> tuple[int, dict]:
    from functions.donations import app

    event = _event("donation_consent.json", caller, f"/v1/users/{user_id}/donation", body)
    event["requestContext"]["http"]["method"] = method
    if method == "GET":
        event.pop("body", None)
    response = app.handler(event, _context())
    return response["statusCode"], json.loads(response["body"])


def _slices(caller: Caller) -> tuple[int, dict]:
    from functions.donations import app

    response = app.handler(_event("donation_slices.json", caller), _context())
    return response["statusCode"], json.loads(response["body"])


def _context():  # type: ignore[no-untyped-def]
    from tidewater_local.runtime import LambdaContext

    return LambdaContext(function_name="DonationsFunction")


def test_the_sample_event_gives_consent_and_get_shows_when() -> None:
    status, body = _consent(PATIENT, PATIENT.user_id, None)  # the sample's body: consent true
    assert status == 200 and body["data"]["consent"] is True
    given = body["data"]["consentedTime"]
    status, body = _consent(PATIENT, PATIENT.user_id, None, "GET")
    assert status == 200 and body == {"data": {"consent": True, "consentedTime": given}}


def test_consent_given_twice_keeps_the_first_time() -> None:
    _, first = _consent(PATIENT, PATIENT.user_id, {"consent": True})
    _, second = _consent(PATIENT, PATIENT.user_id, {"consent": True})
    assert second == first


def test_withdrawal_is_shown_and_queued_for_the_export() -> None:
    _consent(PATIENT, PATIENT.user_id, {"consent": True})
    status, body = _consent(PATIENT, PATIENT.user_id, {"consent": False})
    assert status == 200
    assert body["data"]["consent"] is False and "withdrawnTime" in body["data"]
    repos = store_repos.repositories()
    assert [w.user_id for w in repos.donations.pending_withdrawals()] == [PATIENT.user_id]
    assert list(repos.donations.donors()) == []


def test_an_account_never_asked_has_not_consented() -> None:
    assert _consent(PATIENT, PATIENT.user_id, None, "GET") == (200, {"data": {"consent": False}})


@pytest.mark.parametrize(
    "body", [{}, {"consent": "yes"}, {"consent": 1}, {"consent": None}, [True], "true"]
)
def test_consent_must_be_a_boolean(body: Any) -> None:
    status, answer = _consent(PATIENT, PATIENT.user_id, body)
    assert status == 400
    assert answer["errors"][0]["source"]["pointer"] == "/consent"


@pytest.mark.parametrize(
    ("caller", "status"),
    [(ANONYMOUS, 401), (OTHER, 403), (CLINICIAN, 403), (RESEARCHER, 403),
     (Caller(PATIENT.user_id, "", Via.NIGHTSCOUT), 401)],
)  # fmt: skip
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_consent_is_the_owners_alone(caller: Caller, status: int, method: str) -> None:
    assert _consent(caller, PATIENT.user_id, {"consent": True}, method)[0] == status


def test_a_researcher_cannot_consent_for_themself() -> None:
    # Researchers have no data of their own here; may() refuses them their own user id.
    assert _consent(RESEARCHER, RESEARCHER.user_id, {"consent": True})[0] == 403


def test_slices_are_for_researchers() -> None:
    assert _slices(ANONYMOUS)[0] == 401
    assert _slices(PATIENT)[0] == 403
    assert _slices(CLINICIAN)[0] == 403
    status, body = _slices(RESEARCHER)
    assert status == 200
    assert body["data"] == {"schemaVersion": 1,
                            "columns": ["hash", "datetime", "glucose", "trend", "noise"],
                            "slices": []}  # fmt: skip


def test_a_deployment_may_make_the_slices_public(monkeypatch) -> None:
    monkeypatch.setenv("PUBLIC_DONATIONS", "true")
    settings.current.cache_clear()
    store_repos.repositories.cache_clear()
    assert _slices(ANONYMOUS)[0] == 200
    assert _slices(PATIENT)[0] == 200


def test_the_manifest_comes_with_a_download_url_per_slice() -> None:
    import requests

    repos = repos_with()
    for i in range(5):
        donor(repos, f"d0n0r{i:05d}")
    exporter.run(repos, now=NOW, rng=random.Random(1))
    status, body = _slices(RESEARCHER)
    assert status == 200
    (entry,) = body["data"]["slices"]
    (stored,) = published(repos)
    assert entry["id"] == stored.slice_id and entry["rows"] == 5 * 48 and entry["donors"] == 5
    assert "X-Amz-Expires=900" in entry["url"]
    downloaded = requests.get(entry["url"], timeout=10)
    assert gzip.decompress(downloaded.content).decode() == stored.text
