"""The HTTP resolver every HTTP function starts from: typed, validated, one error shape.

Powertools validates path and query parameters and bodies against the routes' annotations
(`Body()`, `Query()`) before a route runs. The body it validates is ours: read with the size
limit and strict JSON of `api/body.py`, whatever the `Content-Type` says (the API takes JSON
only, and Nightscout uploaders do not all say so).
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast, get_args

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from tidewater.api.body import dumps, json_body
from tidewater.api.errors import JSON, TYPE_NOT_VALID, register_error_handlers
from tidewater.domain.errors import InvalidData, Problem

# What any route may answer besides its own success: our error document, and for a refused
# token API Gateway's own message.
_ERRORS = {
    400: "the request is not valid: `source` says where",
    401: "no session, or a Nightscout secret where a session is required",
    403: "not allowed for this caller",
    404: "no such resource, or not visible to this caller",
    409: "conflicts with the resource's state",
    413: "the body is too large",
    503: "try again after `Retry-After` seconds",
}


NOT_AN_OBJECT = Problem("", TYPE_NOT_VALID, "invalid body", "the body must be a JSON object")


class _JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    def _get_body(self, app: Any) -> Any:
        body = json_body(app.current_event)
        if body is None or isinstance(body, dict):
            return body
        annotation = app.context["_route"].dependant.body_params[0].field_info.annotation
        model = _object_model(annotation)
        if model is None:
            return body
        # A body that is not an object, sent where one is taken (Powertools itself would
        # take the first item of an array as the object). Where the object names required
        # fields it goes on as no body, and the service refuses it with its own pointers
        # (`/password`), as it always has; where every field is optional, no body would be
        # a grant or a change with every default (`true` made a clinician): refused here.
        if _names_required(model):
            return None
        raise InvalidData([NOT_AN_OBJECT])


def _object_model(annotation: Any) -> type[BaseModel] | None:
    found = [t for t in get_args(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    return found[0] if found else None


@cache
def _names_required(model: type[BaseModel]) -> bool:
    """Whether the model's document names a required field (made once per model, and only
    for a body that is not an object)."""
    return bool(model.model_json_schema().get("required"))


def make_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, serializer=dumps)
    app._request_validation_middleware = _JsonBodyValidation()
    register_error_handlers(app)
    return app


def no_content() -> Response[str]:
    """204, its body empty: a string, as API Gateway's payload 2.0 has it (a null body is
    refused by some gateways in front of Lambda)."""
    return Response(204, body="")


def fields(body: BaseModel | None) -> dict[str, Any] | None:
    """A validated body as the services take it: what was sent, nothing added (None: no
    body, which the services refuse with their own pointers)."""
    return body.model_dump(exclude_unset=True) if body is not None else None


def answers(status: int, model: str | None, description: str) -> dict[int, OpenAPIResponse]:
    """A route's `responses` for the OpenAPI document: its own answer and the errors.

    The answer's model is named, not given: `api/schemas/responses.py` is loaded only where
    the document is made (`documented`), never by a function serving requests (it is some
    12 ms of every cold start, and Powertools would build every named model's fields at
    each route's first request)."""
    documented: dict[int, dict[str, Any]] = {
        code: {"description": text, "content": {JSON: {MODEL_NAME: ("ErrorDocument",)}}}
        for code, text in _ERRORS.items()
    }
    documented[403]["content"][JSON][MODEL_NAME] = ("ErrorDocument", "GatewayMessage")
    success: dict[str, Any] = {"description": description}
    if model is not None:
        success["content"] = {JSON: {MODEL_NAME: (model,)}}
    documented[status] = success
    return cast(dict[int, OpenAPIResponse], documented)


# Where `answers` names a response's models (one, or the members of a union).
MODEL_NAME = "x-tidewater-models"


def documented(app: APIGatewayHttpResolver) -> None:
    """The app's routes with the models `answers` named in their responses, for
    `get_openapi_schema` (the local stack's contract; never a function serving requests)."""
    from functools import reduce
    from operator import or_

    from tidewater.api.schemas import responses

    for route in app._static_routes + app._dynamic_routes:
        for response in (route.responses or {}).values():
            for content in response.get("content", {}).values():
                media = cast(dict[str, Any], content)
                names = media.pop(MODEL_NAME, None)
                if names is not None:
                    media["model"] = reduce(or_, [getattr(responses, name) for name in names])
        route._dependant = None  # made again with the models
        route._body_field = None
