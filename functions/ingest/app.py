"""Uploads: health check, datasets, device data, Nightscout entries."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import tidewater
from tidewater.api.body import json_body
from tidewater.api.caller import current_caller
from tidewater.api.http import make_app
from tidewater.observability import logger, metrics
from tidewater.services import ingest, nightscout
from tidewater.store.repos import repositories

app = make_app()


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


@app.get("/status")
def status() -> dict:
    return {"status": "ok", "version": tidewater.__version__}


# ---------------------------------------------------------------- Tidepool-style
@app.post("/v1/users/<user_id>/datasets")
def create_dataset(user_id: str) -> tuple[dict, int]:
    dataset = ingest.create_dataset(current_caller(app), user_id, json_body(app), repositories())
    return {"data": dataset.as_dict()}, 201


@app.post("/v1/datasets/<dataset_id>/data")
def post_data(dataset_id: str) -> dict:
    result = ingest.upload(current_caller(app), dataset_id, json_body(app), repositories())
    metrics.add_metric(name="DatumsStored", unit=MetricUnit.Count, value=result.stored)
    return {"data": [], "meta": result.meta()}


@app.put("/v1/datasets/<dataset_id>")
def close_dataset(dataset_id: str) -> dict:
    dataset = ingest.close_dataset(current_caller(app), dataset_id, repositories())
    return {"data": dataset.as_dict()}


@app.delete("/v1/datasets/<dataset_id>")
def delete_dataset(dataset_id: str) -> dict:
    deleted = ingest.delete_dataset(current_caller(app), dataset_id, repositories())
    return {"data": [], "meta": {"deleted": deleted}}


@app.get("/v1/users/<user_id>/data")
def read_data(user_id: str) -> dict:
    page = ingest.read_data(current_caller(app), user_id, _query(), repositories())
    meta: dict = {"count": len(page.items)}
    if page.cursor:
        meta["cursor"] = page.cursor
    return {"data": page.items, "meta": meta}


@app.post("/v1/users/<user_id>/data/legacy")
def post_legacy(user_id: str) -> dict:
    result = ingest.upload_legacy(current_caller(app), user_id, json_body(app), repositories())
    metrics.add_metric(name="DatumsStored", unit=MetricUnit.Count, value=result.stored)
    return {"data": [], "meta": result.meta()}


# ---------------------------------------------------------------- Nightscout v1
@app.post("/api/v1/entries")
def post_entries() -> list:
    caller = current_caller(app, nightscout=True)
    entries = nightscout.post_entries(caller, json_body(app), repositories())
    metrics.add_metric(name="DatumsStored", unit=MetricUnit.Count, value=len(entries))
    return entries


@app.get("/api/v1/entries")
@app.get("/api/v1/entries.json")
def get_entries() -> list:
    return nightscout.get_entries(current_caller(app, nightscout=True), _query(), repositories())


@app.get("/api/v1/entries/sgv.json")
def get_sgv() -> list:
    caller = current_caller(app, nightscout=True)
    return nightscout.get_entries(caller, _query(), repositories(), spec="sgv")


@app.get("/api/v1/entries/current.json")
def get_current() -> list:
    caller = current_caller(app, nightscout=True)
    return nightscout.get_entries(caller, _query(), repositories(), spec=nightscout.CURRENT)


@app.delete("/api/v1/entries/<entry_id>")
def delete_entry(entry_id: str) -> dict:
    caller = current_caller(app, nightscout=True)
    deleted = nightscout.delete_entry(caller, entry_id, repositories())
    return {"n": deleted, "ok": 1}


@app.get("/api/v1/status.json")
def nightscout_status() -> dict:
    return nightscout.status()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
