"""Every route of the template x every kind of caller → the status a user would see.

Requests go through the local stack's gateway in process (the template's routes, the real
authorizer, the real handlers) against moto. A route added to the template without a row
here fails `test_every_route_has_a_row`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tidewater.domain.timeutil import utcnow
from tidewater.local.front import Gateway
from tidewater.local.runtime import Functions, HttpRequest
from tidewater.services import auth
from tidewater.store.repos import repositories

PASSWORD = "Correct-horse-9-battery"
CALLERS = ("anonymous", "owner", "other_patient", "outside_clinician")


@dataclass
class World:
    ids: dict[str, str]
    tokens: dict[str, str]


@dataclass(frozen=True)
class Row:
    """How to call a route, and the status each kind of caller gets."""

    path: Callable[[World], str]
    expected: dict[str, int]
    body: Callable[[World], Any] = lambda world: None


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


OWNER_ONLY_READ = {"anonymous": 401, "owner": 200, "other_patient": 403, "outside_clinician": 403}
OWNER_ONLY_WRITE = OWNER_ONLY_READ

MATRIX: dict[str, Row] = {
    "GET /status": Row(lambda w: "/status", _all(200)),
    # Login is public; these callers send no Basic credentials, so all are refused alike.
    "POST /auth/login": Row(lambda w: "/auth/login", _all(401)),
    # Sign-up is public; the body is invalid for everyone alike.
    "POST /v1/users": Row(lambda w: "/v1/users", _all(400), lambda w: {"email": "x"}),
    "GET /v1/users/{userId}": Row(lambda w: f"/v1/users/{w.ids['owner']}", OWNER_ONLY_READ),
    "PUT /v1/users/{userId}/nightscout": Row(
        lambda w: f"/v1/users/{w.ids['owner']}/nightscout",
        OWNER_ONLY_WRITE,
        lambda w: {"secret": "twelve-chars-or-more"},
    ),
}


@pytest.fixture
def world(aws, template) -> tuple[World, Gateway]:
    ids, tokens = {}, {}
    for name, role in (("owner", "patient"), ("other_patient", "patient"),
                       ("outside_clinician", "clinician")):  # fmt: skip
        email = f"{name.replace('_', '.')}@example.org"
        body = {"email": email, "password": PASSWORD, "fullName": name, "role": role}
        ids[name] = auth.sign_up(body, repositories(), utcnow()).user_id
        tokens[name] = repositories().identity.authenticate(email, PASSWORD)
    return World(ids, tokens), Gateway(Functions(template), {})


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
        request = HttpRequest(method, row.path(state), "", headers,
                              b"" if body is None else json.dumps(body).encode(),
                              "127.0.0.1", "127.0.0.1")  # fmt: skip
        got[caller] = gateway.handle(request).status
    assert got == row.expected
