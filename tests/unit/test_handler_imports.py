"""numpy is the summary engine's alone: importing every function's handler, in a fresh
interpreter as a cold Lambda would, must not load it; computing a summary then does."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

HANDLERS = ("ingest", "clinic", "auth", "authorizer", "donations", "rights", "export", "summarize")
SCRIPT = f"""
import sys
for name in {HANDLERS!r}:
    __import__(f"functions.{{name}}.app")
    print(name, "numpy" in sys.modules)
from tidewater.domain.summary import summarize
summarize([{{"type": "cbg", "units": "mg/dL", "value": 120, "time": "2024-01-01T00:00:00.000Z"}}])
print("after a summary", "numpy" in sys.modules)
"""
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/core", "local", ".")),
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def test_no_handler_imports_numpy_until_a_summary_is_computed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=ENV, cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    loaded = dict(line.rsplit(" ", 1) for line in done.stdout.strip().splitlines())
    assert loaded == {**{name: "False" for name in HANDLERS}, "after a summary": "True"}


COLD_START = """
import gc, sys
paused = []  # collections after tidewater.coldstart was imported and before anything was frozen
gc.callbacks.append(lambda phase, info: paused.append(1) if phase == "start"
                    and "tidewater.coldstart" in sys.modules and not gc.get_freeze_count() else 0)
__import__(f"functions.{name}.app")
print(not paused, gc.isenabled(), gc.get_freeze_count() > 10_000)
"""


def test_every_handler_imports_with_the_collector_paused_then_frozen_and_running() -> None:
    """No garbage collection while a cold function imports (`tidewater.coldstart`); after,
    what the import made is frozen and the collector runs again for the invocations."""
    for name in (p.parent.name for p in sorted((ROOT / "functions").glob("*/app.py"))):
        done = subprocess.run(
            [sys.executable, "-c", f"name = {name!r}" + COLD_START], env=ENV, cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert done.stdout.split() == ["True", "True", "True"], name


FIRST_REQUEST = """
import json, sys
from types import SimpleNamespace
import functions.ingest.app as ingest
for name in ("aggregator", "auth", "clinic", "donations", "rights"):
    __import__(f"functions.{name}.app")
context = SimpleNamespace(function_name="ingest", memory_limit_in_mb=128, aws_request_id="r",
                          invoked_function_arn="arn:aws:lambda:us-east-1:1:function:ingest")
answer = ingest.handler(json.load(open("events/status.json")), context)
print(answer["statusCode"], "tidewater.api.schemas.responses" in sys.modules)
from tidewater.api.http import documented
documented(ingest.app)
schema = ingest.app.get_openapi_schema(title="t", version="1").model_dump(by_alias=True)
named = schema["components"]["schemas"]
print(*(n in named for n in ("Status", "ErrorDocument", "GatewayMessage", "UploadAnswer")))
"""


def test_response_models_load_only_for_the_document() -> None:
    """The answers' models are for the OpenAPI document: no HTTP function loads them,
    importing or answering its first request (some 12 ms of every cold start); the document
    names them all the same."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST], env=ENV, cwd=ROOT, capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    served, schemas = done.stdout.strip().splitlines()
    assert served == "200 False"
    assert schemas == "True True True True"


# What a cold function does not load because none of its first requests needs it: the
# summary engine's package (loaded by the first summary read or computed) and the datum
# types (the upload's validation).
NOT_LOADED = {
    "auth": ("tidewater.domain.summary", "tidewater.domain.datums"),
    "clinic": ("tidewater.domain.summary", "tidewater.domain.datums"),
    "ingest": ("tidewater.domain.summary",),
    "authorizer": ("tidewater.domain.summary", "tidewater.domain.datums"),
}


def test_cold_functions_load_only_what_their_requests_need() -> None:
    for name, modules in NOT_LOADED.items():
        # One interpreter per function: what one loads must not hide what another does.
        script = f"import sys\nimport functions.{name}.app\nprint(*sorted(sys.modules))"
        done = subprocess.run(
            [sys.executable, "-c", script], env=ENV, cwd=ROOT, capture_output=True, text=True,
            timeout=120, check=True,
        )  # fmt: skip
        loaded = set(done.stdout.split())
        assert f"functions.{name}.app" in loaded
        assert loaded.isdisjoint(modules), (name, loaded & set(modules))
