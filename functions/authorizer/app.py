"""The HttpApi Lambda authorizer: session tokens and Nightscout api-secrets."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.authorizer import authorize
from tidewater.api.tokens import verifier_for
from tidewater.observability import logger
from tidewater.settings import current
from tidewater.store.repos import repositories


def nightscout_owner(digest: str) -> str | None:
    return repositories().accounts.nightscout_owner(digest)


def account_active(user_id: str, session_id: str | None) -> bool:
    return repositories().accounts.active(user_id, session_id)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    return authorize(event, verifier_for(current()), nightscout_owner, account_active)


tidewater.coldstart.ready()
