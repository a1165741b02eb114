"""The caller of an HTTP route, as the authorizer established it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tidewater.domain.errors import Unauthorized, Unavailable
from tidewater.domain.identity import Caller, Via

if TYPE_CHECKING:  # the authorizer imports this module: it needs no event handler
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

# In the authorizer's context when a token could not be checked (the pool's keys did not
# load): the handler answers 503, as API Gateway cannot (an authorizer's failure is a 500).
KEYS_UNAVAILABLE: Final = "keysUnavailable"


def caller_or_anonymous(app: APIGatewayHttpResolver) -> Caller:
    """The caller as the authorizer established it, anonymous included (public routes);
    503 when the authorizer could not check the token that came."""
    context = app.current_event.request_context.authorizer.get_lambda
    if context and context.get(KEYS_UNAVAILABLE):
        raise Unavailable("the session token could not be checked; try again")
    return Caller.from_context(context)


def current_caller(app: APIGatewayHttpResolver, *, nightscout: bool = False) -> Caller:
    """The authenticated caller of the current request; 401 when there is none.

    Handlers read the caller from the authorizer's context, never from the body. A
    Nightscout api-secret authenticates only the routes that pass `nightscout=True`.
    """
    caller = caller_or_anonymous(app)
    if not caller.authenticated or (caller.via is Via.NIGHTSCOUT and not nightscout):
        raise Unauthorized("a valid session token is required", code="unauthorized")
    return caller
