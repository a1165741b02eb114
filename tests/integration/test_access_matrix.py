"""Every route of the template x every kind of caller → the status a user would see.

Requests go through the local stack's gateway in process (the template's routes, the real
authorizer, the real handlers) against moto. A route added to the template without a row
here fails `test_every_route_has_a_row`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import SharedWorld
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import utcnow
from tidewater.services import auth, clinics
from tidewater.store.repos import repositories
from tidewater_local.front import Gateway
from tidewater_local.runtime import Functions, HttpRequest

PASSWORD = "Correct-horse-9-battery"
# The owner is a patient of a clinic whose clinician is `member_clinician`;
# `outside_clinician` is a clinician of no clinic the owner shares with.
CALLERS = ("anonymous", "owner", "other_patient", "outside_clinician", "member_clinician")


@dataclass
class World:
    ids: dict[str, str]
    tokens: dict[str, str]
    clinic_id: str = ""


@dataclass(frozen=True)
class Row:
    """How to call a route, and the status each kind of caller gets."""

    path: Callable[[World], str]
    expected: dict[str, int]
    body: Callable[[World], Any] = lambda world: None


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


# A patient's data: the owner reads and writes it, a clinician of the owner's clinic reads it.
OWNER_ONLY_WRITE = {
    "anonymous": 401,
    "owner": 200,
    "other_patient": 403,
    "outside_clinician": 403,
    "member_clinician": 403,
}
OWNER_ONLY_READ = {**OWNER_ONLY_WRITE, "member_clinician": 200}
# A clinic's own routes: its clinicians only.
CLINIC_MEMBERS = {**_all(403), "anonymous": 401, "member_clinician": 200}

MATRIX: dict[str, Row] = {
    # ---- clinics
    "POST /v1/clinics": Row(
        lambda w: "/v1/clinics",
        {**CLINIC_MEMBERS, "outside_clinician": 201, "member_clinician": 201},
        lambda w: {"name": "Another clinic"},
    ),
    "GET /v1/clinics/{clinicId}": Row(lambda w: f"/v1/clinics/{w.clinic_id}", CLINIC_MEMBERS),
    "GET /v1/clinics/{clinicId}/patients": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/patients", CLINIC_MEMBERS
    ),
    "GET /v1/clinics/{clinicId}/tide_report": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/tide_report", CLINIC_MEMBERS
    ),
    # Admins manage clinicians (the member is the clinic's admin).
    "POST /v1/clinics/{clinicId}/clinicians/{userId}": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/clinicians/{w.ids['outside_clinician']}",
        CLINIC_MEMBERS,
    ),
    "DELETE /v1/clinics/{clinicId}/clinicians/{userId}": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/clinicians/{w.ids['outside_clinician']}",
        {**CLINIC_MEMBERS, "member_clinician": 204},
    ),
    # The patient shares themself; a clinician needs the patient's share code.
    "POST /v1/clinics/{clinicId}/patients/{userId}": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/patients/{w.ids['owner']}",
        {**CLINIC_MEMBERS, "owner": 200, "member_clinician": 403},
    ),
    # Callers go in CALLERS order: once the owner has unshared, the member finds no patient.
    "DELETE /v1/clinics/{clinicId}/patients/{userId}": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/patients/{w.ids['owner']}",
        {**CLINIC_MEMBERS, "owner": 204, "member_clinician": 404},
    ),
    "POST /v1/users/{userId}/share_codes": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/share_codes", {**OWNER_ONLY_WRITE, "owner": 201}
    ),
    "GET /v1/users/{userId}/summary": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/summary", OWNER_ONLY_READ
    ),
    # ---- identity
    "GET /status": Row(lambda w: "/status", _all(200)),
    # Login is public; these callers send no Basic credentials, so all are refused alike.
    "POST /auth/login": Row(lambda w: "/auth/login", _all(401)),
    # Sign-up is public; the body is invalid for everyone alike.
    "POST /v1/users": Row(lambda w: "/v1/users", _all(400), lambda w: {"email": "x"}),
    "GET /v1/users/{userId}": Row(lambda w: f"/v1/users/{w.ids['owner']}", OWNER_ONLY_READ),
    # The owner, with the password again (everyone after the owner finds no account of theirs).
    "DELETE /v1/users/{userId}": Row(
        lambda w: f"/v1/users/{w.ids['owner']}",
        {**OWNER_ONLY_WRITE, "owner": 202, "member_clinician": 403},
        lambda w: {"password": PASSWORD},
    ),
    "PUT /v1/users/{userId}/nightscout": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/nightscout",
        OWNER_ONLY_WRITE,
        lambda w: {"secret": "twelve-chars-or-more"},
    ),
    # ---- uploads (the dataset or entry is made afresh for each caller: a delete consumes it)
    "POST /v1/users/{userId}/datasets": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/datasets",
        {**OWNER_ONLY_WRITE, "owner": 201},
        lambda w: {"client": {"name": "org.example", "version": "1"}},
    ),
    "POST /v1/datasets/{datasetId}/data": Row(
        lambda w: f"/v1/datasets/{_owners_dataset(w)}/data", OWNER_ONLY_WRITE, lambda w: [_CBG]
    ),
    "PUT /v1/datasets/{datasetId}": Row(
        lambda w: f"/v1/datasets/{_owners_dataset(w)}", OWNER_ONLY_WRITE
    ),
    "DELETE /v1/datasets/{datasetId}": Row(
        lambda w: f"/v1/datasets/{_owners_dataset(w)}", OWNER_ONLY_WRITE
    ),
    "GET /v1/users/{userId}/data": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/data", OWNER_ONLY_READ
    ),
    "POST /v1/users/{userId}/data/legacy": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/data/legacy", OWNER_ONLY_WRITE, lambda w: [_CBG]
    ),
    # Nightscout routes act on the caller's own data, whoever the caller is.
    "POST /api/v1/entries": Row(
        lambda w: "/api/v1/entries",
        {**_all(200), "anonymous": 401},
        lambda w: {"type": "sgv", "sgv": 100, "date": 1_795_240_800_000},
    ),
    "GET /api/v1/entries": Row(lambda w: "/api/v1/entries", {**_all(200), "anonymous": 401}),
    "GET /api/v1/entries.json": Row(
        lambda w: "/api/v1/entries.json", {**_all(200), "anonymous": 401}
    ),
    "GET /api/v1/entries/sgv.json": Row(
        lambda w: "/api/v1/entries/sgv.json", {**_all(200), "anonymous": 401}
    ),
    "GET /api/v1/entries/current.json": Row(
        lambda w: "/api/v1/entries/current.json", {**_all(200), "anonymous": 401}
    ),
    "DELETE /api/v1/entries/{entryId}": Row(
        lambda w: f"/api/v1/entries/{_owners_entry(w)}",
        {
            "anonymous": 401,
            "owner": 200,
            "other_patient": 404,
            "outside_clinician": 404,
            "member_clinician": 404,
        },
    ),
    "GET /api/v1/status.json": Row(lambda w: "/api/v1/status.json", _all(200)),
    # ---- rights: a copy of everything leaves with its owner alone (303 to the download)
    "GET /v1/users/{userId}/export": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/export", {**OWNER_ONLY_WRITE, "owner": 303}
    ),
    # ---- donation: consent is the owner's alone, even to read; slices are for researchers
    "GET /v1/users/{userId}/donation": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/donation", OWNER_ONLY_WRITE
    ),
    "PUT /v1/users/{userId}/donation": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/donation",
        OWNER_ONLY_WRITE,
        lambda w: {"consent": True},
    ),
    "GET /v1/donations/slices": Row(
        lambda w: "/v1/donations/slices", {**_all(403), "anonymous": 401}
    ),
}

_CBG = {"type": "cbg", "deviceId": "G6", "time": "2026-11-21T06:00:00Z", "value": 99,
        "units": "mg/dL"}  # fmt: skip


def _owners_dataset(world: World) -> str:
    from tidewater.domain.datasets import Dataset
    from tidewater.domain.datums.ids import random_id

    dataset = Dataset(random_id(), world.ids["owner"], "2026-11-21T06:00:00.000Z")
    repositories().datasets.create(dataset)
    return dataset.id


def _owners_entry(world: World) -> str:
    from tidewater.domain.identity import Caller, Via
    from tidewater.services import nightscout

    entry = {"type": "sgv", "sgv": 100, "date": next(_ENTRY_DATES)}
    owner = Caller(world.ids["owner"], "", Via.NIGHTSCOUT)
    return str(nightscout.post_entries(owner, entry, repositories())[0]["_id"])


_ENTRY_DATES = itertools.count(1_795_240_800_000, 60_000)  # a new entry for each caller


def _build() -> World:
    ids, tokens = {}, {}
    for name, role in (
        ("owner", "patient"),
        ("other_patient", "patient"),
        ("outside_clinician", "clinician"),
        ("member_clinician", "clinician"),
    ):
        email = f"{name.replace('_', '.')}@example.org"
        body = {"email": email, "password": PASSWORD, "fullName": name, "role": role}
        ids[name] = auth.sign_up(body, repositories(), utcnow()).user_id
        tokens[name] = repositories().identity.authenticate(email, PASSWORD)
    member = Caller(ids["member_clinician"], "clinician", Via.SESSION)
    clinic_id = clinics.create_clinic(member, {"name": "Seastar"}, repositories(), utcnow())["id"]
    owner = Caller(ids["owner"], "patient", Via.SESSION)
    clinics.share_patient(owner, clinic_id, ids["owner"], {}, repositories(), utcnow())
    return World(ids, tokens, clinic_id)


@pytest.fixture(scope="module")
def shared(aws_session, template) -> tuple[SharedWorld[World], Gateway]:
    """The four accounts and the clinic, signed up once for the module."""
    return aws_session.build("access", _build), Gateway(Functions(template), {})


# Routes after which the world cannot be put back (a deleted account keeps no id to return
# to): each is tried against accounts signed up for it alone.
UNDOABLE = {"DELETE /v1/users/{userId}"}


@pytest.fixture
def world(request, shared, template) -> Iterator[tuple[World, Gateway]]:
    """The accounts as signed up: what a route changed is undone before the next test."""
    if request.node.callspec.params.get("route") in UNDOABLE:
        aws = request.getfixturevalue("aws")  # noqa: F841 (an empty stack of the test's own)
        yield _build(), Gateway(Functions(template), {})
        return
    built, gateway = shared
    with built.visit() as state:
        yield state, gateway


def test_every_route_has_a_row(template) -> None:
    declared = {f"{r.method} {r.path}" for r in template.routes()}
    assert declared == set(MATRIX), "add a row to MATRIX for every route (and drop old ones)"


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_route_answers_each_caller_as_expected(world, route) -> None:
    state, gateway = world
    row = MATRIX[route]
    method = route.split(" ", 1)[0]
    got = {}
    for caller in CALLERS:
        headers = [("Content-Type", "application/json")]
        if caller != "anonymous":
            headers.append(("X-Tidepool-Session-Token", state.tokens[caller]))
        body = row.body(state)
        request = HttpRequest(
            method,
            row.path(state),
            "",
            headers,
            b"" if body is None else json.dumps(body).encode(),
            "127.0.0.1",
            "127.0.0.1",
        )
        got[caller] = gateway.handle(request).status
    assert got == row.expected
