"""One run of the Nightscout follower: the linked sites due now, polled side by side."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import sources
from tidewater.store.repos import repositories


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    repos = repositories()
    return sources.poll_due(repos, sources.fetcher(repos), utcnow).as_dict()


tidewater.coldstart.ready()
