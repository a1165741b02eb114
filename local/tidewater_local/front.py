"""The HTTP front of the local stack: API Gateway's part, played in a few lines.

Requests become HttpApi payload 2.0 events for the routes the template declares; protected
routes go through the template's authorizer first, as API Gateway would do it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from tidewater_local.cfn import Route
from tidewater_local.runtime import (
    Functions,
    HttpRequest,
    HttpResponse,
    authorizer_event,
    http_event,
    http_response,
)

# Lambda's synchronous payload limit; API Gateway's own is 10 MB. Refused before reading.
MAX_BODY_BYTES = 6 * 1024 * 1024
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
CONTROL_PREFIX = "/_local/invoke/"
# The published contract and Swagger UI over it, offline: the assets are swagger-ui-dist's
# (npm, the version in swagger_ui/VERSION), committed beside this module (`make swagger-ui`).
SWAGGER_DIR: Final = Path(__file__).parent / "swagger_ui"
SWAGGER_ASSETS: Final = {
    "/docs/swagger-ui.css": "text/css; charset=utf-8",
    "/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
DOCS_PAGE: Final = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidewater API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
"""
# CORS as the template's HttpApi CorsConfiguration has it, for its WebOrigin only.
CORS_METHODS: Final = "GET,POST,PUT,DELETE,OPTIONS"
CORS_ALLOW_HEADERS: Final = "authorization,content-type,x-tidepool-session-token,api-secret"
CORS_EXPOSE_HEADERS: Final = "x-tidepool-session-token,retry-after,location"
CORS_MAX_AGE: Final = "600"


def _json(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(
        status, [("Content-Type", "application/json")], json.dumps(payload).encode()
    )


def _error(status: int, code: str, title: str, detail: str) -> HttpResponse:
    error = {"code": code, "title": title, "detail": detail, "status": str(status)}
    return _json(status, {"errors": [error]})


class Gateway:
    """Routing, authorisation and invocation, independent of the HTTP server."""

    def __init__(self, functions: Functions, scheduled: dict[str, dict[str, Any]]) -> None:
        self.functions = functions
        self.template = functions.template
        self.routes: list[Route] = self.template.routes()
        self.authorizer = self.template.default_authorizer_function()
        self.scheduled = scheduled  # function folder name → the payload its schedule sends
        self.web_origin = self.template.parameter("WebOrigin")
        self.contract = self.template.root / "docs" / "openapi.json"

    def handle(self, request: HttpRequest) -> HttpResponse:
        origin = next((v for k, v in request.headers if k.lower() == "origin"), None)
        if origin is None or origin != self.web_origin:
            return self._handle(request)
        if request.method == "OPTIONS":  # a preflight: API Gateway answers it, no route runs
            return HttpResponse(204, self._cors(origin, preflight=True), b"")
        response = self._handle(request)
        return HttpResponse(response.status, response.headers + self._cors(origin), response.body)

    def _cors(self, origin: str, preflight: bool = False) -> list[tuple[str, str]]:
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if preflight:
            headers += [
                ("Access-Control-Allow-Methods", CORS_METHODS),
                ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
                ("Access-Control-Max-Age", CORS_MAX_AGE),
            ]
        else:
            headers.append(("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS))
        return headers

    def _docs(self, path: str) -> HttpResponse | None:
        """The contract at /openapi.json, Swagger UI at /docs (None: not one of those)."""
        if path == "/openapi.json":
            return HttpResponse(
                200, [("Content-Type", "application/json")], self.contract.read_bytes()
            )
        if path in ("/docs", "/docs/"):
            return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], DOCS_PAGE)
        if path in SWAGGER_ASSETS:
            asset = SWAGGER_DIR / path.rsplit("/", 1)[1]
            return HttpResponse(200, [("Content-Type", SWAGGER_ASSETS[path])], asset.read_bytes())
        return None

    def _handle(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            docs = self._docs(request.path)
            if docs is not None:
                return docs
        if request.path.startswith(CONTROL_PREFIX) and request.method == "POST":
            return self._invoke_scheduled(request.path[len(CONTROL_PREFIX) :], request.body)
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is None:
                continue
            event = http_event(request, route, params)
            if not route.public and self.authorizer:
                denied = self._authorize(event, route)
                if denied:
                    return denied
            try:
                return http_response(self.functions.invoke(route.function, event))
            except Exception:  # an unhandled error in a handler is API Gateway's 500
                return _json(500, {"message": "Internal Server Error"})
        return _json(404, {"message": "Not Found"})

    def _authorize(self, event: dict[str, Any], route: Route) -> HttpResponse | None:
        route_arn = (
            f"arn:aws:execute-api:us-east-1:000000000000:local/$default/{route.method}{route.path}"
        )
        try:
            answer = self.functions.invoke(
                self.authorizer or "", authorizer_event(event, route_arn)
            )
        except Exception:
            return _json(500, {"message": "Internal Server Error"})
        if not isinstance(answer, dict) or not answer.get("isAuthorized"):
            return _json(403, {"message": "Forbidden"})
        event["requestContext"]["authorizer"] = {"lambda": answer.get("context") or {}}
        return None

    def _invoke_scheduled(self, name: str, body: bytes = b"") -> HttpResponse:
        logical_id = self.functions.by_name(name)
        if logical_id is None or name not in self.scheduled:
            return _error(404, "not-found", "not found", "no scheduled function of that name")
        # A JSON object in the body adds to the schedule's payload (`invoke export --keep-seconds`).
        try:
            extra = json.loads(body) if body else {}
        except ValueError:
            extra = None
        if not isinstance(extra, dict):
            return _error(400, "body-not-json", "invalid body", "the body must be a JSON object")
        return _json(200, self.functions.invoke(logical_id, {**self.scheduled[name], **extra}))


class _RequestHandler(BaseHTTPRequestHandler):
    gateway: Gateway
    quiet = False
    protocol_version = "HTTP/1.1"
    server_version = "tidewater-local"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if length <= DRAIN_LIMIT_BYTES:  # read it, so the client gets to see our answer
                remaining = length
                while remaining > 0:
                    remaining -= len(self.rfile.read(min(1 << 20, remaining)) or b"x" * remaining)
            return self._send(
                _error(
                    413, "payload-too-large", "request too large", "the body is larger than 6 MB"
                )
            )
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        request = HttpRequest(
            method=self.command,
            path=path,
            query=query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            host=self.headers.get("Host", ""),
        )
        self._send(self.gateway.handle(request))

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    # Every method reaches the gateway, which answers 404 where no route takes it, as API
    # Gateway does (http.server itself would answer 501, a server error, to TRACE).
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve
    do_TRACE = do_CONNECT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            super().log_message(format, *args)


class HttpFront:
    """A threaded HTTP server on 127.0.0.1 (only) in front of the gateway."""

    def __init__(self, gateway: Gateway, port: int, quiet: bool = False) -> None:
        handler = type("Handler", (_RequestHandler,), {"gateway": gateway, "quiet": quiet})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
