"""The HttpApi REQUEST authorizer's logic (simple responses), shared by Lambda and the
local stack. It establishes who calls; handlers decide what they may do.

Every request is let through with the caller in the context, anonymous when no valid
credential came: API Gateway can only answer a refusal with a bare 403, while the platform
answers 401 with its own error shape (the handler's `current_caller` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)

from tidewater.api.caller import EMAIL, KEYS_UNAVAILABLE, SESSION_ID
from tidewater.api.tokens import InvalidToken, TokenVerifier, session_token
from tidewater.domain.errors import Unavailable
from tidewater.domain.identity import ANONYMOUS, Caller, Via, nightscout_digest
from tidewater.observability import logger

NIGHTSCOUT_PREFIX = "/api/v1/"


def authorize(
    event: dict[str, Any],
    verifier: TokenVerifier,
    nightscout_owner: Callable[[str], str | None],
    account_active: Callable[[str, str | None], bool] | None = None,
) -> dict[str, Any]:
    """The simple response to an HttpApi REQUEST authorizer event (payload 2.0). With
    `account_active` (the Lambda handler passes it), a credential of an account that is gone
    or being deleted, or a token of a session ended at logout, is anonymous: an ID token
    stays valid for its hour whatever becomes of the account or the session."""
    request = APIGatewayAuthorizerEventV2(event)
    headers = request.headers if request.get("headers") else {}
    caller = ANONYMOUS
    context: dict[str, str] = {}
    token = session_token(headers)
    session_id: str | None = None
    email = ""
    if token:
        try:
            caller, session_id, email = verifier.verify_session(token)
        except InvalidToken as error:
            logger.info("session token refused", reason=str(error))
        except Unavailable:
            logger.warning("signing keys unavailable")
            context[KEYS_UNAVAILABLE] = "true"
    try:
        if not token and str(request.get("rawPath") or "").startswith(NIGHTSCOUT_PREFIX):
            secret = headers.get("api-secret", "")
            owner = nightscout_owner(nightscout_digest(secret)) if secret else None
            if owner:
                caller = Caller(owner, "", Via.NIGHTSCOUT)
        if (
            caller.authenticated
            and account_active
            and not account_active(caller.user_id, session_id)
        ):
            logger.info("credential of an unknown account or an ended session refused")
            caller = ANONYMOUS
    except Unavailable:  # the store was busy: the handler answers 503, not API Gateway 500
        logger.warning("accounts unavailable")
        caller, context[KEYS_UNAVAILABLE] = ANONYMOUS, "true"
    if caller.via is Via.SESSION:
        # What the functions read of the token (the account's email, for a clinician's clinic
        # records, the rights export and the Tidepool user; the session, for a refresh and a
        # logout): they never verify a token a second time.
        if email:
            context[EMAIL] = email
        if session_id:
            context[SESSION_ID] = session_id
    answer = APIGatewayAuthorizerResponseV2(authorize=True, context=caller.to_context() | context)
    return answer.asdict()
