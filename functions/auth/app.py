"""Sign-up, login, profiles, Nightscout secrets and account deletion (and, on the
ResumeDeletions schedule, the deletions that stopped halfway)."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.caller import current_caller, session_claims
from tidewater.api.http import answers, fields, make_app
from tidewater.api.schemas import requests as rq
from tidewater.api.tokens import issued_caller, issued_claims, session_token
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import auth, erasure
from tidewater.store.repos import repositories

app = make_app()
SESSION_HEADER = "X-Tidepool-Session-Token"
# Left of the invocation's time when a deletion stops for the schedule to carry it on.
DELETION_MARGIN_MS = 5000


def _session_response(status: int, body: dict, token: str) -> Response[dict]:
    return Response(status, "application/json", body, {SESSION_HEADER: token})


@app.post(
    "/auth/login", responses=answers(200, "TidepoolUser", "the user; the session in the header")
)
def login() -> Response[dict]:
    repos = repositories()
    # The token comes from Cognito, in the answer to the function's own sign-in.
    session = auth.login(
        app.current_event.headers.get("authorization"),
        repos.identity,
        issued_caller,
        account_active=repos.accounts.active,
        record_role=repos.accounts.set_role,
    )
    auth.keep_session(session, issued_claims, repos, utcnow())
    user = auth.tidepool_user(session.user_id, issued_claims(session.token), repos)
    return _session_response(200, user, session.token)


@app.get("/auth/login", responses=answers(200, "TokenData", "the session, in the header"))
def refresh_login() -> Response[dict]:
    # Tidepool's refresh: a new token, good for a new hour, for the same session.
    caller = current_caller(app)
    repos = repositories()
    token = session_token(app.current_event.headers) or ""
    fresh = auth.refresh_session(caller, token, session_claims(app), repos)
    return _session_response(200, {"userid": caller.user_id, "isserver": False}, fresh)


@app.get("/auth/user", responses=answers(200, "TidepoolUser", "the signed-in user"))
def current_user() -> dict:
    caller = current_caller(app)
    repos = repositories()
    return auth.tidepool_user(caller.user_id, session_claims(app), repos)


@app.post("/auth/logout", responses=answers(200, "Empty", "signed out"))
def logout() -> dict:
    # The session ends: its tokens are refused from now on and cannot be refreshed.
    # Success even without a valid token, as Tidepool's.
    auth.end_session(session_claims(app), repositories())
    return {}


@app.post("/v1/users", responses=answers(201, "ProfileEnvelope", "the new account"))
def sign_up(body: Annotated[rq.NewUser | None, Body()] = None) -> Response[dict]:
    repos = repositories()
    profile, token = auth.sign_up_with_session(fields(body), repos, utcnow(), issued_claims)
    return _session_response(201, {"data": profile.as_dict()}, token)


@app.get("/v1/users/<user_id>", responses=answers(200, "ProfileEnvelope", "the profile"))
def get_profile(user_id: str) -> dict:
    return {"data": auth.profile(current_caller(app), user_id, repositories()).as_dict()}


@app.put(
    "/v1/users/<user_id>/nightscout",
    responses=answers(200, "NightscoutConfigured", "the secret is set"),
)
def put_nightscout_secret(
    user_id: str, body: Annotated[rq.NightscoutSecret | None, Body()] = None
) -> dict:
    auth.set_nightscout_secret(current_caller(app), user_id, fields(body), repositories())
    return {"data": {"nightscout": "configured"}}


@app.delete("/v1/users/<user_id>", responses=answers(202, "DeletionState", "deletion under way"))
def delete_account(
    user_id: str, body: Annotated[rq.AccountDeletion | None, Body()] = None
) -> tuple[dict, int]:
    repos = repositories()
    state = erasure.delete_account(
        current_caller(app),
        user_id,
        fields(body),
        str(session_claims(app).get("email") or ""),
        repos,
        utcnow(),
        _time_left(app.lambda_context),
    )
    return {"data": {"status": state}}, 202


def _time_left(context: LambdaContext) -> erasure.TimeLeft:
    return lambda: context.get_remaining_time_in_millis() > DELETION_MARGIN_MS


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if event.get("source") == "aws.events":  # the ResumeDeletions schedule
        return erasure.resume_pending(repositories(), utcnow(), _time_left(context)).as_dict()
    return app.resolve(event, context)


tidewater.coldstart.ready()
