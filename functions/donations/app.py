"""Data donation: a donor's consent, and the donated slices for researchers."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.body import json_body
from tidewater.api.caller import caller_or_anonymous, current_caller
from tidewater.api.http import make_app
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import donations
from tidewater.store.repos import repositories

app = make_app()


@app.get("/v1/users/<user_id>/donation")
def get_consent(user_id: str) -> dict:
    return {"data": donations.consent(current_caller(app), user_id, repositories()).as_dict()}


@app.put("/v1/users/<user_id>/donation")
def put_consent(user_id: str) -> dict:
    consent = donations.set_consent(
        current_caller(app), user_id, json_body(app), repositories(), utcnow()
    )
    return {"data": consent.as_dict()}


@app.get("/v1/donations/slices")
def list_slices() -> dict:
    # Possibly anonymous: the deployment may make this route public (PublicDonations).
    return donations.slices_response(caller_or_anonymous(app), repositories())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
