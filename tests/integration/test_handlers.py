"""The Lambda handlers, called as Lambda calls them, against moto."""

from __future__ import annotations

import json

from tests.conftest import load_event


def test_status_answers_ok_with_the_version(aws, lambda_context) -> None:
    import tidewater
    from functions.ingest import app

    response = app.handler(load_event("status.json"), lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok", "version": tidewater.__version__}


def test_an_unknown_route_gets_the_projects_error_shape(aws, lambda_context) -> None:
    from functions.ingest import app

    event = load_event("status.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nowhere"
    response = app.handler(event, lambda_context)
    assert response["statusCode"] == 404
    (error,) = json.loads(response["body"])["errors"]
    assert error["status"] == "404" and error["code"] == "route-not-found"


def test_an_unexpected_error_is_a_500_without_internals(aws, lambda_context, monkeypatch) -> None:
    from functions.ingest import app

    class Boom:
        def __getattr__(self, name: str) -> str:
            raise RuntimeError("secret internals at /var/task/app.py line 3")

    monkeypatch.setattr(app, "tidewater", Boom())
    response = app.handler(load_event("status.json"), lambda_context)
    assert response["statusCode"] == 500
    assert "secret" not in response["body"] and "Traceback" not in response["body"]
    assert json.loads(response["body"])["errors"][0]["code"] == "internal-error"


def test_summarizer_iteration_runs_against_empty_tables(aws, lambda_context) -> None:
    from functions.summarize import app

    result = app.handler(load_event("summarize.json"), lambda_context)
    assert result["selected"] == 0 and result["failed"] == 0


def test_export_runs_on_its_scheduled_event(aws, lambda_context) -> None:
    from functions.export import app

    assert app.handler(load_event("export.json"), lambda_context)["slices"] == 0
