"""The local stack keeps its DynamoDB and S3 contents across a restart."""

from __future__ import annotations

import boto3

from tidewater_local import snapshot
from tidewater_local.aws import create_resources


def test_snapshot_round_trip_restores_items_and_objects(aws, template, tmp_path) -> None:
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table = template.physical_name("AccountsTable")
    bucket = template.physical_name("DonationsBucket")
    dynamodb.put_item(TableName=table, Item={"userId": {"S": "u1"}, "n": {"N": "1.5"}})
    s3.put_object(Bucket=bucket, Key="slices/a.csv.gz", Body=b"\x1f\x8bdata")
    assert snapshot.save(template, tmp_path) == 2

    dynamodb.delete_item(TableName=table, Key={"userId": {"S": "u1"}})
    s3.delete_object(Bucket=bucket, Key="slices/a.csv.gz")
    create_resources(template)  # a restart: tables exist again, empty
    assert snapshot.load(template, tmp_path) == 2

    item = dynamodb.get_item(TableName=table, Key={"userId": {"S": "u1"}})["Item"]
    assert item["n"] == {"N": "1.5"}
    body = s3.get_object(Bucket=bucket, Key="slices/a.csv.gz")["Body"].read()
    assert body == b"\x1f\x8bdata"
