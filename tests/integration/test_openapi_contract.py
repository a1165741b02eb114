"""The published contract (docs/openapi.json) is the code's: regenerated from the functions'
resolvers it is the same file, and every route of the template is in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tidewater
from tidewater_local.cfn import Template
from tidewater_local.openapi import document, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated() -> dict:
    return document(Template(ROOT / "template.yaml"), tidewater.__version__)


def test_the_committed_document_is_what_the_code_generates(generated) -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text()
    assert committed == render(generated), "docs/openapi.json drifted: run `make openapi`"


def test_every_template_route_is_documented_with_its_security(generated) -> None:
    template = Template(ROOT / "template.yaml")
    # Read from the template itself, not from the code that made the document.
    for route in template.routes():
        operation = generated["paths"].get(route.path, {}).get(route.method.lower())
        assert operation is not None, f"{route.method} {route.path} is not in the document"
        assert (operation["security"] == []) is route.public


def test_the_document_is_openapi_3_1_with_both_credentials() -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed["openapi"].startswith("3.1")
    schemes = committed["components"]["securitySchemes"]
    assert schemes["session"] == {**schemes["session"], "type": "http", "scheme": "bearer"}
    assert schemes["nightscoutSecret"]["name"] == "api-secret"
    entries = committed["paths"]["/api/v1/entries"]["post"]["security"]
    assert {"nightscoutSecret": []} in entries


def test_bodies_and_queries_are_typed_in_the_document() -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    read = committed["paths"]["/v1/users/{userId}/data"]["get"]
    limit = next(p for p in read["parameters"] if p["name"] == "limit")
    assert limit["in"] == "query"
    assert "integer" in json.dumps(limit["schema"]) and '"maximum": 5000' in json.dumps(limit)
    sign_up = committed["paths"]["/v1/users"]["post"]
    assert "requestBody" in sign_up and "201" in sign_up["responses"]
    assert "400" in sign_up["responses"]


def test_no_content_answers_document_no_body(generated) -> None:
    removals = [
        operation["responses"]["204"]
        for operations in generated["paths"].values()
        for operation in operations.values()
        if "204" in operation["responses"]
    ]
    assert removals, "the clinic's removals answer 204"
    assert all("content" not in answer for answer in removals)


def test_links_name_operations_and_parameters_that_exist(generated) -> None:
    by_id = {
        operation["operationId"]: operation
        for operations in generated["paths"].values()
        for operation in operations.values()
    }
    answer = generated["paths"]["/v1/users/{userId}/datasets"]["post"]["responses"]["201"]
    links = answer["links"]
    assert {by_id[link["operationId"]]["operationId"] for link in links.values()} >= {
        generated["paths"]["/v1/datasets/{datasetId}/data"]["post"]["operationId"],
        generated["paths"]["/v1/datasets/{datasetId}"]["delete"]["operationId"],
    }
    for operations in generated["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    target = by_id[link["operationId"]]
                    names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                    assert set(link["parameters"]) <= names, link
