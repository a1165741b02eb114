"""Errors are mapped once, by type, to the project's one error shape:

`{"errors": [{"code", "title", "detail", "status", "source": {"pointer": "/3/value"}}]}`

No stack trace and no request data ever reaches the client.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from tidewater.domain.errors import BadRequest, InvalidData, Problem, TidewaterError, Unavailable
from tidewater.observability import logger

JSON = "application/json"
# What a 503 asks the client to wait before it sends the same request again (seconds): the
# store's throttling and a key set that did not load are both over within a second or two.
RETRY_AFTER_SECONDS = 2

# Tidepool's problem codes, for what the typed edge finds (pydantic's error types).
VALUE_MISSING = "value-missing"
TYPE_NOT_VALID = "type-not-valid"
VALUE_OUT_OF_RANGE = "value-out-of-range"
VALUE_NOT_VALID = "value-not-valid"
PARAMETER_NOT_VALID = "parameter-not-valid"
_OUT_OF_RANGE_TYPES = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "int_parsing_size",
     "string_too_short", "string_too_long", "too_short", "too_long"}
)  # fmt: skip
_NOT_VALID_TYPES = frozenset({"literal_error", "enum", "string_pattern_mismatch", "value_error"})
_TITLES = {
    VALUE_MISSING: "value missing",
    TYPE_NOT_VALID: "wrong type of value",
    VALUE_OUT_OF_RANGE: "value out of range",
    VALUE_NOT_VALID: "value not valid",
}


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
    if problem.parameter is not None:
        body = error_body(status, problem.code, problem.title, problem.detail)
        body["source"] = {"parameter": problem.parameter}
        return body
    return error_body(status, problem.code, problem.title, problem.detail, problem.pointer)


def render(error: TidewaterError) -> Response:
    if isinstance(error, InvalidData):
        return error_response(error.status, [_problem(error.status, p) for p in error.errors])
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(error, Unavailable) else None
    body = error_body(error.status, error.code, error.title, error.detail)
    if isinstance(error, BadRequest) and error.parameter:
        body["source"] = {"parameter": error.parameter}  # JSON:API's name for a query parameter
    return error_response(error.status, [body], headers)


def _pointer(path: tuple[Any, ...]) -> str:
    """A JSON Pointer (RFC 6901) to the field at `path` inside the body."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _code(error_type: str) -> str:
    if error_type == "missing":
        return VALUE_MISSING
    if error_type in _OUT_OF_RANGE_TYPES:
        return VALUE_OUT_OF_RANGE
    if error_type in _NOT_VALID_TYPES:
        return VALUE_NOT_VALID
    return TYPE_NOT_VALID  # *_type, *_parsing: a string where a number goes, and the like


def validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """What the typed edge found, one error each: `source.pointer` for a field of the body,
    `source.parameter` for a query or path parameter. The detail names the field and the rule
    (pydantic's message), never the value sent."""
    found = []
    for problem in error.errors():
        where, *path = problem.get("loc") or ("body",)
        code = _code(str(problem.get("type", "")))
        detail = "a value is required" if code == VALUE_MISSING else str(problem.get("msg"))
        if where == "body":
            body = error_body(400, code, _TITLES[code], detail, _pointer(tuple(path)))
        else:  # "query", "path": BadRequest's code, as the services' own checks answer
            body = error_body(400, PARAMETER_NOT_VALID, BadRequest.title, detail)
            # ("query", "limit"), or ("query", <model argument>, "limit") for a query model
            body["source"] = {"parameter": str(path[-1]) if path else ""}
        found.append(body)
    return found


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(TidewaterError)
    def handle_tidewater_error(error: TidewaterError) -> Response:
        return render(error)

    @app.not_found
    def handle_not_found(_: NotFoundError) -> Response:
        return error_response(
            404, [error_body(404, "route-not-found", "not found", "no such route")]
        )

    @app.exception_handler(RequestValidationError)
    def handle_invalid_request(error: RequestValidationError) -> Response:
        return error_response(400, validation_errors(error))

    @app.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        # The full trace goes to our logs only; the client learns nothing of the internals.
        logger.exception("unhandled error", error_type=type(error).__name__)
        return error_response(
            500, [error_body(500, "internal-error", "internal error", "something went wrong")]
        )
