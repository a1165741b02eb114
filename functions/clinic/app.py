"""Clinics and their patient lists, sorted and filtered by summaries; TIDE triage."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.body import json_body
from tidewater.api.caller import current_caller
from tidewater.api.http import make_app
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import clinics, summaries
from tidewater.store.repos import repositories

app = make_app()


def _params() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


def _body() -> object:
    return json_body(app) or {}


@app.post("/v1/clinics")
def create_clinic() -> tuple[dict, int]:
    created = clinics.create_clinic(current_caller(app), _body(), repositories(), utcnow())
    return {"data": created}, 201


@app.get("/v1/clinics/<clinic_id>")
def get_clinic(clinic_id: str) -> dict:
    return {"data": clinics.get_clinic(current_caller(app), clinic_id, repositories())}


@app.post("/v1/clinics/<clinic_id>/clinicians/<user_id>")
def add_clinician(clinic_id: str, user_id: str) -> dict:
    caller = current_caller(app)
    return {"data": clinics.add_clinician(caller, clinic_id, user_id, _body(), repositories())}


@app.delete("/v1/clinics/<clinic_id>/clinicians/<user_id>")
def remove_clinician(clinic_id: str, user_id: str) -> Response:
    clinics.remove_clinician(current_caller(app), clinic_id, user_id, repositories())
    return Response(204)


@app.post("/v1/clinics/<clinic_id>/patients/<user_id>")
def share_patient(clinic_id: str, user_id: str) -> dict:
    caller = current_caller(app)
    shared = clinics.share_patient(caller, clinic_id, user_id, _body(), repositories(), utcnow())
    return {"data": shared}


@app.delete("/v1/clinics/<clinic_id>/patients/<user_id>")
def unshare_patient(clinic_id: str, user_id: str) -> Response:
    clinics.unshare_patient(current_caller(app), clinic_id, user_id, repositories())
    return Response(204)


@app.get("/v1/clinics/<clinic_id>/patients")
def list_patients(clinic_id: str) -> dict:
    entries, cursor = clinics.list_patients(
        current_caller(app), clinic_id, _params(), repositories()
    )
    meta: dict = {"count": len(entries)}
    if cursor:
        # `cursor`, as GET /v1/users/{userId}/data answers and as the request takes it back;
        # `nextCursor` too, for the clients written against the first version of this route.
        meta["cursor"] = meta["nextCursor"] = cursor
    return {"data": entries, "meta": meta}


@app.get("/v1/clinics/<clinic_id>/tide_report")
def tide_report(clinic_id: str) -> dict:
    return {"data": clinics.tide_report(current_caller(app), clinic_id, _params(), repositories())}


@app.post("/v1/users/<user_id>/share_codes")
def create_share_code(user_id: str) -> tuple[dict, int]:
    code = clinics.create_share_code(current_caller(app), user_id, repositories(), utcnow())
    return {"data": code}, 201


@app.post("/v1/clinics/<clinic_id>/share_codes")
def create_clinic_share_code(clinic_id: str) -> tuple[dict, int]:
    caller = current_caller(app)
    code = clinics.create_clinic_share_code(caller, clinic_id, repositories(), utcnow())
    return {"data": code}, 201


@app.get("/v1/users/<user_id>/summary")
def get_summary(user_id: str) -> dict:
    # Tidepool's shape, unwrapped: {"cgm", "bgm", "dates"} (DESIGN's stable interface).
    return summaries.get_summary(current_caller(app), user_id, repositories())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
