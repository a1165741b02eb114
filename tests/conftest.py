"""Shared fixtures: AWS played by moto in process, with the template's tables and settings.

One moto for the session (each xdist worker has its own), the template's resources created in
it once. `aws` gives each test those resources emptied of what earlier tests wrote (an item,
object or user at a time: O(what was written), never a table re-created). A module whose
tests read one costly world builds it once in a stack of its own (`aws_session.build`) and
each test starts from that world as it was built (`SharedWorld.visit`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
T = TypeVar("T")


@pytest.fixture(scope="session")
def template():  # type: ignore[no-untyped-def]
    from tidewater_local.cfn import Template

    return Template(TEMPLATE)


@dataclass(frozen=True)
class Snapshot:
    """What a stack's tables, buckets and user pools hold: items by key, objects' ETags and
    bodies by key, user names by pool."""

    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, dict[str, tuple[str, bytes]]] = field(default_factory=dict)
    users: dict[str, frozenset[str]] = field(default_factory=dict)


EMPTY = Snapshot()


class MotoStack:
    """The template's resources in moto under one stack name, and the functions' environment
    that points at them."""

    def __init__(self, template: Any, stage: str = "test") -> None:
        import boto3

        from tidewater_local.aws import LOCAL_CREDENTIALS, LOCAL_REACH, REGION, create_resources

        self.template = template
        with pytest.MonkeyPatch.context() as patch:
            _environment(patch, LOCAL_CREDENTIALS)
            refs = create_resources(template)
            session = boto3.session.Session(region_name=REGION)
            self._dynamodb = session.client("dynamodb")
            self._s3 = session.client("s3")
            self._cognito = session.client("cognito-idp")
        self.env = {
            **LOCAL_CREDENTIALS,
            **template.environment({"Stage": stage, **refs}),
            **LOCAL_REACH,
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        self.tables = {
            template.physical_name(logical_id): [k["AttributeName"] for k in t["KeySchema"]]
            for logical_id, t in (
                (i, r["Properties"]) for i, r in template.of_type("AWS::DynamoDB::Table").items()
            )
        }
        self.buckets = [template.physical_name(i) for i in template.of_type("AWS::S3::Bucket")]
        self.pools = [refs[i] for i in template.of_type("AWS::Cognito::UserPool")]

    @contextmanager
    def entered(self) -> Iterator[None]:
        """The functions' environment pointing at this stack, with the caches that hold
        settings, repositories and token verifiers emptied on the way in and out."""
        from tidewater.api import tokens

        with pytest.MonkeyPatch.context() as patch:
            _environment(patch, self.env)
            # In process, mock_aws intercepts the SDK but not a plain HTTPS fetch: the keys moto
            # signs its tokens with are handed to the verifier directly (over HTTP in tests/e2e).
            patch.setattr(tokens, "http_jwks", lambda url: moto_jwks)
            _clear_caches()
            try:
                yield
            finally:
                _clear_caches()

    def snapshot(self) -> Snapshot:
        items = {
            table: {_key(item, keys): item for item in self._scan(table)}
            for table, keys in self.tables.items()
        }
        objects = {}
        for bucket in self.buckets:
            found = {}
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for entry in page.get("Contents", []):
                    body = self._s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                    found[entry["Key"]] = (entry["ETag"], body)
            objects[bucket] = found
        users = {pool: frozenset(self._users(pool)) for pool in self.pools}
        return Snapshot(items, objects, users)

    def restore(self, snapshot: Snapshot = EMPTY) -> None:
        """Back to `snapshot`: what was written since is deleted, what was changed or deleted
        is put back. A user deleted from a snapshot cannot come back with the same id: that is
        an error (a test that deletes accounts builds its own)."""
        for table, keys in self.tables.items():
            kept = dict(snapshot.items.get(table, {}))
            writes = []
            for item in self._scan(table):
                key = _key(item, keys)
                was = kept.pop(key, None)
                if was is None:
                    writes.append({"DeleteRequest": {"Key": {k: item[k] for k in keys}}})
                elif was != item:
                    writes.append({"PutRequest": {"Item": was}})
            writes += [{"PutRequest": {"Item": item}} for item in kept.values()]
            self._batch_write(table, writes)
        for bucket in self.buckets:
            self._restore_bucket(bucket, snapshot.objects.get(bucket, {}))
        for pool in self.pools:
            present, wanted = set(self._users(pool)), snapshot.users.get(pool, frozenset())
            if wanted - present:
                raise RuntimeError("a test deleted a user of a shared world")
            for name in present - wanted:
                self._cognito.admin_delete_user(UserPoolId=pool, Username=name)

    def _scan(self, table: str) -> Iterator[dict[str, Any]]:
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=table):
            yield from page["Items"]

    def _batch_write(self, table: str, writes: list[dict[str, Any]]) -> None:
        for start in range(0, len(writes), 25):
            pending: dict[str, Any] = {table: writes[start : start + 25]}
            while pending:
                pending = self._dynamodb.batch_write_item(RequestItems=pending)["UnprocessedItems"]

    def _restore_bucket(self, bucket: str, wanted: dict[str, tuple[str, bytes]]) -> None:
        s3 = self._s3
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        versions: dict[str, list[dict[str, Any]]] = {}
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                versions.setdefault(version["Key"], []).append(version)
        stale = [
            {"Key": key, "VersionId": v["VersionId"]}
            for key, found in versions.items()
            if key not in wanted or [v.get("ETag") for v in found] != [wanted[key][0]]
            for v in found
        ]
        for start in range(0, len(stale), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})
        gone = {o["Key"] for o in stale}
        for key, (_, body) in wanted.items():
            if key in gone or key not in versions:
                s3.put_object(Bucket=bucket, Key=key, Body=body)

    def _users(self, pool: str) -> Iterator[str]:
        for page in self._cognito.get_paginator("list_users").paginate(UserPoolId=pool):
            yield from (u["Username"] for u in page["Users"])


@dataclass
class SharedWorld(Generic[T]):
    """A world built once (per module) in a stack of its own, with what it holds."""

    stack: MotoStack
    snapshot: Snapshot
    value: T

    @contextmanager
    def visit(self) -> Iterator[T]:
        """Inside the world's stack, as it was built: a test's writes are undone before the
        next test visits."""
        with self.stack.entered():
            self.stack.restore(self.snapshot)
            yield self.value


class Moto:
    """moto's `mock_aws` for the whole session, and the stacks created in it."""

    def __init__(self, template: Any) -> None:
        self.template = template
        self._stacks: dict[str, MotoStack] = {}

    def stack(self, name: str = "") -> MotoStack:
        """The template's resources under stack name `name` (the local stack's own name when
        empty), created on first use."""
        from tidewater_local.cfn import Template

        if name not in self._stacks:
            template = Template(self.template.path, f"tidewater-{name}") if name else self.template
            self._stacks[name] = MotoStack(template)
        return self._stacks[name]

    def reset(self) -> None:
        """Empty moto whole, as a restart of the local stack does; every stack is made anew
        on its next use."""
        from moto.core.base_backend import BackendDict

        BackendDict.reset()
        self._stacks.clear()

    def build(self, name: str, build: Callable[[], T]) -> SharedWorld[T]:
        """Run `build` in stack `name` emptied, and keep what it made for `SharedWorld.visit`."""
        stack = self.stack(name)
        with stack.entered():
            stack.restore(EMPTY)
            value = build()
            return SharedWorld(stack, stack.snapshot(), value)


@pytest.fixture(scope="session")
def aws_session(template) -> Iterator[Moto]:  # type: ignore[no-untyped-def]
    from moto import mock_aws

    from tidewater_local.moto_queries import quicker_queries

    quicker_queries()
    # The environment is the tests' to set (`MotoStack.entered`), not moto's for the session.
    with mock_aws(config={"core": {"mock_credentials": False}}):
        yield Moto(template)


@pytest.fixture
def aws(aws_session) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """moto with every table, bucket, user pool and secret of the template, holding nothing
    but what this test writes, and the functions' environment resolved as the local stack
    resolves it."""
    stack = aws_session.stack()
    with stack.entered():
        stack.restore(EMPTY)
        yield


@pytest.fixture
def faults(aws):  # type: ignore[no-untyped-def]
    """`aws`, with DynamoDB faults to inject (tests/faults.py)."""
    from tests.faults import injected

    with injected() as injected_faults:
        yield injected_faults


@pytest.fixture
def parser_walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The structures botocore's JSON parser walks from now on, a shape name each: a Query
    answer our handler decoded itself walks only the empty `QueryOutput`."""
    import botocore.parsers

    walked: list[str] = []
    real = botocore.parsers.BaseJSONParser._handle_structure

    def counted(parser: Any, shape: Any, value: Any) -> Any:
        walked.append(shape.name)
        return real(parser, shape, value)

    monkeypatch.setattr(botocore.parsers.BaseJSONParser, "_handle_structure", counted)
    return walked


def plain_dynamodb() -> Any:
    """A DynamoDB client of botocore's own, without the stores' handlers: what the table
    holds as botocore parses it."""
    import botocore.session

    return botocore.session.get_session().create_client("dynamodb", "us-east-1")


def _environment(patch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        patch.delenv(name, raising=False)
    for name, value in env.items():
        patch.setenv(name, value)


def _clear_caches() -> None:
    from tidewater import settings
    from tidewater.api import tokens
    from tidewater.store import repos

    tokens.verifier_for.cache_clear()
    settings.current.cache_clear()
    repos.repositories.cache_clear()


def _key(item: dict[str, Any], keys: list[str]) -> str:
    return repr([item[k] for k in keys])


def moto_jwks() -> dict:
    """The public keys moto's Cognito signs tokens with."""
    from moto.utilities.utils import load_resource

    loaded: dict = load_resource("cognitoidp/resources/jwks-public.json")
    return loaded


@functools.cache
def moto_signing_key() -> Any:
    """The private key moto's Cognito signs tokens with, for tokens of the tests' own making
    (loaded once: reading an RSA key costs 0.15 s, a token signed with it well under 1 ms)."""
    import jwt
    from moto.utilities.utils import load_resource

    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


@pytest.fixture
def lambda_context():  # type: ignore[no-untyped-def]
    from tidewater_local.runtime import LambdaContext

    return LambdaContext(function_name="test")


def load_event(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def sign_up_as(body: dict[str, Any], role: str | None = None, user_id: str | None = None) -> Any:
    """An account as one comes to be: sign-up (everyone is a patient), then for a clinician
    or a researcher the operator's grant (its Cognito group, and the profile's role). The
    role is `role`, or the body's `role` (taken out of what is signed up). The profile."""
    from tidewater.domain.timeutil import utcnow
    from tidewater.services import auth
    from tidewater.store.repos import repositories

    body = dict(body)
    role = role or body.pop("role", None) or "patient"
    body.pop("role", None)
    repos = repositories()
    profile = auth.sign_up(body, repos, utcnow(), user_id=user_id)
    if role != "patient":
        auth.grant_role(body["email"], role, repos)
        profile = repos.accounts.profile(profile.user_id)
    return profile


def signed_in(email: str, password: str) -> str:
    """A session token as a login makes one: Cognito's ID token, its session kept (the
    authorizer refuses a token whose session the platform does not hold)."""
    import jwt

    from tidewater.domain.timeutil import utcnow
    from tidewater.services import auth
    from tidewater.store.repos import repositories

    repos = repositories()
    tokens = repos.identity.sign_in(email, password)
    user_id = jwt.decode(tokens.id_token, options={"verify_signature": False})["custom:userId"]

    def claims_of(token: str) -> dict[str, Any]:
        return dict(jwt.decode(token, options={"verify_signature": False}))

    session = auth.Session(tokens.id_token, user_id, tokens.refresh_token)
    auth.keep_session(session, claims_of, repos, utcnow())
    return tokens.id_token


def clinic_share_code(clinic_id: str) -> dict[str, str]:
    """The body of a patient's join: a fresh single-use share code of the clinic's, as one of
    its clinicians would hand it over (POST /v1/clinics/{clinicId}/share_codes)."""
    import secrets
    from datetime import timedelta

    from tidewater.domain.timeutil import utcnow
    from tidewater.store.clinics import ShareCode
    from tidewater.store.repos import repositories

    code = secrets.token_hex(5).upper()
    expires = int((utcnow() + timedelta(days=7)).timestamp())
    repositories().clinics.save_share_code(code, ShareCode(clinic_id=clinic_id), "tests", expires)
    return {"shareCode": code}
