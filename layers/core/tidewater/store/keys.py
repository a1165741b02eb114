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


# The aggregator table: a followed site per person, and the poller's `due` index, sharded as
# the outdated index is.
SOURCE_PREFIX = "source#"
SOURCE_SK = "source"
POLL_SHARDS = 4


def source_pk(user_id: str) -> str:
    return f"{SOURCE_PREFIX}{user_id}"


def poll_shard(user_id: str) -> str:
    digest = hashlib.sha256(f"poll\x00{user_id}".encode()).digest()
    return str(digest[0] % POLL_SHARDS)


def all_poll_shards() -> list[str]:
    return [str(n) for n in range(POLL_SHARDS)]


def datum_sk(datum_type: str, time: str, dedup_key: str) -> str:
    """`type#time#dedupKey`: one type in a time window is one key-range Query."""
    return f"{datum_type}#{time}#{dedup_key}"


def datum_sk_range(datum_type: str, start: str, end: str) -> tuple[str, str]:
    """Sort-key bounds of a type's datums with start <= time <= end (canonical UTC strings)."""
    return f"{datum_type}#{start}", f"{datum_type}#{end}#\uffff"


CLINIC_RECORD = "clinic"
CLINIC_PATIENT = "patient#"
CLINIC_CLINICIAN = "clinician#"


def clinic_patient_sk(user_id: str) -> str:
    return f"{CLINIC_PATIENT}{user_id}"


def clinic_clinician_sk(user_id: str) -> str:
    return f"{CLINIC_CLINICIAN}{user_id}"


def nightscout_secret_key(digest: str) -> str:
    """The accounts-table key under which a Nightscout secret's digest names its owner."""
    return f"nightscout#{digest}"


def session_key(session_id: str) -> str:
    """The accounts-table key of one session's sealed refresh token."""
    return f"session#{session_id}"


def clinic_period(clinic_id: str, period: str) -> str:
    """The partition of a clinic's patient list for one period (1d, 7d, 14d, 30d)."""
    return f"{clinic_id}#{period}"


def share_code(code: str) -> str:
    return f"sharecode#{code}"


# Donations table. The donations function may touch only the first three partitions (its
# policy says so with dynamodb:LeadingKeys); `window` and `member#` belong to the export;
# `erasure` (and the first three, to erase a consent) to the auth function.
DONATION_CONSENT_PREFIX = "consent#"
DONATION_CONSENT_SK = "consent"
DONATION_DONORS = "donors"  # one item per active consent: sk = userId
DONATION_WITHDRAWALS = "withdrawal"  # one item per pending withdrawal: sk = userId
DONATION_WINDOWS = "window"  # one item per decided window: sk = its zero-padded number
DONATION_MEMBER_PREFIX = "member#"  # a donor's hash per slice: sk = the window's number
# An account deletion under way: sk = userId. Written and read by the auth function only (its
# policy's LeadingKeys), so that a deletion that failed halfway is found and resumed.
DONATION_ERASURES = "erasure"


def donation_consent_pk(user_id: str) -> str:
    return f"{DONATION_CONSENT_PREFIX}{user_id}"


def donation_window_sk(index: int) -> str:
    """Fixed width, so that windows sort as numbers."""
    return f"{index:010d}"


def donation_member_pk(user_id: str) -> str:
    return f"{DONATION_MEMBER_PREFIX}{user_id}"


# Donations bucket: objects are named by random slice ids only, never by a date or a user.
DONATION_MANIFEST_OBJECT = "manifest.json"
DONATION_SLICES_PREFIX = "slices/"


def donation_slice_object(slice_id: str) -> str:
    return f"{DONATION_SLICES_PREFIX}{slice_id}.csv.gz"


def bucket_chunk(kind: str, day: str) -> str:
    """A day of a user's hourly buckets of one kind: `cgm#2026-11-21` (or `cgm#meta`)."""
    return f"{kind}#{day}"


# Exports bucket: a person's archive, under a random id (never their user id).
EXPORTS_PREFIX = "exports/"


def export_object(export_id: str, extension: str) -> str:
    return f"{EXPORTS_PREFIX}{export_id}.{extension}"


# Aggregator table, the population view: who shares (one partition, one Query lists them)
# and the day's random hash key (sk = the UTC day, `2026-12-03`). The aggregator function's policy
# names these two partitions.
POPULATION_MEMBERS = "population"
POPULATION_DAY_KEYS = "population-key"
