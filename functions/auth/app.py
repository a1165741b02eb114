"""Sign-up, login, profiles and Nightscout secrets."""

import json

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.body import json_body
from tidewater.api.caller import current_caller
from tidewater.api.http import make_app
from tidewater.api.tokens import verifier_for
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import auth
from tidewater.store.repos import repositories

app = make_app()
SESSION_HEADER = "X-Tidepool-Session-Token"


def _session_response(status: int, body: dict, token: str) -> Response:
    return Response(status, "application/json", json.dumps(body), {SESSION_HEADER: token})


@app.post("/auth/login")
def login() -> Response:
    repos = repositories()
    session = auth.login(
        app.current_event.headers.get("authorization"),
        repos.identity,
        verifier_for(repos.settings).verify,
    )
    return _session_response(200, {"userId": session.user_id}, session.token)


@app.post("/v1/users")
def sign_up() -> Response:
    profile, token = auth.sign_up_with_session(json_body(app), repositories(), utcnow())
    return _session_response(201, {"data": profile.as_dict()}, token)


@app.get("/v1/users/<user_id>")
def get_profile(user_id: str) -> dict:
    return {"data": auth.profile(current_caller(app), user_id, repositories()).as_dict()}


@app.put("/v1/users/<user_id>/nightscout")
def put_nightscout_secret(user_id: str) -> dict:
    auth.set_nightscout_secret(current_caller(app), user_id, json_body(app), repositories())
    return {"data": {"nightscout": "configured"}}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
