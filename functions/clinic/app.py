"""Clinics and their patient lists, sorted and filtered by summaries; TIDE triage."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tidewater.api.caller import caller_email, current_caller
from tidewater.api.http import answers, fields, make_app, no_content
from tidewater.api.schemas import requests as rq
from tidewater.domain.timeutil import utcnow
from tidewater.observability import logger, metrics
from tidewater.services import clinics, summaries
from tidewater.store.repos import repositories

app = make_app()


def _params() -> dict[str, str]:
    """The query string as sent: the clinic domain reads its filters (`cgm.…=<op><number>`)
    and points at the parameters it refuses."""
    return dict(app.current_event.query_string_parameters or {})


def _fields(body: rq.StrictBody | None) -> dict:
    return fields(body) or {}


_OBJECT = answers(200, "ObjectEnvelope", "the clinic's view")
_REMOVED = answers(204, None, "removed")


@app.post("/v1/clinics", responses=answers(200, "Clinic", "the new clinic (Tidepool's shape)"))
def create_clinic(body: Annotated[rq.NewClinic | None, Body()] = None) -> dict:
    return clinics.create_clinic(current_caller(app), _fields(body), repositories(), utcnow())


@app.get("/v1/clinics/<clinic_id>", responses=_OBJECT)
def get_clinic(clinic_id: str) -> dict:
    return {"data": clinics.get_clinic(current_caller(app), clinic_id, repositories())}


@app.post("/v1/clinics/<clinic_id>/clinicians/<user_id>", responses=_OBJECT)
def add_clinician(
    clinic_id: str, user_id: str, body: Annotated[rq.ClinicianGrant | None, Body()] = None
) -> dict:
    caller = current_caller(app)
    grant = _fields(body)
    return {"data": clinics.add_clinician(caller, clinic_id, user_id, grant, repositories())}


@app.delete("/v1/clinics/<clinic_id>/clinicians/<user_id>", responses=_REMOVED)
def remove_clinician(clinic_id: str, user_id: str) -> Response[str]:
    clinics.remove_clinician(current_caller(app), clinic_id, user_id, repositories())
    return no_content()


@app.post("/v1/clinics/<clinic_id>/patients/<user_id>", responses=_OBJECT)
def share_patient(
    clinic_id: str, user_id: str, body: Annotated[rq.PatientJoin | None, Body()] = None
) -> dict:
    caller = current_caller(app)
    join = _fields(body)
    shared = clinics.share_patient(caller, clinic_id, user_id, join, repositories(), utcnow())
    return {"data": shared}


@app.delete("/v1/clinics/<clinic_id>/patients/<user_id>", responses=_REMOVED)
def unshare_patient(clinic_id: str, user_id: str) -> Response[str]:
    clinics.unshare_patient(current_caller(app), clinic_id, user_id, repositories())
    return no_content()


@app.get(
    "/v1/clinics/<clinic_id>/patients/<user_id>",
    responses=answers(200, "ClinicPatient", "the patient (Tidepool's shape)"),
)
def get_patient(clinic_id: str, user_id: str) -> dict:
    return clinics.get_patient(current_caller(app), clinic_id, user_id, repositories())


@app.get(
    "/v1/clinics/<clinic_id>/patients",
    responses=answers(200, "PatientsPage", "a page of patients (Tidepool's shape)"),
)
def list_patients(clinic_id: str, query: Annotated[rq.PatientsQuery, Query()]) -> dict:
    patients, meta = clinics.list_patients(
        current_caller(app), clinic_id, _params(), repositories()
    )
    if "cursor" in meta:
        # `nextCursor` too, for the clients written against the first version of this route.
        meta["nextCursor"] = meta["cursor"]
    return {"data": patients, "meta": meta}


@app.get(
    "/v1/clinics/<clinic_id>/tide_report",
    responses=answers(200, "TideReport", "the TIDE report (Tidepool's shape)"),
)
def tide_report(clinic_id: str, query: Annotated[rq.TideQuery, Query()]) -> dict:
    return clinics.tide_report(current_caller(app), clinic_id, _params(), repositories())


@app.get(
    "/v1/clinicians/<user_id>/clinics",
    responses=answers(200, "ClinicianClinics", "the clinician's clinics"),
)
def clinician_clinics(user_id: str, query: Annotated[rq.WindowQuery, Query()]) -> list:
    caller = current_caller(app)
    repos = repositories()
    email = caller_email(app)
    return clinics.clinics_for_clinician(caller, user_id, email, _params(), repos)


@app.get(
    "/v1/patients/<user_id>/clinics",
    responses=answers(200, "PatientClinics", "the clinics the patient shares with"),
)
def patient_clinics(user_id: str, query: Annotated[rq.WindowQuery, Query()]) -> list:
    return clinics.clinics_for_patient(current_caller(app), user_id, _params(), repositories())


@app.post(
    "/v1/users/<user_id>/share_codes", responses=answers(201, "ObjectEnvelope", "a share code")
)
def create_share_code(user_id: str) -> tuple[dict, int]:
    code = clinics.create_share_code(current_caller(app), user_id, repositories(), utcnow())
    return {"data": code}, 201


@app.post(
    "/v1/clinics/<clinic_id>/share_codes",
    responses=answers(201, "ObjectEnvelope", "a share code for one patient to join"),
)
def create_clinic_share_code(clinic_id: str) -> tuple[dict, int]:
    caller = current_caller(app)
    code = clinics.create_clinic_share_code(caller, clinic_id, repositories(), utcnow())
    return {"data": code}, 201


@app.get("/v1/users/<user_id>/summary", responses=answers(200, "Summary", "the summary"))
def get_summary(user_id: str) -> dict:
    # Tidepool's shape, unwrapped: {"cgm", "bgm", "dates"} (DESIGN's stable interface).
    return summaries.get_summary(current_caller(app), user_id, repositories())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


tidewater.coldstart.ready()
