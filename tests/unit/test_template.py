"""template.yaml is the one description of the deployment; the local stack reads it."""

from __future__ import annotations

import re

from tests.conftest import TEMPLATE


def test_no_schedule_is_finer_than_a_minute() -> None:
    # AWS rejects rate expressions under one minute; the 30-s cadence is a workflow's Wait.
    assert not re.search(r"rate\([^)]*second", TEMPLATE.read_text(), re.IGNORECASE)


def test_summariser_runs_twice_a_minute_thirty_seconds_apart(template) -> None:
    runs = [s for s in template.schedules() if s.function == "SummarizeFunction"]
    assert [(s.every, s.offset) for s in runs] == [(60, 0), (60, 30)]


def test_export_runs_daily(template) -> None:
    runs = [s for s in template.schedules() if s.function == "ExportFunction"]
    (run,) = [s for s in runs if "task" not in s.payload]
    assert run.every == 86400


def test_withdrawals_and_deletions_are_applied_every_five_minutes(template) -> None:
    runs = {(s.function, s.every, s.payload.get("task")) for s in template.schedules()}
    assert ("ExportFunction", 300, "withdrawals") in runs
    assert ("AuthFunction", 300, None) in runs  # resumes account deletions


def test_every_function_has_its_handler_file(template) -> None:
    from tests.conftest import ROOT

    for spec in template.functions().values():  # sample events: integration/test_sample_events
        assert spec.handler_file(ROOT).exists(), spec.logical_id


def test_status_is_a_public_get_route(template) -> None:
    status = [r for r in template.routes() if r.path == "/status"]
    assert [(r.method, r.function, r.public) for r in status] == [("GET", "IngestFunction", True)]


def test_functions_get_table_names_from_the_template(template) -> None:
    env = template.environment({"Stage": "local"})
    assert env["DATUMS_TABLE"] == template.physical_name("DatumsTable")
    assert env["STAGE"] == "local"


def test_route_patterns_bind_path_parameters() -> None:
    from tidewater_local.cfn import Route, _route_pattern

    route = Route(
        "POST",
        "/v1/datasets/{datasetId}/data",
        "F",
        False,
        _route_pattern("/v1/datasets/{datasetId}/data"),
    )
    assert route.match("POST", "/v1/datasets/abc123/data") == {"datasetId": "abc123"}
    assert route.match("GET", "/v1/datasets/abc123/data") is None
    assert route.match("POST", "/v1/datasets/a/b/data") is None


def test_rate_expressions() -> None:
    import pytest

    from tidewater_local.cfn import rate_seconds

    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(1 day)") == 86400
    with pytest.raises(ValueError):
        rate_seconds("rate(30 seconds)")


def test_cors_allows_the_web_origin_parameter_only(template) -> None:
    cors = template.http_api()["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Ref": "WebOrigin"}]
    assert template.parameter_default("WebOrigin") == "http://localhost:5173"
    assert "*" not in str(cors["AllowOrigins"]) and "*" not in cors["AllowHeaders"]
    assert "x-tidepool-session-token" in cors["AllowHeaders"]
    assert "api-secret" in cors["AllowHeaders"]
