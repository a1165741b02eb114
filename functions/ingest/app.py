"""Uploads: health check, datasets, device data, Nightscout entries."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import tidewater
from tidewater.api.http import make_app
from tidewater.observability import logger, metrics

app = make_app()


@app.get("/status")
def status() -> dict:
    return {"status": "ok", "version": tidewater.__version__}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
