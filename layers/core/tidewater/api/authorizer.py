"""The HttpApi REQUEST authorizer's logic (simple responses), shared by Lambda and the
local stack. It establishes who calls; handlers decide what they may do.

Every request is let through with the caller in the context, anonymous when no valid
credential came: API Gateway can only answer a refusal with a bare 403, while the platform
answers 401 with its own error shape (the handler's `current_caller` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidewater.api.tokens import InvalidToken, TokenVerifier, session_token
from tidewater.domain.identity import ANONYMOUS, Caller, Via, nightscout_digest
from tidewater.observability import logger

NIGHTSCOUT_PREFIX = "/api/v1/"


def authorize(
    event: dict[str, Any],
    verifier: TokenVerifier,
    nightscout_owner: Callable[[str], str | None],
    account_active: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """The caller in the context. With `account_active` (the Lambda handler passes it), a
    credential of an account that is gone or being deleted is anonymous: an ID token stays
    valid for its hour whatever becomes of the account."""
    headers: dict[str, str] = event.get("headers") or {}
    caller = ANONYMOUS
    token = session_token(headers)
    if token:
        try:
            caller = verifier.verify(token)
        except InvalidToken as error:
            logger.info("session token refused", reason=str(error))
    elif event.get("rawPath", "").startswith(NIGHTSCOUT_PREFIX):
        secret = next((v for k, v in headers.items() if k.lower() == "api-secret"), "")
        owner = nightscout_owner(nightscout_digest(secret)) if secret else None
        if owner:
            caller = Caller(owner, "", Via.NIGHTSCOUT)
    if caller.authenticated and account_active is not None and not account_active(caller.user_id):
        logger.info("credential of an unknown account refused")
        caller = ANONYMOUS
    return {"isAuthorized": True, "context": caller.to_context()}
