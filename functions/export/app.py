"""The daily donation export: anonymised, time-shifted CSV slices in S3."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.observability import logger, metrics
from tidewater.services import exporter
from tidewater.store.repos import repositories


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    # `keepSeconds` (tidewater invoke export --keep-seconds) overrides the deployment's
    # DonationKeepSeconds for this run only.
    if isinstance(event, dict) and event.get("task") == "withdrawals":  # the frequent schedule
        return exporter.apply_pending_withdrawals(repositories()).as_dict()
    keep = event.get("keepSeconds") if isinstance(event, dict) else None
    result = exporter.run(repositories(), keep_seconds=keep if isinstance(keep, bool) else None)
    return result.as_dict()


tidewater.coldstart.ready()
