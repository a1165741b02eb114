"""Data donation: a donor's consent, and the donated slices for researchers."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.caller import caller_or_anonymous, current_caller
from tidewater.api.http import answers, fields, make_app
from tidewater.api.schemas import requests as rq
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import donations
from tidewater.store.repos import repositories

app = make_app()


_CONSENT = answers(200, "ObjectEnvelope", "the donor's consent")


@app.get("/v1/users/<user_id>/donation", responses=_CONSENT)
def get_consent(user_id: str) -> dict:
    return {"data": donations.consent(current_caller(app), user_id, repositories()).as_dict()}


@app.put("/v1/users/<user_id>/donation", responses=_CONSENT)
def put_consent(user_id: str, body: Annotated[rq.ConsentChange | None, Body()] = None) -> dict:
    consent = donations.set_consent(
        current_caller(app), user_id, fields(body), repositories(), utcnow()
    )
    return {"data": consent.as_dict()}


@app.get("/v1/donations/slices", responses=answers(200, "SlicesManifest", "the manifest"))
def list_slices() -> dict:
    # Possibly anonymous: the deployment may make this route public (PublicDonations).
    return donations.slices_response(caller_or_anonymous(app), repositories())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


tidewater.coldstart.ready()
