"""A person's rights over their data: the export of everything stored for them."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.caller import current_caller
from tidewater.api.http import answers, make_app
from tidewater.api.schemas import requests as rq
from tidewater.api.schemas import responses as rs
from tidewater.api.tokens import session_token, verifier_for
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import rights
from tidewater.store.repos import repositories

app = make_app()


def _email() -> str:
    """The caller's email, from the ID token the authorizer accepted: Cognito keeps it, and
    cannot look a user up by our user id."""
    token = session_token(dict(app.current_event.headers or {})) or ""
    return str(verifier_for(repositories().settings).claims(token).get("email", ""))


@app.get(
    "/v1/users/<user_id>/export",
    responses=answers(303, rs.ExportLink, "a short-lived link to the archive (`Location`)"),
)
def export(user_id: str, query: Annotated[rq.ExportQuery, Query()]) -> Response[dict]:
    caller = current_caller(app)
    params = dict(app.current_event.query_string_parameters or {})
    link = rights.export(caller, user_id, params, _email, repositories(), utcnow())
    metrics.add_metric(name="DatumsExported", unit=MetricUnit.Count, value=link.datums)
    # 303: a client that follows it GETs the archive; the body says the same for others.
    return Response(303, "application/json", {"data": link.as_dict()},
                    {"Location": link.url, "Cache-Control": "no-store"})  # fmt: skip


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


tidewater.coldstart.ready()
