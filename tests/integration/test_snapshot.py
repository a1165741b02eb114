"""The local stack keeps its DynamoDB and S3 contents across a restart."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidewater_local import snapshot
from tidewater_local.aws import create_resources


def test_snapshot_round_trip_restores_items_and_objects(aws, template, tmp_path) -> None:
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table = template.physical_name("AccountsTable")
    bucket = template.physical_name("DonationsBucket")
    dynamodb.put_item(TableName=table, Item={"userId": {"S": "u1"}, "n": {"N": "1.5"}})
    s3.put_object(Bucket=bucket, Key="slices/a.csv.gz", Body=b"\x1f\x8bdata")
    saved = snapshot.save(template, tmp_path)
    assert (saved.items["AccountsTable"], saved.objects) == (1, 1)

    dynamodb.delete_item(TableName=table, Key={"userId": {"S": "u1"}})
    s3.delete_object(Bucket=bucket, Key="slices/a.csv.gz")
    create_resources(template)  # a restart: tables exist again, empty
    restored = snapshot.load(template, tmp_path)
    assert restored is not None and restored.items["AccountsTable"] == 1

    item = dynamodb.get_item(TableName=table, Key={"userId": {"S": "u1"}})["Item"]
    assert item["n"] == {"N": "1.5"}
    body = s3.get_object(Bucket=bucket, Key="slices/a.csv.gz")["Body"].read()
    assert body == b"\x1f\x8bdata"


# DynamoDB's attribute values, as its low-level API takes them: every type, empty strings,
# binaries, lists and maps where it allows them (non-key attributes), never an empty set.
_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)
_numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(lambda d: str(d.normalize())),
)
_scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": n}, _numbers),
    st.builds(lambda b: {"B": b}, st.binary(max_size=20)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=8), min_size=1, max_size=4)),
    st.builds(
        lambda s: {"NS": sorted(map(str, s))}, st.sets(st.integers(), min_size=1, max_size=4)
    ),
    st.builds(lambda s: {"BS": sorted(s)}, st.sets(st.binary(max_size=8), min_size=1, max_size=4)),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
        st.builds(lambda m: {"M": m}, st.dictionaries(_names, inner, max_size=3)),
    ),
    max_leaves=8,
)
_items = st.dictionaries(_names.filter(lambda n: n != "userId"), _values, max_size=6)


def _canonical(value: dict[str, Any]) -> Any:
    """An attribute value with its sets' order dropped (DynamoDB keeps none)."""
    ((tag, inner),) = value.items()
    if tag in ("SS", "NS", "BS"):
        return tag, frozenset(inner)
    if tag == "L":
        return tag, tuple(_canonical(v) for v in inner)
    if tag == "M":
        return tag, frozenset((k, _canonical(v)) for k, v in inner.items())
    return tag, inner


_SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=40, deadline=None, suppress_health_check=_SLOW_OK)
@given(items=st.lists(_items, min_size=1, max_size=4))
def test_items_of_every_type_round_trip_exactly(aws, template, tmp_path, items) -> None:
    dynamodb = boto3.client("dynamodb")
    table = template.physical_name("AccountsTable")
    keys = [{"userId": {"S": f"u{n}"}} for n in range(len(items))]
    for key, item in zip(keys, items, strict=True):
        dynamodb.put_item(TableName=table, Item={**item, **key})
    before = [dynamodb.get_item(TableName=table, Key=key)["Item"] for key in keys]
    snapshot.save(template, tmp_path)
    for key in keys:
        dynamodb.delete_item(TableName=table, Key=key)
    snapshot.load(template, tmp_path)
    after = [dynamodb.get_item(TableName=table, Key=key)["Item"] for key in keys]
    for kept, restored in zip(before, after, strict=True):
        assert {k: _canonical(v) for k, v in restored.items()} == {
            k: _canonical(v) for k, v in kept.items()
        }
    for key in keys:
        dynamodb.delete_item(TableName=table, Key=key)


@pytest.fixture
def restart(aws_session):  # type: ignore[no-untyped-def]
    """A moto holding the template's resources alone (other tests' stacks share the session's
    moto), and a way to empty it whole as the local stack's restart does; emptied again
    afterwards, for the next tests."""
    aws_session.reset()
    with aws_session.stack().entered():
        yield aws_session.reset
    aws_session.reset()


def test_objects_users_and_secrets_survive_a_restart(restart, template, tmp_path) -> None:
    from tidewater.store.repos import repositories
    from tidewater_local.aws import create_resources
    from tidewater_local.demo import DEMO_PASSWORD, create_demo_accounts

    create_demo_accounts(repositories())
    cognito, secrets, s3 = (boto3.client(n) for n in ("cognito-idp", "secretsmanager", "s3"))
    pool = os.environ["USER_POOL_ID"]
    alice = cognito.admin_get_user(UserPoolId=pool, Username="alice@tidewater.test")
    secret = secrets.get_secret_value(SecretId=os.environ["CURSOR_SECRET_ARN"])["SecretString"]
    bucket = template.physical_name("DonationsBucket")
    for body in (b"first", b"second"):  # the donations bucket is versioned
        s3.put_object(Bucket=bucket, Key="slices/x.csv.gz", Body=body, ContentType="text/csv")
    kept = snapshot.save(template, tmp_path)
    assert (kept.objects, kept.versions, kept.users, kept.secrets) == (1, 2, 4, 1)
    assert (tmp_path / snapshot.SNAPSHOT_FILE).stat().st_mode & 0o777 == 0o600

    # A restart: moto empty again, every resource made anew (a new random secret).
    restart()
    refs = create_resources(template)
    assert snapshot.load(template, tmp_path) == kept

    again = cognito.admin_get_user(UserPoolId=refs["UserPool"], Username="alice@tidewater.test")
    assert again["Username"] == alice["Username"]
    assert sorted(map(str, again["UserAttributes"])) == sorted(map(str, alice["UserAttributes"]))
    client = refs["UserPoolClient"]
    cognito.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": "alice@tidewater.test",
                                          "PASSWORD": DEMO_PASSWORD})  # fmt: skip
    arn = refs["CursorSecret"]
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == secret
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert len(versions) == 2
    current = s3.get_object(Bucket=bucket, Key="slices/x.csv.gz")
    assert current["Body"].read() == b"second" and current["ContentType"] == "text/csv"


def test_a_corrupt_snapshot_is_kept_aside_not_replaced(aws, template, tmp_path) -> None:
    (tmp_path / snapshot.SNAPSHOT_FILE).write_bytes(b'{"version": 2, "tables": {')
    with pytest.raises(snapshot.BrokenSnapshot) as broken:
        snapshot.load(template, tmp_path)
    assert not (tmp_path / snapshot.SNAPSHOT_FILE).exists()
    assert broken.value.kept.read_bytes() == b'{"version": 2, "tables": {'
