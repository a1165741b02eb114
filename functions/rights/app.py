"""A person's rights over their data: the export of everything stored for them."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.caller import caller_email, current_caller
from tidewater.api.http import answers, make_app
from tidewater.api.schemas import requests as rq
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import rights
from tidewater.store.repos import repositories

app = make_app()


@app.get(
    "/v1/users/<user_id>/export",
    responses=answers(303, "ExportLink", "a short-lived link to the archive (`Location`)"),
)
def export(user_id: str, query: Annotated[rq.ExportQuery, Query()]) -> Response[dict]:
    caller = current_caller(app)
    params = dict(app.current_event.query_string_parameters or {})
    link = rights.export(caller, user_id, params, caller_email(app), repositories(), utcnow())
    metrics.add_metric(name="DatumsExported", unit=MetricUnit.Count, value=link.datums)
    # 303: a client that follows it GETs the archive; the body says the same for others.
    return Response(303, "application/json", {"data": link.as_dict()},
                    {"Location": link.url, "Cache-Control": "no-store"})  # fmt: skip


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


tidewater.coldstart.ready()
