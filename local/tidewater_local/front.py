"""The HTTP front of the local stack: API Gateway's part, played in a few lines.

Requests become HttpApi payload 2.0 events for the routes the template declares; protected
routes go through the template's authorizer first, as API Gateway would do it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
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
# On stop, requests under way get this long to be answered (the whole stop has 10 s).
DRAIN_SECONDS = 7.0
# `tidewater grant-role`: the operator's grant of a role, as Cognito's admin API makes it in
# AWS. Like the invoke route, only ever on 127.0.0.1, and only in the local stack.
GRANT_ROLE_PATH = "/_local/grant-role"
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
# The clinic web app (web/ at the repository's root, no build step), served at `/` as the
# template's CloudFront distribution serves it from its bucket; API routes keep precedence.
WEB_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
WEB_CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
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
        self.web_root = (self.template.root / "web").resolve()

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

    def _web(self, path: str) -> HttpResponse | None:
        """A file of the web app (`/` is its index.html); None: not one of its files."""
        name = "index.html" if path in ("", "/") else path.lstrip("/")
        asset = (self.web_root / name).resolve()
        kind = WEB_TYPES.get(asset.suffix)
        if kind is None or not asset.is_relative_to(self.web_root) or not asset.is_file():
            return None
        headers = [
            ("Content-Type", kind),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if asset.suffix == ".html":  # no framing, no script but our own (CloudFront's policy)
            headers += [("Content-Security-Policy", WEB_CSP), ("X-Frame-Options", "DENY")]
        return HttpResponse(200, headers, asset.read_bytes())

    def _handle(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            docs = self._docs(request.path)
            if docs is not None:
                return docs
        if request.path.startswith(CONTROL_PREFIX) and request.method == "POST":
            return self._invoke_scheduled(request.path[len(CONTROL_PREFIX) :], request.body)
        if request.path == GRANT_ROLE_PATH and request.method == "POST":
            return self._grant_role(request.body)
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
        if request.method in ("GET", "HEAD"):
            web = self._web(request.path)
            if web is not None:
                return web
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

    def _grant_role(self, body: bytes) -> HttpResponse:
        from tidewater.api.errors import render
        from tidewater.domain.errors import TidewaterError
        from tidewater.services import auth
        from tidewater.store.repos import repositories

        try:
            asked = json.loads(body) if body else None
        except ValueError:
            asked = None
        if not isinstance(asked, dict):
            return _error(400, "body-not-json", "invalid body", "the body must be a JSON object")
        try:
            user_id = auth.grant_role(asked.get("email"), asked.get("role"), repositories())
        except TidewaterError as error:
            answer = render(error)
            return HttpResponse(answer.status_code, [("Content-Type", "application/json")],
                                str(answer.body).encode())  # fmt: skip
        return _json(200, {"userId": user_id, "role": asked["role"]})

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


class _Server(ThreadingHTTPServer):
    """A threaded server that can drain: stop accepting, let the requests under way finish
    and be answered, close the connections that wait for a next request, join the handler
    threads (with a deadline, as Lambda's own is)."""

    daemon_threads = True  # joined by `drain`; a thread past its deadline does not hold the exit
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.draining = False
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._idle: set[socket.socket] = set()  # connections waiting for their next request

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())
                self._idle.discard(request)

    def waiting(self, connection: socket.socket, idle: bool) -> None:
        with self._lock:
            if idle:
                self._idle.add(connection)
            else:
                self._idle.discard(connection)

    def drain(self, deadline: float) -> int:
        """Stop accepting, then wait until `deadline` (time.monotonic) for the requests under
        way; returns how many handler threads were still running at the deadline."""
        self.draining = True
        self.shutdown()  # serve_forever returns: nothing new is accepted
        self.socket.close()
        while True:
            with self._lock:
                for connection in self._idle:  # a keep-alive connection between requests
                    with contextlib.suppress(OSError):
                        connection.shutdown(socket.SHUT_RD)
                threads = list(self._threads)
            left = deadline - time.monotonic()
            if not threads or left <= 0:
                return len(threads)
            threads[0].join(min(left, 0.1))


class _RequestHandler(BaseHTTPRequestHandler):
    gateway: Gateway
    server: _Server
    quiet = False
    protocol_version = "HTTP/1.1"
    server_version = "tidewater-local"

    def handle_one_request(self) -> None:
        # Idle until a request line comes; once the front drains, no next request is read.
        self.server.waiting(self.connection, idle=True)
        if self.server.draining:
            self.close_connection = True
            return
        super().handle_one_request()

    def parse_request(self) -> bool:
        # The request line is in: from here on the request is under way, and a drain waits
        # for its answer (an `Expect: 100-continue` client has been told to send its body).
        self.server.waiting(self.connection, idle=False)
        return super().parse_request()

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
        if self.server.draining:  # the last answer on this connection: the front is stopping
            self.send_header("Connection", "close")
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
        self.server = _Server(("127.0.0.1", port), handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, deadline: float | None = None) -> int:
        """Stop accepting and answer the requests under way (until `deadline`, monotonic;
        DRAIN_SECONDS from now by default). Returns how many were still running then."""
        if not self._thread.is_alive():  # never started: nothing to drain
            self.server.server_close()
            return 0
        return self.server.drain(deadline or time.monotonic() + DRAIN_SECONDS)
