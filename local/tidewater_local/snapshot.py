"""Keeps the local stack's DynamoDB and S3 contents across restarts (moto keeps them in
memory only): written on stop, loaded on start, under the data directory."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3

from tidewater_local.cfn import Template

SNAPSHOT_FILE = "snapshot.json"


def save(template: Template, data_dir: Path) -> int:
    """Write every item of every table and every object of every bucket; returns the count.
    A Scan is right here: this is offline maintenance of a local stack, not a request path."""
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    tables: dict[str, list[dict[str, Any]]] = {}
    for logical_id in template.of_type("AWS::DynamoDB::Table"):
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=template.physical_name(logical_id)
        ):
            items.extend(page["Items"])
        tables[logical_id] = items
    objects: dict[str, dict[str, str]] = {}
    for logical_id in template.of_type("AWS::S3::Bucket"):
        bucket, found = template.physical_name(logical_id), {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                found[entry["Key"]] = base64.b64encode(body).decode()
        objects[logical_id] = found
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / SNAPSHOT_FILE
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps({"version": 1, "tables": tables, "objects": objects}))
    partial.replace(target)  # never leave half a snapshot behind
    return sum(map(len, tables.values())) + sum(map(len, objects.values()))


def load(template: Template, data_dir: Path) -> int:
    """Put a saved snapshot back; returns how many items and objects it restored."""
    source = data_dir / SNAPSHOT_FILE
    if not source.exists():
        return 0
    saved = json.loads(source.read_text())
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    restored = 0
    for logical_id, items in saved.get("tables", {}).items():
        if logical_id not in template.resources:
            continue
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]
            pending = {template.physical_name(logical_id): requests}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        restored += len(items)
    for logical_id, found in saved.get("objects", {}).items():
        if logical_id not in template.resources:
            continue
        for key, body in found.items():
            s3.put_object(
                Bucket=template.physical_name(logical_id), Key=key, Body=base64.b64decode(body)
            )
            restored += 1
    return restored
