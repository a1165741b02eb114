"""The aggregator: a person's choice to share with the population view, and the view."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.caller import caller_or_anonymous, current_caller
from tidewater.api.http import answers, fields, make_app
from tidewater.api.schemas import requests as rq
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import population
from tidewater.store.repos import repositories

app = make_app()

_CHOICE = answers(200, "PopulationChoiceEnvelope", "whether the person shares")


@app.get("/v1/users/<user_id>/population", responses=_CHOICE)
def get_choice(user_id: str) -> dict:
    return {"data": population.choice(current_caller(app), user_id, repositories())}


@app.put("/v1/users/<user_id>/population", responses=_CHOICE)
def put_choice(user_id: str, body: Annotated[rq.PopulationChange | None, Body()] = None) -> dict:
    choice = population.set_choice(
        current_caller(app), user_id, fields(body), repositories(), utcnow()
    )
    return {"data": choice}


@app.get("/v1/population", responses=answers(200, "PopulationView", "the population view"))
def get_view(query: Annotated[rq.PopulationQuery, Query()]) -> dict:
    # Possibly anonymous: the deployment may make the view public (PublicPopulation).
    return population.view(caller_or_anonymous(app), query.hours, repositories(), utcnow())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


tidewater.coldstart.ready()
