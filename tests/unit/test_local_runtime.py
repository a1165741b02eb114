"""The local front builds the same payload 2.0 events API Gateway sends."""

from __future__ import annotations

import base64
import json
import threading
import time

from tidewater_local.cfn import Route, Schedule, _route_pattern
from tidewater_local.runtime import HttpRequest, http_event, http_response
from tidewater_local.scheduler import Scheduler


def _request(**overrides) -> HttpRequest:  # type: ignore[no-untyped-def]
    values = dict(
        method="POST",
        path="/v1/datasets/d1/data",
        query="a=1&b=x%20y&a=2",
        headers=[
            ("Content-Type", "application/json"),
            ("X-Tidepool-Session-Token", "t"),
            ("Cookie", "c1=v1; c2=v2"),
        ],
        body=b'[{"type": "cbg"}]',
        source_ip="127.0.0.1",
        host="127.0.0.1:3000",
    )
    values.update(overrides)
    return HttpRequest(**values)


def test_http_event_has_the_payload_2_fields() -> None:
    path = "/v1/datasets/{datasetId}/data"
    route = Route("POST", path, "IngestFunction", False, _route_pattern(path))
    event = http_event(_request(), route, {"datasetId": "d1"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/datasets/{datasetId}/data"
    assert event["rawPath"] == "/v1/datasets/d1/data"
    assert event["rawQueryString"] == "a=1&b=x%20y&a=2"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["pathParameters"] == {"datasetId": "d1"}
    assert event["headers"]["x-tidepool-session-token"] == "t"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == [{"type": "cbg"}]


def test_binary_bodies_are_base64_encoded() -> None:
    event = http_event(
        _request(headers=[("Content-Type", "application/gzip")], body=b"\x1f\x8b\x00"), None, {}
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x1f\x8b\x00"


def test_http_response_from_a_lambda_result() -> None:
    response = http_response(
        {"statusCode": 201, "headers": {"Content-Type": "application/json"}, "body": "{}"}
    )
    assert response.status == 201 and response.body == b"{}"
    bare = http_response({"status": "ok"})  # payload 2.0: a bare value is a JSON 200
    assert bare.status == 200 and json.loads(bare.body) == {"status": "ok"}


def test_scheduler_fires_each_schedule_at_its_offset_and_stops() -> None:
    fired: list[tuple[str, float]] = []
    start = time.monotonic()
    done = threading.Event()

    def invoke(function: str, payload: dict) -> None:
        fired.append((function, time.monotonic() - start))
        if len(fired) == 3:
            done.set()

    scheduler = Scheduler(
        [Schedule("A", 1, 0, {}), Schedule("B", 1, 0, {})], invoke, clock=time.monotonic
    )
    scheduler.schedules[1] = Schedule("B", 1, 0, {"iteration": 2})
    scheduler.start()
    assert done.wait(5)
    scheduler.stop()
    assert [f for f, _ in fired[:2]] in (["A", "B"], ["B", "A"])
    assert all(0.9 <= t < 4 for _, t in fired)
    assert not scheduler._thread.is_alive()


def test_a_loaded_handler_is_the_module_that_import_finds(template) -> None:
    from tidewater_local.runtime import Functions, load_handler

    functions = Functions(template)
    spec = functions.specs[str(functions.by_name("ingest"))]
    handler = load_handler(spec, template.root)
    import functions.ingest.app as ingest_app  # its parent packages are registered too

    assert handler is ingest_app.handler
