"""The caller of an HTTP route, as the authorizer established it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from tidewater.domain.errors import Unauthorized, Unavailable
from tidewater.domain.identity import Caller, Via

if TYPE_CHECKING:  # the authorizer imports this module: it needs no event handler
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

# In the authorizer's context when a token could not be checked (the pool's keys did not
# load): the handler answers 503, as API Gateway cannot (an authorizer's failure is a 500).
KEYS_UNAVAILABLE: Final = "keysUnavailable"
# From the session token the authorizer verified: its account's email, and its session
# (Cognito's `origin_jti`).
EMAIL: Final = "email"
SESSION_ID: Final = "sessionId"


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


def caller_email(app: APIGatewayHttpResolver) -> str:
    """The signed-in caller's email, as the authorizer read it from the verified session
    token ("" for a Nightscout api-secret, which names no email)."""
    current_caller(app)
    return str(session_claims(app).get("email") or "")


def session_claims(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """The claims of the session token the authorizer verified, as the auth service reads
    them (`custom:userId`, `origin_jti`, `email`); empty for any other caller, anonymous
    included (a logout without a valid token ends nothing)."""
    caller = caller_or_anonymous(app)
    if caller.via is not Via.SESSION or not caller.authenticated:
        return {}
    context = app.current_event.request_context.authorizer.get_lambda or {}
    found = {"custom:userId": caller.user_id, "origin_jti": context.get(SESSION_ID),
             "email": context.get(EMAIL)}  # fmt: skip
    return {k: v for k, v in found.items() if v}
