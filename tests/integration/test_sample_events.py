"""Every function answers its sample event from events/ (as `sam local invoke` would send
it) the way a user would expect; a function added without a sample event fails here."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from tests.conftest import load_event

# function folder → (sample event, what its answer must show)
SAMPLES: dict[str, tuple[str, Any]] = {
    "ingest": ("status.json", 200),
    "auth": ("login.json", 401),  # no such account in an empty pool
    "authorizer": (
        "authorizer.json",
        {"isAuthorized": True, "context": {"userId": "", "role": "", "via": "anonymous"}},
    ),
    "clinic": ("clinic_patients.json", 403),  # the caller is no clinician of that clinic
    "donations": ("donation_slices.json", 200),  # a researcher lists the (empty) manifest
    "summarize": (
        "summarize.json",
        {"selected": 0, "summarized": 0, "failed": 0, "skipped": 0, "batches": 0},
    ),
    "export": ("export.json", None),
    # No site is linked: nothing due, nothing asked.
    "poll": (
        "poll.json",
        {"due": 0, "polled": 0, "failed": 0, "pages": 0, "imported": 0, "skipped": 0, "late": 0},
    ),
    "rights": ("export_user.json", 403),  # a patient asks for another patient's export
    "aggregator": ("population_view.json", 200),  # fewer than k people share: empty
}


def test_every_function_has_a_sample_event(template) -> None:
    assert {spec.name for spec in template.functions().values()} == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_function_answers_its_sample_event(aws, lambda_context, name) -> None:
    event_file, expected = SAMPLES[name]
    handler = importlib.import_module(f"functions.{name}.app").handler
    answer = handler(load_event(event_file), lambda_context)
    if isinstance(expected, int):
        assert answer["statusCode"] == expected, answer.get("body")
        json.loads(answer["body"])  # always a JSON body, errors included
    elif expected is not None:
        assert answer == expected
    else:
        assert answer["slices"] == 0 and answer["rows"] == 0
