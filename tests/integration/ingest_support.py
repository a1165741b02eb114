"""Helpers for the upload tests: HttpApi events as the authorizer leaves them, the spec's
linked examples, a DynamoDB request counter and a client that misbehaves on purpose."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from tests.conftest import load_event
from tests.spec_examples import BOLUS_ID, SPEC_BOLUS, SPEC_WIZARD, WIZARD_ID
from tidewater.domain.identity import Caller, Via

ALICE = Caller("a1a1a1a1a1", "patient", Via.SESSION)
BOB = Caller("b2b2b2b2b2", "patient", Via.SESSION)
CAROL = Caller("c3c3c3c3c3", "clinician", Via.SESSION)
ALICE_NIGHTSCOUT = Caller(ALICE.user_id, "", Via.NIGHTSCOUT)

CLIENT = {"client": {"name": "org.tidepool.uploader", "version": "2.53.0"}}

# spec/linking-events.md, as a client sends them.
BOLUS: dict[str, Any] = SPEC_BOLUS
EMBEDDED_BOLUS = {k: v for k, v in BOLUS.items() if k != "guid"}
WIZARD: dict[str, Any] = {**SPEC_WIZARD, "bolus": EMBEDDED_BOLUS}
# The stored wizard, from the spec (server fields aside).
STORED_WIZARD_VALUES = {
    "bgInput": 1.7762393571345707,
    "bgTarget": {"target": 4.718135792388703, "high": 8.048584587016023},
    "insulinSensitivity": 0.33304487946273204,
    "units": "mmol/L",
    "carbInput": 109,
    "insulinOnBoard": 20.032,
    "recommended": {"carb": 18.25, "correction": 5.25, "net": 3.5},
}
SPEC_BOLUS_ID, SPEC_WIZARD_ID = BOLUS_ID, WIZARD_ID


def cbg(time: str, value: float = 120, device: str = "G6-1", **fields: Any) -> dict[str, Any]:
    datum = {"type": "cbg", "deviceId": device, "time": time, "value": value, "units": "mg/dL"}
    return datum | fields


def smbg(time: str, value: float = 6.1, device: str = "Meter-1") -> dict[str, Any]:
    return {"type": "smbg", "deviceId": device, "time": time, "value": value, "units": "mmol/L"}


def basal(time: str) -> dict[str, Any]:
    return {"type": "basal", "deliveryType": "scheduled", "rate": 0.9, "duration": 3600000,
            "deviceId": "Pump-1", "time": time}  # fmt: skip


def event(
    method: str,
    route: str,
    path: str,
    *,
    caller: Caller | None = ALICE,
    params: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HttpApi payload 2.0 event as API Gateway hands it over after the authorizer."""
    built = load_event("status.json")
    built["routeKey"] = built["requestContext"]["routeKey"] = f"{method} {route}"
    built["rawPath"] = built["requestContext"]["http"]["path"] = path
    built["requestContext"]["http"]["method"] = method
    built["headers"]["content-type"] = "application/json"
    if caller is not None:
        built["requestContext"]["authorizer"] = {"lambda": caller.to_context()}
    if params:
        built["pathParameters"] = params
    if query:
        built["queryStringParameters"] = query
        built["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if raw_body is not None:
        built["body"] = raw_body
    elif body is not None:
        built["body"] = json.dumps(body)
    return built


def invoke(built: dict[str, Any], context: Any) -> tuple[int, Any]:
    from functions.ingest import app

    response = app.handler(built, context)
    body = response.get("body")
    return response["statusCode"], json.loads(body) if body else None


class Api:
    """The ingest routes, called through the Lambda handler."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def create_dataset(
        self, user_id: str = ALICE.user_id, body: Any = None, caller: Caller | None = ALICE
    ) -> tuple[int, Any]:
        return invoke(
            event("POST", "/v1/users/{userId}/datasets", f"/v1/users/{user_id}/datasets",
                  caller=caller, params={"userId": user_id},
                  body=CLIENT if body is None else body),
            self.context,
        )  # fmt: skip

    def new_dataset(self, caller: Caller = ALICE, **fields: Any) -> str:
        status, body = self.create_dataset(caller.user_id, {**CLIENT, **fields}, caller)
        assert status == 201, body
        return str(body["data"]["id"])

    def upload(
        self, dataset_id: str, datums: Any, caller: Caller | None = ALICE, raw: str | None = None
    ) -> tuple[int, Any]:
        return invoke(
            event("POST", "/v1/datasets/{datasetId}/data", f"/v1/datasets/{dataset_id}/data",
                  caller=caller, params={"datasetId": dataset_id}, body=datums, raw_body=raw),
            self.context,
        )  # fmt: skip

    def legacy(
        self, datums: Any, user_id: str = ALICE.user_id, caller: Caller | None = ALICE
    ) -> tuple[int, Any]:
        return invoke(
            event("POST", "/v1/users/{userId}/data/legacy", f"/v1/users/{user_id}/data/legacy",
                  caller=caller, params={"userId": user_id}, body=datums),
            self.context,
        )  # fmt: skip

    def close(self, dataset_id: str, caller: Caller | None = ALICE) -> tuple[int, Any]:
        return invoke(
            event("PUT", "/v1/datasets/{datasetId}", f"/v1/datasets/{dataset_id}",
                  caller=caller, params={"datasetId": dataset_id},
                  body={"dataState": "closed"}),
            self.context,
        )  # fmt: skip

    def delete(self, dataset_id: str, caller: Caller | None = ALICE) -> tuple[int, Any]:
        return invoke(
            event("DELETE", "/v1/datasets/{datasetId}", f"/v1/datasets/{dataset_id}",
                  caller=caller, params={"datasetId": dataset_id}),
            self.context,
        )  # fmt: skip

    def read(
        self, user_id: str = ALICE.user_id, caller: Caller | None = ALICE, **query: str
    ) -> tuple[int, Any]:
        return invoke(
            event("GET", "/v1/users/{userId}/data", f"/v1/users/{user_id}/data",
                  caller=caller, params={"userId": user_id}, query=query or None),
            self.context,
        )  # fmt: skip

    def read_all(self, user_id: str = ALICE.user_id, **query: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            extra = {"cursor": cursor} if cursor else {}
            status, body = self.read(user_id, **query, **extra)
            assert status == 200, body
            found.extend(body["data"])
            cursor = body["meta"].get("cursor")
            if not cursor:
                return found


# ---------------------------------------------------------------------- DynamoDB requests
@contextmanager
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Count DynamoDB API calls by operation, with a botocore `before-call` hook on every
    client made meanwhile (the store's clients are dropped first, so all are new)."""
    from tidewater.store import models
    from tidewater.store.repos import repositories

    counts: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.dynamodb", count)
        return client

    for model in models.MODELS:
        model._connection = None
    repositories().datums._client = None
    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


# ---------------------------------------------------------------------- a bad day at AWS
def throttled(operation: str) -> ClientError:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
    return ClientError({"Error": error}, operation)


class Storm:
    """A DynamoDB client that leaves part of every batch unprocessed and refuses some
    batches outright, as DynamoDB does under throttling; the rest reaches the real client."""

    def __init__(self, real: Any, seed: int = 4, unprocessed: float = 0.5, refused: float = 0.2):
        self.real = real
        self.rng = random.Random(seed)
        self.unprocessed = unprocessed
        self.refused = refused
        self.batches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        self.batches += 1
        if self.rng.random() < self.refused:
            raise throttled("BatchWriteItem")
        ((table, requests),) = RequestItems.items()
        flags = [self.rng.random() < self.unprocessed for _ in requests]
        done = [r for r, left in zip(requests, flags, strict=True) if not left]
        left = [copy.deepcopy(r) for r, left in zip(requests, flags, strict=True) if left]
        if done:
            self.real.batch_write_item(RequestItems={table: done})
        return {"UnprocessedItems": {table: left} if left else {}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.batches += 1
        if self.rng.random() < self.refused:
            raise throttled("BatchGetItem")
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        half = max(1, len(keys) // 2)
        answer = self.real.batch_get_item(RequestItems={table: {**request, "Keys": keys[:half]}})
        if keys[half:]:
            answer["UnprocessedKeys"] = {table: {**request, "Keys": keys[half:]}}
        return dict(answer)
