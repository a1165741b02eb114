"""One summariser iteration, started twice a minute by the SummarizeSchedule workflow."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.observability import logger, metrics
from tidewater.services import summarizer
from tidewater.store.repos import repositories


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    result = summarizer.run_iteration(repositories())
    return result.as_dict()


tidewater.coldstart.ready()
