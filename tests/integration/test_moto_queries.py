"""The local stack's quicker moto Query (`tidewater_local.moto_queries`) answers what
DynamoDB answers: the queried partition's items in key order, forwards or backwards, page by
page without a gap or a repeat, on the table's key and on an index; worked out here from the
items written, not from moto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidewater_local.aws import REGION


def _keys(hash_key: str, range_key: str) -> list[dict[str, str]]:
    return [{"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"}]  # fmt: skip


ALL = {"ProjectionType": "ALL"}


@pytest.fixture
def table(aws) -> Iterator[Any]:
    name = "moto-queries-" + uuid.uuid4().hex[:8]
    types = {"pk": "S", "sk": "N", "g": "S", "r": "N"}
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in types.items()],
        KeySchema=_keys("pk", "sk"),
        GlobalSecondaryIndexes=[
            {"IndexName": "byG", "KeySchema": _keys("g", "r"), "Projection": ALL}
        ],
    )
    yield boto3.resource("dynamodb", region_name=REGION).Table(name)
    client.delete_table(TableName=name)


ITEMS = st.dictionaries(
    st.tuples(st.sampled_from("abc"), st.integers(0, 40)),
    st.one_of(st.none(), st.tuples(st.sampled_from("xy"), st.integers(0, 4))),
    max_size=60,
)


def _pages(table: Any, **query: Any) -> list[dict[str, Any]]:
    found, start = [], None
    while True:
        page = table.query(**query, **({"ExclusiveStartKey": start} if start else {}))
        found += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(items=ITEMS, low=st.integers(0, 40), forward=st.booleans(), limit=st.integers(1, 7))
def test_queries_answer_the_partition_in_key_order_page_by_page(
    table, items, low, forward, limit
) -> None:
    from boto3.dynamodb.conditions import Key

    with table.batch_writer() as batch:
        for old in table.scan()["Items"]:
            batch.delete_item(Key={"pk": old["pk"], "sk": old["sk"]})
    with table.batch_writer() as batch:
        for (pk, sk), indexed in items.items():
            on_index = {"g": indexed[0], "r": indexed[1]} if indexed else {}
            batch.put_item(Item={"pk": pk, "sk": sk, **on_index})

    on_key = _pages(table, KeyConditionExpression=Key("pk").eq("a") & Key("sk").gte(low),
                    ScanIndexForward=forward, Limit=limit)  # fmt: skip
    expected = sorted(sk for pk, sk in items if pk == "a" and sk >= low)
    assert [int(i["sk"]) for i in on_key] == (expected if forward else expected[::-1])

    on_index = _pages(table, IndexName="byG", ScanIndexForward=forward, Limit=limit,
                      KeyConditionExpression=Key("g").eq("x") & Key("r").lte(2))  # fmt: skip
    wanted = {(pk, sk): v[1] for (pk, sk), v in items.items() if v and v[0] == "x" and v[1] <= 2}
    got = [((i["pk"], int(i["sk"])), int(i["r"])) for i in on_index]
    assert sorted(k for k, _ in got) == sorted(wanted)  # every item once, none twice
    assert all(wanted[k] == r for k, r in got)
    order = [r for _, r in got]
    assert order == sorted(order, reverse=not forward)
