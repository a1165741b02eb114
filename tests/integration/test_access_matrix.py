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

from tests.conftest import SharedWorld, clinic_share_code, sign_up_as, signed_in
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import utcnow
from tidewater.services import clinics
from tidewater.store.repos import repositories
from tidewater_local.front import Gateway
from tidewater_local.runtime import Functions, HttpRequest

PASSWORD = "Correct-horse-9-battery"
# The owner is a patient of a clinic whose clinician is `member_clinician`;
# `outside_clinician` is a clinician of no clinic the owner shares with. Clinicians and the
# researcher signed up as everyone does, as patients, and were granted their role.
CALLERS = (
    "anonymous",
    "owner",
    "other_patient",
    "outside_clinician",
    "member_clinician",
    "researcher",
)


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
    # The body for one caller, when it depends on who calls (a share code of their own).
    body_for: Callable[[World, str], Any] | None = None


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


# A patient's data: the owner reads and writes it, a clinician of the owner's clinic reads it.
OWNER_ONLY_WRITE = {
    "anonymous": 401,
    "owner": 200,
    "other_patient": 403,
    "outside_clinician": 403,
    "member_clinician": 403,
    "researcher": 403,
}
OWNER_ONLY_READ = {**OWNER_ONLY_WRITE, "member_clinician": 200}
# Nightscout routes act on the caller's own data; a researcher's account holds none.
OWN_DATA = {**_all(200), "anonymous": 401, "researcher": 403}
# A clinic's own routes: its clinicians only.
CLINIC_MEMBERS = {**_all(403), "anonymous": 401, "member_clinician": 200}

MATRIX: dict[str, Row] = {
    # ---- clinics
    "POST /v1/clinics": Row(
        lambda w: "/v1/clinics",
        {**CLINIC_MEMBERS, "outside_clinician": 200, "member_clinician": 200},
        lambda w: {"name": "Another clinic"},
    ),
    # The clinic's clinicians, and the patient themself.
    "GET /v1/clinics/{clinicId}/patients/{userId}": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/patients/{w.ids['owner']}",
        {**CLINIC_MEMBERS, "owner": 200},
    ),
    # A person's own clinics: as a clinician, as a patient.
    "GET /v1/clinicians/{userId}/clinics": Row(
        lambda w: f"/v1/clinicians/{w.ids['member_clinician']}/clinics", CLINIC_MEMBERS
    ),
    "GET /v1/patients/{userId}/clinics": Row(
        lambda w: f"/v1/patients/{w.ids['owner']}/clinics", {**OWNER_ONLY_WRITE}
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
    # The patient joins with a share code of the clinic's, a clinician of it adds the patient
    # with one of the patient's; each caller brings the code they could have (a fresh one).
    # Every other pairing of caller and code: test_a_share_code_opens_one_door_once.
    "POST /v1/clinics/{clinicId}/patients/{userId}": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/patients/{w.ids['owner']}",
        {**CLINIC_MEMBERS, "owner": 200, "member_clinician": 200},
        body_for=lambda w, caller: _code_a_caller_could_have(w, caller),
    ),
    "POST /v1/clinics/{clinicId}/share_codes": Row(
        lambda w: f"/v1/clinics/{w.clinic_id}/share_codes",
        {**CLINIC_MEMBERS, "member_clinician": 201},
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
    # Tidepool's refresh and current user: any signed-in caller, about themselves.
    "GET /auth/login": Row(lambda w: "/auth/login", {**_all(200), "anonymous": 401}),
    "GET /auth/user": Row(lambda w: "/auth/user", {**_all(200), "anonymous": 401}),
    # Tidepool's logout succeeds with any token or none.
    "POST /auth/logout": Row(lambda w: "/auth/logout", _all(200)),
    "GET /info": Row(lambda w: "/info", _all(200)),
    "GET /v1/time": Row(lambda w: "/v1/time", _all(200)),
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
    # The AGP has the summary's access: the owner and the clinicians of the patient's clinics.
    "GET /v1/users/{userId}/agp": Row(lambda w: f"/v1/users/{w.ids['owner']}/agp", OWNER_ONLY_READ),
    "GET /v1/users/{userId}/sources/compare": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/sources/compare", OWNER_ONLY_READ
    ),
    "GET /v1/users/{userId}/data_sets": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/data_sets", OWNER_ONLY_READ
    ),
    "GET /v1/users/{userId}/datasets": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/datasets", OWNER_ONLY_READ
    ),
    "GET /data/{userId}": Row(lambda w: f"/data/{w.ids['owner']}", OWNER_ONLY_READ),
    "POST /data/{userId}": Row(
        lambda w: f"/data/{w.ids['owner']}", OWNER_ONLY_WRITE, lambda w: [_CBG]
    ),
    "POST /v1/users/{userId}/data/legacy": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/data/legacy", OWNER_ONLY_WRITE, lambda w: [_CBG]
    ),
    # Nightscout routes act on the caller's own data, whoever the caller is.
    "POST /api/v1/entries": Row(
        lambda w: "/api/v1/entries",
        OWN_DATA,
        lambda w: {"type": "sgv", "sgv": 100, "date": 1_795_240_800_000},
    ),
    "GET /api/v1/entries": Row(lambda w: "/api/v1/entries", OWN_DATA),
    "GET /api/v1/entries.json": Row(lambda w: "/api/v1/entries.json", OWN_DATA),
    "GET /api/v1/entries/sgv.json": Row(lambda w: "/api/v1/entries/sgv.json", OWN_DATA),
    "GET /api/v1/entries/current.json": Row(lambda w: "/api/v1/entries/current.json", OWN_DATA),
    "DELETE /api/v1/entries/{entryId}": Row(
        lambda w: f"/api/v1/entries/{_owners_entry(w)}",
        {
            "anonymous": 401,
            "owner": 200,
            "other_patient": 404,
            "outside_clinician": 404,
            "member_clinician": 404,
            "researcher": 403,
        },
    ),
    "POST /api/v1/treatments": Row(
        lambda w: "/api/v1/treatments",
        OWN_DATA,
        lambda w: {"eventType": "Note", "notes": "n", "created_at": "2026-11-21T08:00:00Z"},
    ),
    "POST /api/v1/treatments.json": Row(
        lambda w: "/api/v1/treatments.json",
        OWN_DATA,
        lambda w: {"eventType": "Bolus", "insulin": 1, "created_at": "2026-11-21T08:00:00Z"},
    ),
    "PUT /api/v1/treatments": Row(
        lambda w: "/api/v1/treatments",
        OWN_DATA,
        lambda w: {
            "_id": "5f1afb118b6aca48aa123400",
            "eventType": "Bolus",
            "insulin": 2,
            "created_at": "2026-11-21T08:00:00Z",
        },
    ),
    "GET /api/v1/treatments": Row(lambda w: "/api/v1/treatments", OWN_DATA),
    "GET /api/v1/treatments.json": Row(lambda w: "/api/v1/treatments.json", OWN_DATA),
    "DELETE /api/v1/treatments/{treatmentId}": Row(
        lambda w: f"/api/v1/treatments/{_owners_treatment(w)}",
        {
            "anonymous": 401,
            "owner": 200,
            "other_patient": 404,
            "outside_clinician": 404,
            "member_clinician": 404,
            "researcher": 403,
        },
    ),
    "POST /api/v1/devicestatus": Row(
        lambda w: "/api/v1/devicestatus",
        OWN_DATA,
        lambda w: {"device": "loop://iPhone", "created_at": "2026-11-21T08:00:00Z"},
    ),
    "GET /api/v1/devicestatus": Row(lambda w: "/api/v1/devicestatus", OWN_DATA),
    "GET /api/v1/devicestatus.json": Row(lambda w: "/api/v1/devicestatus.json", OWN_DATA),
    "POST /api/v1/profile": Row(
        lambda w: "/api/v1/profile",
        OWN_DATA,
        lambda w: {
            "defaultProfile": "A",
            "startDate": "2026-11-21T08:00:00Z",
            "store": {"A": {"basal": [{"time": "00:00", "value": 1}]}},
        },
    ),
    "GET /api/v1/profile": Row(lambda w: "/api/v1/profile", OWN_DATA),
    "GET /api/v1/profile.json": Row(lambda w: "/api/v1/profile.json", OWN_DATA),
    "GET /api/v1/status.json": Row(lambda w: "/api/v1/status.json", _all(200)),
    # ---- rights: a copy of everything leaves with its owner alone (303 to the download)
    "GET /v1/users/{userId}/export": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/export", {**OWNER_ONLY_WRITE, "owner": 303}
    ),
    # ---- donation: consent is the owner's alone, even to read; slices are for researchers
    # A followed Nightscout site: its owner's alone, clinicians included (the token is a
    # credential). Nothing is linked in the world: the owner passes and finds none.
    "PUT /v1/users/{userId}/nightscout/source": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/nightscout/source",
        OWNER_ONLY_WRITE,
        lambda w: {"url": "http://127.0.0.1:9/site", "token": "reader-0123456789abcdef"},
    ),
    "GET /v1/users/{userId}/nightscout/source": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/nightscout/source",
        {**OWNER_ONLY_WRITE, "owner": 404},
    ),
    "DELETE /v1/users/{userId}/nightscout/source": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/nightscout/source",
        {**OWNER_ONLY_WRITE, "owner": 404},
    ),
    "GET /v1/users/{userId}/donation": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/donation", OWNER_ONLY_WRITE
    ),
    "PUT /v1/users/{userId}/donation": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/donation",
        OWNER_ONLY_WRITE,
        lambda w: {"consent": True},
    ),
    # ---- the population view: the choice is the owner's alone; the view any session's
    "GET /v1/users/{userId}/population": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/population", OWNER_ONLY_WRITE
    ),
    "PUT /v1/users/{userId}/population": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/population",
        OWNER_ONLY_WRITE,
        lambda w: {"share": True},
    ),
    "GET /v1/population": Row(lambda w: "/v1/population", {**_all(200), "anonymous": 401}),
    "GET /v1/donations/slices": Row(
        lambda w: "/v1/donations/slices", {**_all(403), "anonymous": 401, "researcher": 200}
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


def _owners_treatment(world: World) -> str:
    from tidewater.domain.identity import Caller, Via
    from tidewater.services import nightscout

    treatment = {"eventType": "Bolus", "insulin": 1, "date": next(_ENTRY_DATES)}
    owner = Caller(world.ids["owner"], "", Via.NIGHTSCOUT)
    return str(nightscout.post_treatments(owner, treatment, repositories())[0]["_id"])


def _code_a_caller_could_have(world: World, caller: str) -> dict[str, str]:
    """A clinician asks the patient (the owner) for a share code; a patient gets one from
    the clinic; anyone else has nothing."""
    if caller.endswith("clinician"):
        owner = Caller(world.ids["owner"], "patient", Via.SESSION)
        code = clinics.create_share_code(owner, world.ids["owner"], repositories(), utcnow())
        return {"shareCode": code["shareCode"]}
    return clinic_share_code(world.clinic_id) if caller != "anonymous" else {}


def _build() -> World:
    ids, tokens = {}, {}
    for name, role in (
        ("owner", "patient"),
        ("other_patient", "patient"),
        ("outside_clinician", "clinician"),
        ("member_clinician", "clinician"),
        ("researcher", "researcher"),
    ):
        email = f"{name.replace('_', '.')}@example.org"
        body = {"email": email, "password": PASSWORD, "fullName": name}
        ids[name] = sign_up_as(body, role).user_id
        tokens[name] = signed_in(email, PASSWORD)
    member = Caller(ids["member_clinician"], "clinician", Via.SESSION)
    clinic_id = clinics.create_clinic(member, {"name": "Seastar"}, repositories(), utcnow())["id"]
    owner = Caller(ids["owner"], "patient", Via.SESSION)
    clinics.share_patient(
        owner, clinic_id, ids["owner"], clinic_share_code(clinic_id), repositories(), utcnow()
    )
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
        body = row.body_for(state, caller) if row.body_for else row.body(state)
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


def _send(gateway: Gateway, token: str, method: str, path: str, body: Any = None) -> Any:
    headers = [("Content-Type", "application/json"), ("X-Tidepool-Session-Token", token)]
    raw = b"" if body is None else json.dumps(body).encode()
    return gateway.handle(HttpRequest(method, path, "", headers, raw, "127.0.0.1", "127.0.0.1"))


def _code(state: World, gateway: Gateway, kind: str) -> dict[str, str]:
    """A share code of the kind asked for, made as its holder makes it (over HTTP)."""
    if kind == "none":
        return {}
    if kind in ("owner", "other_patient"):
        path = f"/v1/users/{state.ids[kind]}/share_codes"
        made = _send(gateway, state.tokens[kind], "POST", path)
    else:
        clinic_id = state.clinic_id
        if kind == "other_clinic":
            made = _send(gateway, state.tokens["outside_clinician"], "POST", "/v1/clinics",
                         {"name": "Elsewhere"})  # fmt: skip
            clinic_id = json.loads(made.body)["id"]
        holder = "member_clinician" if kind == "clinic" else "outside_clinician"
        made = _send(gateway, state.tokens[holder], "POST", f"/v1/clinics/{clinic_id}/share_codes")
    assert made.status == 201, made.body
    return {"shareCode": json.loads(made.body)["data"]["shareCode"]}


# Who asks to put the owner in the clinic, with whose code: only the owner with the clinic's
# code and the clinic's clinician with the owner's code get in.
JOINS = [
    ("owner", "none", 403),
    ("owner", "clinic", 200),
    ("owner", "other_clinic", 403),
    ("owner", "owner", 403),
    ("member_clinician", "none", 403),
    ("member_clinician", "owner", 200),
    ("member_clinician", "other_patient", 403),
    ("member_clinician", "clinic", 403),
    ("outside_clinician", "owner", 403),
    ("other_patient", "clinic", 403),
    ("researcher", "clinic", 403),
]


@pytest.mark.parametrize(("caller", "kind", "status"), JOINS)
def test_a_share_code_opens_one_door_once(world, caller, kind, status) -> None:
    state, gateway = world
    path = f"/v1/clinics/{state.clinic_id}/patients/{state.ids['owner']}"
    _send(gateway, state.tokens["owner"], "DELETE", path)  # the owner starts outside
    code = _code(state, gateway, kind)
    assert _send(gateway, state.tokens[caller], "POST", path, code).status == status
    listed = _send(gateway, state.tokens["member_clinician"], "GET",
                   f"/v1/clinics/{state.clinic_id}/patients")  # fmt: skip
    ids = [entry["userId"] for entry in json.loads(listed.body)["data"]]
    assert ids == ([state.ids["owner"]] if status == 200 else [])
    if status == 200:  # used once, the code opens nothing again
        _send(gateway, state.tokens["owner"], "DELETE", path)
        again = _send(gateway, state.tokens[caller], "POST", path, code)
        assert again.status == 403
        assert "share code" in json.loads(again.body)["errors"][0]["detail"]
