"""Hostile bodies and query strings (issue 13, defects 1 to 3): each is the client's 400, with
`source.pointer` into the body or `source.parameter` for the query, never a 500, and no `NaN`
in any answer. Every case here answered 500 (or 201 with `NaN`) before the typed edge."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.ingest_support import ALICE, ALICE_NIGHTSCOUT, CLIENT, cbg, event
from tidewater.domain.identity import Caller


def _call(module: str, built: dict[str, Any], context: Any) -> tuple[int, Any, str]:
    app = __import__(f"functions.{module}.app", fromlist=["handler"])
    response = app.handler(built, context)
    text = response.get("body") or ""
    return response["statusCode"], _strict(text) if text else None, text


def _strict(text: str) -> Any:
    """The answer as JSON, refusing NaN and the infinities as a strict client does."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in an answer")

    return json.loads(text, parse_constant=refuse)


def _bad(status: int, answer: Any) -> dict[str, Any]:
    assert status == 400, answer
    (first, *_) = answer["errors"]
    assert first["status"] == "400"
    return first


HUGE_INT = "9" * 4301
DEEP = "[" * 2000
# Bodies that are not JSON as RFC 8259 has it, on a route of each function that takes one.
NOT_JSON = {
    "4301 digits": HUGE_INT,
    "deep nesting": DEEP,
    "NaN": '{"email": NaN}',
    "Infinity": '{"email": -Infinity}',
    "1e309": '{"email": 1e309}',
    "1 and 309 zeros": '{"email": 1' + "0" * 309 + "}",
}
BODY_ROUTES = [
    ("auth", "POST", "/v1/users", "/v1/users", None, {}),
    ("ingest", "POST", "/v1/users/{userId}/datasets", f"/v1/users/{ALICE.user_id}/datasets",
     ALICE, {"userId": ALICE.user_id}),
    ("clinic", "POST", "/v1/clinics", "/v1/clinics", ALICE, {}),
    ("donations", "PUT", "/v1/users/{userId}/donation", f"/v1/users/{ALICE.user_id}/donation",
     ALICE, {"userId": ALICE.user_id}),
]  # fmt: skip


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r[0])
@pytest.mark.parametrize("raw", list(NOT_JSON.values()), ids=list(NOT_JSON))
def test_a_body_that_is_not_strict_json_is_a_400_at_the_whole_body(
    aws, lambda_context, route, raw
) -> None:
    module, method, key, path, caller, params = route
    built = event(method, key, path, caller=caller, params=params, raw_body=raw)
    error = _bad(*_call(module, built, lambda_context)[:2])
    assert error["code"] == "body-not-json" and error["source"] == {"pointer": ""}


def test_bytes_that_are_not_utf8_are_a_400_whatever_the_content_type(aws, lambda_context) -> None:
    built = event("POST", "/v1/users", "/v1/users", caller=None)
    built["headers"]["content-type"] = "application/octet-stream"
    built["body"] = base64.b64encode(b'{"email": "\xff"}').decode()
    built["isBase64Encoded"] = True
    error = _bad(*_call("auth", built, lambda_context)[:2])
    assert error["code"] == "body-not-json" and error["source"] == {"pointer": ""}


@pytest.mark.parametrize("extra", ["NaN", "Infinity", "-Infinity", "1e309", "1" + "0" * 309])
def test_a_datum_with_a_number_json_cannot_hold_is_refused_and_nothing_stored(
    aws, lambda_context, extra
) -> None:
    from functions.ingest import app

    created = app.handler(
        event("POST", "/v1/users/{userId}/datasets", f"/v1/users/{ALICE.user_id}/datasets",
              params={"userId": ALICE.user_id}, body=CLIENT),
        lambda_context,
    )  # fmt: skip
    dataset_id = json.loads(created["body"])["data"]["id"]
    datum = json.dumps([cbg("2026-11-20T10:00:00Z")])[:-2] + f', "clockDriftOffset": {extra}}}]'
    built = event("POST", "/v1/datasets/{datasetId}/data", f"/v1/datasets/{dataset_id}/data",
                  params={"datasetId": dataset_id}, raw_body=datum)  # fmt: skip
    error = _bad(*_call("ingest", built, lambda_context)[:2])
    assert error["code"] == "body-not-json"
    read = event("GET", "/v1/users/{userId}/data", f"/v1/users/{ALICE.user_id}/data",
                 params={"userId": ALICE.user_id})  # fmt: skip
    assert _call("ingest", read, lambda_context)[1]["data"] == []


def test_a_dataset_whose_client_holds_nan_is_refused(aws, lambda_context) -> None:
    raw = '{"client": {"name": "org.tidepool.uploader", "version": "1", "e": NaN}}'
    built = event("POST", "/v1/users/{userId}/datasets", f"/v1/users/{ALICE.user_id}/datasets",
                  params={"userId": ALICE.user_id}, raw_body=raw)  # fmt: skip
    assert _bad(*_call("ingest", built, lambda_context)[:2])["code"] == "body-not-json"


@pytest.mark.parametrize("role", [[], {}, 1, True])
def test_sign_up_with_a_role_that_is_not_a_string_points_at_the_role(
    aws, lambda_context, role
) -> None:
    body = {
        "email": "role@example.org",
        "password": "Correct-horse-9",
        "fullName": "R",
        "role": role,
    }
    built = event("POST", "/v1/users", "/v1/users", caller=None, body=body)
    error = _bad(*_call("auth", built, lambda_context)[:2])
    # Sign-up makes patients only: whatever else is sent as the role is refused at /role.
    assert error["source"] == {"pointer": "/role"} and error["code"] == "role-not-allowed"


def test_a_boolean_is_not_a_number_nor_a_string(aws, lambda_context) -> None:
    built = event("POST", "/v1/clinics", "/v1/clinics", body={"name": True})
    error = _bad(*_call("clinic", built, lambda_context)[:2])
    assert error["source"] == {"pointer": "/name"} and error["code"] == "type-not-valid"


DATA = ("GET", "/v1/users/{userId}/data", f"/v1/users/{ALICE.user_id}/data")
ENTRIES = ("GET", "/api/v1/entries", "/api/v1/entries")


@pytest.mark.parametrize(
    ("route", "caller", "parameter", "value"),
    [(DATA, ALICE, "limit", "²"), (DATA, ALICE, "limit", HUGE_INT),
     (ENTRIES, ALICE_NIGHTSCOUT, "count", "²"), (ENTRIES, ALICE_NIGHTSCOUT, "count", HUGE_INT),
     (DATA, ALICE, "limit", "true")],
    ids=["limit-superscript", "limit-4301-digits", "count-superscript", "count-4301-digits",
         "limit-true"],
)  # fmt: skip
def test_a_query_number_that_is_not_digits_names_its_parameter(
    aws, lambda_context, route: tuple[str, str, str], caller: Caller, parameter: str, value: str
) -> None:
    method, key, path = route
    built = event(method, key, path, caller=caller, params={"userId": ALICE.user_id},
                  query={parameter: value})  # fmt: skip
    error = _bad(*_call("ingest", built, lambda_context)[:2])
    assert error["source"] == {"parameter": parameter}


@pytest.mark.parametrize(
    "cursor",
    [base64.urlsafe_b64encode(b"[" * 1500).decode(),
     base64.urlsafe_b64encode(b"[" * 1500).decode()[:1000] + "." + "A" * 22,
     "x" * 5000],
    ids=["deep-json", "deep-json-with-mac", "too-long"],
)  # fmt: skip
def test_a_cursor_we_did_not_sign_names_the_cursor_parameter(aws, lambda_context, cursor) -> None:
    method, key, path = DATA
    built = event(method, key, path, params={"userId": ALICE.user_id}, query={"cursor": cursor})
    error = _bad(*_call("ingest", built, lambda_context)[:2])
    assert error["source"] == {"parameter": "cursor"}
