"""The daily donation export: anonymised, time-shifted CSV slices in S3."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.observability import logger, metrics
from tidewater.services import exporter
from tidewater.store.repos import repositories


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    result = exporter.run(repositories())
    return result.as_dict()
