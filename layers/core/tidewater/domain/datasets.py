"""Datasets (Tidepool's data sets, `type: upload`): what one upload session writes into.

A client creates one, posts its data into it in chunks and closes it. Its id is the
`uploadId` of every datum posted into it. The fields a client sends about itself and its
device are checked with the `upload` datum type's rules and echoed back as they were sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Final

from tidewater.domain.datums import checks, upload
from tidewater.domain.datums.checks import Datum, Problems
from tidewater.domain.errors import InvalidData, Problem

TYPE: Final = "upload"
OPEN: Final = "open"
CLOSED: Final = "closed"
# Set first by a delete: uploads get 409 from then on, and one already in flight removes
# what it wrote (services/ingest.py), so a delete never leaves datums under a gone id.
DELETING: Final = "deleting"
NORMAL: Final = "normal"
CONTINUOUS: Final = "continuous"
NAME_MAX: Final = 100
# An identical datum of the same device posted again (to any dataset) replaces the copy
# stored before: Tidepool's "deactivate by hash" deduplicator, done by the store key.
DEFAULT_DEDUPLICATOR: Final = {
    "name": "org.tidepool.deduplicator.device.deactivate.hash",
    "version": "1.1.0",
}
# What a client says about itself and its device; anything else it sends is not kept.
ECHOED: Final = (
    "client",
    "deduplicator",
    "dataSetType",
    "deviceId",
    "deviceManufacturers",
    "deviceModel",
    "deviceSerialNumber",
    "deviceTags",
    "deviceTime",
    "time",
    "computerTime",
    "timezone",
    "timezoneOffset",
    "timeProcessing",
    "version",
    "clockDriftOffset",
    "conversionOffset",
)
# The datasets the server keeps for uploads that come without one.
LEGACY: Final = "legacy"
NIGHTSCOUT: Final = "nightscout"
SYSTEM_CLIENTS: Final = {
    LEGACY: "org.tidewater.legacy",
    NIGHTSCOUT: "org.tidewater.nightscout",
}
# Required of an upload datum, optional for a dataset.
_OPTIONAL_HERE: Final = frozenset({"/time", "/deviceId"})


@dataclass(frozen=True)
class Dataset:
    id: str
    user_id: str
    created_time: str
    data_state: str = OPEN
    fields: Datum = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return self.data_state == CLOSED

    @property
    def deleting(self) -> bool:
        return self.data_state == DELETING

    def as_dict(self) -> dict[str, Any]:
        """The dataset as the API shows it."""
        return {
            **self.fields,
            "id": self.id,
            "uploadId": self.id,
            "userId": self.user_id,
            "type": TYPE,
            "dataState": self.data_state,
            "createdTime": self.created_time,
        }


def _name_and_version(
    container: Datum, key: str, pointer: str, problems: Problems, *, required: bool
) -> None:
    """`client` / `deduplicator`: an object with a `name` and an optional `version`."""
    value = checks.obj(container, key, pointer, problems, required=required)
    if value is None:
        return
    at = checks.child(pointer, key)
    name = checks.string(value, "name", at, problems, required=True, non_empty=True)
    if name is not None and len(name) > NAME_MAX:
        checks.problem(
            problems,
            checks.child(at, "name"),
            checks.VALUE_OUT_OF_RANGE,
            f"`name` must be at most {NAME_MAX} characters",
        )
    checks.string(value, "version", at, problems)


def validate_new(body: object) -> Datum:
    """The echoed fields of a new dataset; InvalidData listing every problem."""
    if type(body) is not dict:
        detail = "the body must be an object"
        raise InvalidData([Problem("", checks.TYPE_NOT_VALID, "wrong type of value", detail)])
    problems: Problems = []
    upload.validate(body, "", problems)
    problems = [
        p for p in problems if not (p.pointer in _OPTIONAL_HERE and p.code == checks.VALUE_MISSING)
    ]
    _name_and_version(body, "client", "", problems, required=True)
    _name_and_version(body, "deduplicator", "", problems, required=False)
    if problems:
        raise InvalidData(errors=problems)
    fields = {key: body[key] for key in ECHOED if key in body}
    fields.setdefault("dataSetType", NORMAL)
    fields.setdefault("deduplicator", dict(DEFAULT_DEDUPLICATOR))
    return fields


def system_dataset_id(kind: str, user_id: str, client_upload_id: str = "") -> str:
    """The id of a dataset the server keeps for a user (32 hex, like any dataset id): the
    same for the same user, kind and client upload id, so that chunks of one legacy upload,
    and every Nightscout entry, land in one dataset."""
    text = f"{kind}\x00{user_id}\x00{client_upload_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def system_fields(kind: str, version: str) -> Datum:
    return {
        "client": {"name": SYSTEM_CLIENTS[kind], "version": version},
        "dataSetType": CONTINUOUS,
        "deduplicator": dict(DEFAULT_DEDUPLICATOR),
    }
