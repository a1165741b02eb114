"""Keeps the local stack's state across restarts (moto keeps everything in memory only):
every DynamoDB item, every S3 object version, every Cognito user and every secret, written
on stop and loaded on start, as one JSON file under the data directory.

Items are kept in DynamoDB's own typed JSON (`{"S": …}`, `{"N": …}`, `{"B": base64}`, sets,
lists, maps, NULL, BOOL), exactly as the low-level API sends them, so that a round trip gives
back the very item. The file is written beside the old one and renamed over it once complete
and on disk: a crash, a kill or a second Ctrl-C while saving leaves the previous snapshot.
It holds the local accounts' passwords in clear (moto checks them so): it is written 0600.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import boto3

from tidewater_local import aws
from tidewater_local.cfn import Template

SNAPSHOT_FILE = "snapshot.json"
FORMAT_VERSION = 2
_PARTIAL_PREFIX = f".{SNAPSHOT_FILE}-"
_PARTIAL_SUFFIX = ".partial"
# Object attributes kept with each version (the bucket's own settings come from the template).
_OBJECT_FIELDS = ("ContentType", "ContentEncoding", "ContentDisposition", "CacheControl")


class BrokenSnapshot(Exception):
    """A snapshot that could not be loaded; it has been moved aside to `kept`."""

    def __init__(self, source: Path, kept: Path, reason: str) -> None:
        super().__init__(f"{source} could not be loaded ({reason}); it is kept as {kept}")
        self.source, self.kept, self.reason = source, kept, reason


@dataclass
class Contents:
    """What a snapshot holds, counted: items per table, objects, users and secrets."""

    items: dict[str, int] = field(default_factory=dict)
    objects: int = 0  # current objects
    versions: int = 0  # every version kept, delete markers included
    users: int = 0
    secrets: int = 0

    def describe(self) -> str:
        tables = ", ".join(f"{name} {count}" for name, count in self.items.items())
        return (
            f"{sum(self.items.values())} items ({tables}), {self.objects} objects "
            f"({self.versions} versions), {self.users} users, {self.secrets} secrets"
        )


# --------------------------------------------------------------------- DynamoDB's typed JSON
def encode_value(value: dict[str, Any]) -> dict[str, Any]:
    """One AttributeValue as boto3's client gives it → JSON (binary as base64, as on the wire)."""
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64encode(inner).decode()}
    if tag == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if tag == "L":
        return {"L": [encode_value(v) for v in inner]}
    if tag == "M":
        return {"M": {k: encode_value(v) for k, v in inner.items()}}
    return {tag: inner}  # S, N, SS, NS, BOOL, NULL are JSON already


def decode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if tag == "L":
        return {"L": [decode_value(v) for v in inner]}
    if tag == "M":
        return {"M": {k: decode_value(v) for k, v in inner.items()}}
    return {tag: inner}


# --------------------------------------------------------------------- saving
def save(template: Template, data_dir: Path) -> Contents:
    """Write everything the stack holds, atomically; returns what was written.
    Scans are right here: this is offline maintenance of a local stack, not a request path."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for leftover in data_dir.glob(f"{_PARTIAL_PREFIX}*{_PARTIAL_SUFFIX}"):
        leftover.unlink()  # a save that was killed: never renamed, so never the snapshot
    fd, partial = tempfile.mkstemp(prefix=_PARTIAL_PREFIX, suffix=_PARTIAL_SUFFIX, dir=data_dir)
    contents = Contents()
    try:
        with os.fdopen(fd, "w") as out:  # mkstemp made it 0600
            out.write(f'{{"version": {FORMAT_VERSION}, "tables": {{')
            for n, logical_id in enumerate(template.of_type("AWS::DynamoDB::Table")):
                out.write(f"{', ' if n else ''}{json.dumps(logical_id)}: [")
                contents.items[logical_id] = _write_all(out, _items(template, logical_id))
                out.write("]")
            out.write('}, "objects": {')
            for n, logical_id in enumerate(template.of_type("AWS::S3::Bucket")):
                out.write(f"{', ' if n else ''}{json.dumps(logical_id)}: [")
                versions = list(_object_versions(template.physical_name(logical_id)))
                contents.versions += _write_all(out, iter(versions))
                contents.objects += sum(1 for v in versions if v["latest"] and not v["marker"])
                out.write("]")
            users = aws.cognito_users(template)
            contents.users = sum(map(len, users.values()))
            secrets = list(_secrets())
            contents.secrets = len(secrets)
            out.write(f'}}, "users": {json.dumps(users)}, "secrets": {json.dumps(secrets)}}}')
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, data_dir / SNAPSHOT_FILE)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    directory = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself reaches the disk
    finally:
        os.close(directory)
    return contents


def _write_all(out: IO[str], entries: Iterator[dict[str, Any]]) -> int:
    count = 0
    for entry in entries:
        out.write(("," if count else "") + json.dumps(entry))
        count += 1
    return count


def _items(template: Template, logical_id: str) -> Iterator[dict[str, Any]]:
    pages = boto3.client("dynamodb").get_paginator("scan")
    for page in pages.paginate(TableName=template.physical_name(logical_id)):
        for item in page["Items"]:
            yield {name: encode_value(value) for name, value in item.items()}


def _object_versions(bucket: str) -> Iterator[dict[str, Any]]:
    """Every version of every object (and every delete marker), oldest first per key."""
    s3 = boto3.client("s3")
    by_key: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for marker in page.get("DeleteMarkers", []):
            by_key.setdefault(marker["Key"], []).append({**marker, "marker": True})
        for version in page.get("Versions", []):
            by_key.setdefault(version["Key"], []).append({**version, "marker": False})
    for key, entries in by_key.items():
        # Listed newest first; the current one (IsLatest) must be put back last.
        entries.sort(key=lambda e: (e["IsLatest"], e["LastModified"]))
        for entry in entries:
            kept: dict[str, Any] = {"key": key, "latest": entry["IsLatest"]}
            kept["marker"] = entry["marker"]
            if not entry["marker"]:
                version = entry["VersionId"]
                extra = {"VersionId": version} if version and version != "null" else {}
                answer = s3.get_object(Bucket=bucket, Key=key, **extra)
                kept["body"] = base64.b64encode(answer["Body"].read()).decode()
                kept["attributes"] = {f: answer[f] for f in _OBJECT_FIELDS if answer.get(f)}
                kept["metadata"] = answer.get("Metadata") or {}
            yield kept


def _secrets() -> Iterator[dict[str, str]]:
    client = boto3.client("secretsmanager")
    for page in client.get_paginator("list_secrets").paginate():
        for listed in page["SecretList"]:
            value = client.get_secret_value(SecretId=listed["ARN"])
            if "SecretBinary" in value:
                binary = base64.b64encode(value["SecretBinary"]).decode()
                yield {"name": listed["Name"], "binary": binary}
            else:
                yield {"name": listed["Name"], "string": value["SecretString"]}


# --------------------------------------------------------------------- loading
def load(template: Template, data_dir: Path) -> Contents | None:
    """Put a saved snapshot back into a stack whose resources exist, empty; None if there is
    none. One that cannot be read or restored is moved aside and BrokenSnapshot raised: a
    stack never starts empty in its place without saying so."""
    source = data_dir / SNAPSHOT_FILE
    if not source.exists():
        return None
    try:
        saved = json.loads(source.read_bytes())
        if not isinstance(saved, dict) or saved.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a version {FORMAT_VERSION} snapshot of the local stack")
        return _restore(template, saved)
    except Exception as error:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = source.with_name(f"{SNAPSHOT_FILE}.broken-{stamp}")
        os.replace(source, kept)
        reason = str(error) if isinstance(error, ValueError) else type(error).__name__
        raise BrokenSnapshot(source, kept, reason) from error


def _restore(template: Template, saved: dict[str, Any]) -> Contents:
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    contents = Contents()
    for logical_id, items in saved["tables"].items():
        if logical_id not in template.resources:
            raise ValueError(f"the snapshot has a table {logical_id} the template has not")
        table = template.physical_name(logical_id)
        for start in range(0, len(items), 25):
            requests = [
                {"PutRequest": {"Item": {k: decode_value(v) for k, v in item.items()}}}
                for item in items[start : start + 25]
            ]
            pending: dict[str, Any] = {table: requests}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        contents.items[logical_id] = len(items)
    for logical_id, versions in saved["objects"].items():
        if logical_id not in template.resources:
            raise ValueError(f"the snapshot has a bucket {logical_id} the template has not")
        bucket = template.physical_name(logical_id)
        current: set[str] = set()
        for version in versions:
            if version["marker"]:
                s3.delete_object(Bucket=bucket, Key=version["key"])
                current.discard(version["key"])
                continue
            s3.put_object(Bucket=bucket, Key=version["key"],
                          Body=base64.b64decode(version["body"]),
                          Metadata=version["metadata"], **version["attributes"])  # fmt: skip
            current.add(version["key"])
        contents.objects += len(current)
        contents.versions += len(versions)
    contents.users = aws.restore_cognito_users(template, saved["users"])
    secrets = boto3.client("secretsmanager")
    for secret in saved["secrets"]:
        value = (
            {"SecretBinary": base64.b64decode(secret["binary"])}
            if "binary" in secret
            else {"SecretString": secret["string"]}
        )
        try:  # the stack made it again at start, with a new value: the saved one wins
            secrets.put_secret_value(SecretId=secret["name"], **value)
        except secrets.exceptions.ResourceNotFoundException:
            secrets.create_secret(Name=secret["name"], **value)
        contents.secrets += 1
    return contents
