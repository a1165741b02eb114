"""Errors are mapped once, by type, to the project's one error shape:

`{"errors": [{"code", "title", "detail", "status", "source": {"pointer": "/3/value"}}]}`

No stack trace and no request data ever reaches the client.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from tidewater.domain.errors import BadRequest, InvalidData, Problem, TidewaterError, Unavailable
from tidewater.observability import logger

JSON = "application/json"
# What a 503 asks the client to wait before it sends the same request again (seconds): the
# store's throttling and a key set that did not load are both over within a second or two.
RETRY_AFTER_SECONDS = 2


def error_body(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "title": title, "detail": detail, "status": str(status)}
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    return error


def error_response(
    status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps({"errors": errors})
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def _problem(status: int, problem: Problem) -> dict[str, Any]:
    return error_body(status, problem.code, problem.title, problem.detail, problem.pointer)


def render(error: TidewaterError) -> Response:
    if isinstance(error, InvalidData):
        return error_response(error.status, [_problem(error.status, p) for p in error.errors])
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(error, Unavailable) else None
    body = error_body(error.status, error.code, error.title, error.detail)
    if isinstance(error, BadRequest) and error.parameter:
        body["source"] = {"parameter": error.parameter}  # JSON:API's name for a query parameter
    return error_response(error.status, [body], headers)


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(TidewaterError)
    def handle_tidewater_error(error: TidewaterError) -> Response:
        return render(error)

    @app.not_found
    def handle_not_found(_: NotFoundError) -> Response:
        return error_response(
            404, [error_body(404, "route-not-found", "not found", "no such route")]
        )

    @app.exception_handler(json.JSONDecodeError)
    def handle_bad_json(_: json.JSONDecodeError) -> Response:
        return error_response(
            400, [error_body(400, "body-not-json", "invalid body", "the body is not JSON", "")]
        )

    @app.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        # The full trace goes to our logs only; the client learns nothing of the internals.
        logger.exception("unhandled error", error_type=type(error).__name__)
        return error_response(
            500, [error_body(500, "internal-error", "internal error", "something went wrong")]
        )
