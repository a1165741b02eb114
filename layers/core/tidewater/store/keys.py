"""Every key the store writes or queries is built here, and only here."""

from __future__ import annotations

import hashlib

# The outdated index's partition key is spread over this many shards, so that a burst of
# uploads never writes one hot partition; the summariser queries each shard and merges.
OUTDATED_SHARDS = 4


def outdated_shard(user_id: str) -> str:
    digest = hashlib.sha256(user_id.encode()).digest()
    return str(digest[0] % OUTDATED_SHARDS)


def all_outdated_shards() -> list[str]:
    return [str(n) for n in range(OUTDATED_SHARDS)]


def datum_sk(datum_type: str, time: str, dedup_key: str) -> str:
    """`type#time#dedupKey`: one type in a time window is one key-range Query."""
    return f"{datum_type}#{time}#{dedup_key}"


def datum_sk_range(datum_type: str, start: str, end: str) -> tuple[str, str]:
    """Sort-key bounds of a type's datums with start <= time <= end (canonical UTC strings)."""
    return f"{datum_type}#{start}", f"{datum_type}#{end}#\uffff"


CLINIC_PATIENT = "patient#"
CLINIC_CLINICIAN = "clinician#"


def clinic_patient_sk(user_id: str) -> str:
    return f"{CLINIC_PATIENT}{user_id}"


def clinic_clinician_sk(user_id: str) -> str:
    return f"{CLINIC_CLINICIAN}{user_id}"


def nightscout_secret_key(digest: str) -> str:
    """The accounts-table key under which a Nightscout secret's digest names its owner."""
    return f"nightscout#{digest}"
