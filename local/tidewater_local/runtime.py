"""Runs the template's Lambda handlers in this process, as Lambda would call them."""

from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from tidewater_local.cfn import FunctionSpec, Route, Template

Handler = Callable[[dict[str, Any], Any], Any]
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    deadline_ms: int = field(default_factory=lambda: int(time.time() * 1000) + 29_000)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def load_handler(spec: FunctionSpec, root: Path) -> Handler:
    """Import a function's module (functions/<name>/app.py as `functions.<name>.app`, with its
    parent packages, so that `import functions.<name>.app` elsewhere finds the same module)
    and return the handler, as the Lambda runtime finds it from CodeUri and Handler.

    The module is put in `sys.modules` only once it has run to its end: a module that is
    still running (or that failed) is never found there by another thread's request."""
    package = ".".join(Path(spec.code_uri).parts)  # CodeUri functions/ingest/ → functions.ingest
    leaf = spec.handler.rsplit(".", 1)[0]
    module_name = f"{package}.{leaf}"
    if str(root) not in sys.path:  # `functions` is a namespace package under the template's root
        sys.path.append(str(root))
    module = sys.modules.get(module_name)
    if module is None:
        parent = importlib.import_module(package)  # namespace packages: nothing of ours runs
        found = importlib.util.find_spec(module_name)
        if found is None or found.loader is None:
            raise ImportError(f"no module {module_name} for {spec.logical_id}")
        module = importlib.util.module_from_spec(found)
        found.loader.exec_module(module)
        module = sys.modules.setdefault(module_name, module)
        setattr(parent, leaf, module)
    handler: Handler = getattr(module, spec.handler_attr)
    return handler


class Functions:
    """The template's functions, loaded on first use and invoked by logical id."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.specs = template.functions()
        self._handlers: dict[str, Handler] = {}
        # Concurrent first requests to a cold function: one loads it, the others wait for it
        # (a lock per function: a cold function does not hold up the others).
        self._loading = {logical_id: threading.Lock() for logical_id in self.specs}

    def by_name(self, name: str) -> str | None:
        """The logical id of the function whose folder is `name` (`summarize` → …)."""
        return next((k for k, s in self.specs.items() if s.name == name), None)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        handler = self._handlers.get(logical_id)
        if handler is None:
            with self._loading[logical_id]:
                handler = self._handlers.get(logical_id)
                if handler is None:
                    handler = load_handler(self.specs[logical_id], self.template.root)
                    self._handlers[logical_id] = handler
        return handler(event, LambdaContext(function_name=logical_id))


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str


def http_event(
    request: HttpRequest, route: Route | None, path_params: dict[str, str]
) -> dict[str, Any]:
    """An API Gateway HttpApi payload 2.0 event for `request`."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    query: dict[str, str] = {}
    for pair in filter(None, request.query.split("&")):
        key, _, value = pair.partition("=")
        key, value = unquote_plus(key), unquote_plus(value)
        query[key] = f"{query[key]},{value}" if key in query else value
    content_type = headers.get("content-type", "")
    textual = not request.body or any(content_type.startswith(t) for t in TEXT_TYPES)
    route_key = f"{route.method} {route.path}" if route else "$default"
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not textual,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if request.body:
        event["body"] = (
            request.body.decode("utf-8", "replace")
            if textual
            else base64.b64encode(request.body).decode()
        )
    return event


def authorizer_event(event: dict[str, Any], route_arn: str) -> dict[str, Any]:
    """The REQUEST authorizer event (payload 2.0) API Gateway sends before a protected route."""
    request = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
    return {**request, "type": "REQUEST", "routeArn": route_arn, "identitySource": []}


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response(result: Any) -> HttpResponse:
    """Lambda's return value as API Gateway payload 2.0 turns it into an HTTP response."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0: a bare value is a 200 with the value as JSON.
        return HttpResponse(
            200, [("Content-Type", "application/json")], json.dumps(result).encode()
        )
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    headers.extend(("Set-Cookie", c) for c in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return HttpResponse(int(result["statusCode"]), headers, body)
