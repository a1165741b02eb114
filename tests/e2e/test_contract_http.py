"""The contract as the local stack serves it, Swagger UI offline, and CORS for the web app's
origin only (the template's WebOrigin, default http://localhost:5173)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB_ORIGIN = "http://localhost:5173"


def test_the_stack_serves_the_committed_contract(stack) -> None:
    reply = stack.request("GET", "/openapi.json")
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
    assert reply.json() == json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_swagger_ui_loads_with_no_request_outside_the_stack(stack) -> None:
    page = stack.request("GET", "/docs")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    assert "https://" not in html and "http://" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(sources) == ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]
    script = stack.request("GET", "/docs/swagger-ui-bundle.js")
    assert script.status == 200 and b"SwaggerUIBundle" in script.body
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert stack.request("GET", "/docs/swagger-ui.css").status == 200


def test_the_web_origin_gets_cors_headers_and_a_preflight(stack) -> None:
    reply = stack.request("GET", "/status", headers={"Origin": WEB_ORIGIN})
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == WEB_ORIGIN
    assert "x-tidepool-session-token" in reply.headers["Access-Control-Expose-Headers"]
    preflight = stack.request(
        "OPTIONS",
        "/v1/users",
        headers={"Origin": WEB_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == WEB_ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "x-tidepool-session-token" in preflight.headers["Access-Control-Allow-Headers"]


def test_another_origin_gets_no_cors_headers(stack) -> None:
    for origin in ("https://evil.example", "http://localhost:5174", "null"):
        reply = stack.request("GET", "/status", headers={"Origin": origin})
        assert reply.status == 200
        assert not any(name.lower().startswith("access-control-") for name in reply.headers)
        preflight = stack.request(
            "OPTIONS", "/v1/users",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )  # fmt: skip
        assert preflight.status != 204
        assert not any(name.lower().startswith("access-control-") for name in preflight.headers)
