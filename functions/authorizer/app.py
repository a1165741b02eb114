"""The HttpApi Lambda authorizer: session tokens and Nightscout api-secrets."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.authorizer import authorize
from tidewater.api.tokens import verifier_for
from tidewater.observability import logger
from tidewater.settings import current


def nightscout_owner(digest: str) -> str | None:
    # Imported here: only Nightscout uploads pay for PynamoDB's import in this function.
    from tidewater.store.repos import repositories

    return repositories().accounts.nightscout_owner(digest)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    return authorize(event, verifier_for(current()), nightscout_owner)
