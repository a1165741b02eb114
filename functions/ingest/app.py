"""Uploads: health check, datasets, device data, Nightscout entries.

services.reports (the AGP, comparing sources) and services.sources (following a site) are
imported by their own routes: a cold upload does not load them (21 ms)."""

import tidewater.coldstart  # isort: skip  (first: the imports below run with gc paused)
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import tidewater
from tidewater.api.caller import current_caller
from tidewater.api.http import answers, fields, make_app, no_content
from tidewater.api.schemas import requests as rq
from tidewater.domain import tidepool
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.observability import logger, metrics
from tidewater.services import ingest, nightscout
from tidewater.store.repos import repositories

app = make_app()


def _query() -> dict[str, str]:
    """The query string as sent (the typed edge has checked what it names): the services
    parse it themselves, Nightscout's `find[…]` filters included."""
    return dict(app.current_event.query_string_parameters or {})


@app.get("/status", responses=answers(200, "Status", "the service is up"))
def status() -> dict:
    return {"status": "ok", "version": tidewater.__version__}


# ---------------------------------------------------------------- Tidepool-style
@app.post(
    "/v1/users/<user_id>/datasets", responses=answers(201, "DatasetEnvelope", "the new dataset")
)
def create_dataset(
    user_id: str, body: Annotated[rq.NewDataset | None, Body()] = None
) -> tuple[dict, int]:
    dataset = ingest.create_dataset(current_caller(app), user_id, fields(body), repositories())
    return {"data": dataset.as_dict()}, 201


@app.post("/v1/datasets/<dataset_id>/data", responses=answers(200, "UploadAnswer", "stored"))
def post_data(dataset_id: str, datums: Annotated[rq.Datums | None, Body()] = None) -> dict:
    result = ingest.upload(current_caller(app), dataset_id, datums, repositories())
    metrics.add_metric(name="DatumsStored", unit=MetricUnit.Count, value=result.stored)
    return {"data": [], "meta": result.meta()}


@app.put("/v1/datasets/<dataset_id>", responses=answers(200, "DatasetEnvelope", "closed"))
def close_dataset(dataset_id: str) -> dict:
    dataset = ingest.close_dataset(current_caller(app), dataset_id, repositories())
    return {"data": dataset.as_dict()}


@app.delete("/v1/datasets/<dataset_id>", responses=answers(200, "DeletedAnswer", "deleted"))
def delete_dataset(dataset_id: str) -> dict:
    deleted = ingest.delete_dataset(current_caller(app), dataset_id, repositories())
    return {"data": [], "meta": {"deleted": deleted}}


@app.get("/v1/users/<user_id>/data", responses=answers(200, "DataPage", "a page of data"))
def read_data(user_id: str, query: Annotated[rq.DataQuery, Query()]) -> dict:
    page = ingest.read_data(current_caller(app), user_id, _query(), repositories())
    meta: dict = {"count": len(page.items)}
    if page.cursor:
        meta["cursor"] = page.cursor
    return {"data": page.items, "meta": meta}


@app.get("/v1/users/<user_id>/agp", responses=answers(200, "AgpEnvelope", "the AGP"))
def get_agp(user_id: str, query: Annotated[rq.AgpQuery, Query()]) -> dict:
    from tidewater.services import reports

    report = reports.agp_report(current_caller(app), user_id, query.days, repositories(), utcnow())
    return {"data": report}


# ---------------------------------------------------------------- a followed Nightscout site
_SOURCE = answers(200, "SourceEnvelope", "the followed site, without its token")


@app.put("/v1/users/<user_id>/nightscout/source", responses=_SOURCE)
def link_source(user_id: str, body: Annotated[rq.SourceLink | None, Body()] = None) -> dict:
    from tidewater.services import sources

    caller = current_caller(app)
    return {"data": sources.link(caller, user_id, fields(body), repositories(), utcnow())}


@app.get("/v1/users/<user_id>/nightscout/source", responses=_SOURCE)
def show_source(user_id: str) -> dict:
    from tidewater.services import sources

    return {"data": sources.show(current_caller(app), user_id, repositories())}


@app.delete(
    "/v1/users/<user_id>/nightscout/source", responses=answers(204, None, "no longer followed")
)
def unlink_source(user_id: str) -> Response[str]:
    from tidewater.services import sources

    sources.unlink(current_caller(app), user_id, repositories())
    return no_content()


@app.get(
    "/v1/users/<user_id>/sources/compare",
    responses=answers(200, "SourcesComparisonEnvelope", "how the person's CGM sources agree"),
)
def compare_sources(user_id: str, query: Annotated[rq.SourcesCompareQuery, Query()]) -> dict:
    from tidewater.services import reports

    caller = current_caller(app)
    report = reports.sources_comparison(caller, user_id, query.days, repositories(), utcnow())
    return {"data": report}


@app.post("/v1/users/<user_id>/data/legacy", responses=answers(200, "UploadAnswer", "stored"))
def post_legacy(user_id: str, datums: Annotated[rq.Datums | None, Body()] = None) -> dict:
    result = ingest.upload_legacy(current_caller(app), user_id, datums, repositories())
    metrics.add_metric(name="DatumsStored", unit=MetricUnit.Count, value=result.stored)
    return {"data": [], "meta": result.meta()}


# ---------------------------------------------------------------- Tidepool's own routes
# The shapes Tidepool's services answer (jellyfish, the platform's data service,
# tide-whisperer), for Tidepool's clients; docs/tidepool-compatibility.md.
@app.get("/info", responses=answers(200, "ClientVersions", "the minimum client versions"))
def info() -> dict:
    return tidepool.info()


@app.get("/v1/time", responses=answers(200, "ServerTime", "the server's time"))
def server_time() -> dict:
    return {"data": {"time": format_utc(utcnow())}}


_DATA_SETS = answers(200, "DataSetList", "the user's data sets, newest first")


@app.get("/v1/users/<user_id>/data_sets", responses=_DATA_SETS)
@app.get("/v1/users/<user_id>/datasets", responses=_DATA_SETS)
def list_data_sets(user_id: str, query: Annotated[rq.DataSetsQuery, Query()]) -> list:
    return ingest.list_data_sets(current_caller(app), user_id, _query(), repositories())


@app.get("/data/<user_id>", responses=answers(200, "DataList", "the datums, one array"))
def read_tidepool(user_id: str, query: Annotated[rq.WhispererQuery, Query()]) -> list:
    return ingest.read_tidepool(current_caller(app), user_id, _query(), repositories())


@app.post(
    "/data/<user_id>",
    responses=answers(200, "LegacyDuplicates", "stored; the indexes of datums stored before"),
)
def post_jellyfish(user_id: str, datums: Annotated[rq.Datums | None, Body()] = None) -> list:
    caller = current_caller(app)
    result = ingest.upload_legacy(caller, user_id, datums, repositories(), duplicates=True)
    metrics.add_metric(name="DatumsStored", unit=MetricUnit.Count, value=result.stored)
    return result.duplicates


# ---------------------------------------------------------------- Nightscout v1
_ENTRIES = answers(200, "NightscoutEntries", "entries, newest first")


@app.post("/api/v1/entries", responses=answers(200, "NightscoutEntries", "the stored entries"))
def post_entries(entries: Annotated[rq.Entries, Body()] = None) -> list:
    caller = current_caller(app, nightscout=True)
    stored = nightscout.post_entries(caller, entries, repositories())
    metrics.add_metric(name="DatumsStored", unit=MetricUnit.Count, value=len(stored))
    return stored


@app.get("/api/v1/entries", responses=_ENTRIES)
@app.get("/api/v1/entries.json", responses=_ENTRIES)
def get_entries(query: Annotated[rq.EntriesQuery, Query()]) -> list:
    return nightscout.get_entries(current_caller(app, nightscout=True), _query(), repositories())


@app.get("/api/v1/entries/sgv.json", responses=_ENTRIES)
def get_sgv(query: Annotated[rq.EntriesQuery, Query()]) -> list:
    caller = current_caller(app, nightscout=True)
    return nightscout.get_entries(caller, _query(), repositories(), spec="sgv")


@app.get("/api/v1/entries/current.json", responses=_ENTRIES)
def get_current(query: Annotated[rq.EntriesQuery, Query()]) -> list:
    caller = current_caller(app, nightscout=True)
    return nightscout.get_entries(caller, _query(), repositories(), spec=nightscout.CURRENT)


@app.delete("/api/v1/entries/<entry_id>", responses=answers(200, "NightscoutDeleted", "deleted"))
def delete_entry(entry_id: str) -> dict:
    caller = current_caller(app, nightscout=True)
    deleted = nightscout.delete_entry(caller, entry_id, repositories())
    return {"n": deleted, "ok": 1}


_TREATMENTS = answers(200, "NightscoutTreatments", "treatments, newest first")


@app.post(
    "/api/v1/treatments", responses=answers(200, "NightscoutTreatments", "the stored treatments")
)
@app.post(
    "/api/v1/treatments.json",
    responses=answers(200, "NightscoutTreatments", "the stored treatments"),
)
@app.put(
    "/api/v1/treatments",
    responses=answers(200, "NightscoutTreatments", "the stored treatments (by `_id`)"),
)
def post_treatments(treatments: Annotated[rq.Treatments, Body()] = None) -> list:
    caller = current_caller(app, nightscout=True)
    stored = nightscout.post_treatments(caller, treatments, repositories())
    metrics.add_metric(name="TreatmentsStored", unit=MetricUnit.Count, value=len(stored))
    return stored


@app.get("/api/v1/treatments", responses=_TREATMENTS)
@app.get("/api/v1/treatments.json", responses=_TREATMENTS)
def get_treatments(query: Annotated[rq.TreatmentsQuery, Query()]) -> list:
    return nightscout.get_treatments(current_caller(app, nightscout=True), _query(), repositories())


@app.delete(
    "/api/v1/treatments/<treatment_id>", responses=answers(200, "NightscoutDeleted", "deleted")
)
def delete_treatment(treatment_id: str) -> dict:
    caller = current_caller(app, nightscout=True)
    deleted = nightscout.delete_treatment(caller, treatment_id, repositories())
    return {"n": deleted, "ok": 1}


_DEVICE_STATUS = answers(200, "NightscoutDocuments", "device statuses, newest first")


@app.post(
    "/api/v1/devicestatus",
    responses=answers(200, "NightscoutDocuments", "the stored device statuses"),
)
def post_device_status(statuses: Annotated[rq.Documents, Body()] = None) -> list:
    caller = current_caller(app, nightscout=True)
    stored = nightscout.post_device_status(caller, statuses, repositories())
    metrics.add_metric(name="DeviceStatusesStored", unit=MetricUnit.Count, value=len(stored))
    return stored


@app.get("/api/v1/devicestatus", responses=_DEVICE_STATUS)
@app.get("/api/v1/devicestatus.json", responses=_DEVICE_STATUS)
def get_device_status(query: Annotated[rq.TreatmentsQuery, Query()]) -> list:
    caller = current_caller(app, nightscout=True)
    return nightscout.get_device_status(caller, _query(), repositories())


_PROFILES = answers(200, "NightscoutDocuments", "profile documents, newest first")


@app.post("/api/v1/profile", responses=answers(200, "NightscoutDocuments", "the stored profiles"))
def post_profile(profiles: Annotated[rq.Documents, Body()] = None) -> list:
    caller = current_caller(app, nightscout=True)
    stored = nightscout.post_profiles(caller, profiles, repositories())
    metrics.add_metric(name="ProfilesStored", unit=MetricUnit.Count, value=len(stored))
    return stored


@app.get("/api/v1/profile", responses=_PROFILES)
@app.get("/api/v1/profile.json", responses=_PROFILES)
def get_profiles(query: Annotated[rq.TreatmentsQuery, Query()]) -> list:
    return nightscout.get_profiles(current_caller(app, nightscout=True), _query(), repositories())


@app.get("/api/v1/status.json", responses=answers(200, "NightscoutStatus", "the server"))
def nightscout_status() -> dict:
    return nightscout.status()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


tidewater.coldstart.ready()
