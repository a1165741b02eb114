"""Shared fixtures: AWS played by moto in process, with the template's tables and settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="session")
def template():  # type: ignore[no-untyped-def]
    from tidewater_local.cfn import Template

    return Template(TEMPLATE)


@pytest.fixture
def aws(template, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """moto's mock_aws with every table, bucket, user pool and secret of the template, and
    the functions' environment resolved as the local stack resolves it."""
    from tidewater import settings
    from tidewater.api import tokens
    from tidewater.store import repos
    from tidewater_local.aws import in_process

    # In process, mock_aws intercepts the SDK but not a plain HTTPS fetch: the keys moto signs
    # its tokens with are handed to the verifier directly (over HTTP in tests/e2e).
    monkeypatch.setattr(tokens, "http_jwks", lambda url: moto_jwks)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with in_process(template):
        tokens.verifier_for.cache_clear()
        settings.current.cache_clear()
        repos.repositories.cache_clear()
        yield
    tokens.verifier_for.cache_clear()
    settings.current.cache_clear()
    repos.repositories.cache_clear()


def moto_jwks() -> dict:
    """The public keys moto's Cognito signs tokens with."""
    from moto.utilities.utils import load_resource

    loaded: dict = load_resource("cognitoidp/resources/jwks-public.json")
    return loaded


def moto_signing_key() -> dict:
    from moto.utilities.utils import load_resource

    loaded: dict = load_resource("cognitoidp/resources/jwks-private.json")
    return loaded


@pytest.fixture
def lambda_context():  # type: ignore[no-untyped-def]
    from tidewater_local.runtime import LambdaContext

    return LambdaContext(function_name="test")


def load_event(name: str) -> dict:
    import json

    return json.loads((ROOT / "events" / name).read_text())


os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
