"""The caller of an HTTP route, as the authorizer established it."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from tidewater.domain.errors import Unauthorized
from tidewater.domain.identity import Caller, Via


def caller_or_anonymous(app: APIGatewayHttpResolver) -> Caller:
    """The caller as the authorizer established it, anonymous included (public routes)."""
    return Caller.from_context(app.current_event.request_context.authorizer.get_lambda)


def current_caller(app: APIGatewayHttpResolver, *, nightscout: bool = False) -> Caller:
    """The authenticated caller of the current request; 401 when there is none.

    Handlers read the caller from the authorizer's context, never from the body. A
    Nightscout api-secret authenticates only the routes that pass `nightscout=True`.
    """
    caller = caller_or_anonymous(app)
    if not caller.authenticated or (caller.via is Via.NIGHTSCOUT and not nightscout):
        raise Unauthorized("a valid session token is required", code="unauthorized")
    return caller
