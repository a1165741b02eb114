"""PynamoDB models, one per table of template.yaml (keys and indexes must agree: a test checks).

Table names are not known until run time (CloudFormation names the tables), so each model's
`Meta.table_name` is set by `bind(settings)` before first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import base as pynamodb_connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from tidewater.domain import clinic
from tidewater.settings import Settings
from tidewater.store.batch import REQUEST_ATTEMPTS


class DatumByUpload(GlobalSecondaryIndex["DatumModel"]):
    class Meta:
        index_name = "byUpload"
        projection = KeysOnlyProjection()

    upload_id = UnicodeAttribute(hash_key=True, attr_name="uploadId")
    sk = UnicodeAttribute(range_key=True)


class DatumById(GlobalSecondaryIndex["DatumModel"]):
    class Meta:
        index_name = "byId"
        projection = KeysOnlyProjection()

    id = UnicodeAttribute(hash_key=True)


class DatumModel(Model):
    """One device event. Sort key `type#time#dedupKey`: a user's datums of one type in a
    time window are one Query, and an identical re-upload lands on the same key."""

    class Meta:
        table_name = "DatumsTable"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    sk = UnicodeAttribute(range_key=True)
    upload_id = UnicodeAttribute(attr_name="uploadId")
    id = UnicodeAttribute()
    body = JSONAttribute()
    # cbg/smbg: the datum's glucose sample packed (`domain.samples.packed_sample`), which the
    # summariser reads instead of the body.
    sample = BinaryAttribute(null=True, legacy_encoding=False)
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")  # TTL, epoch seconds
    by_upload = DatumByUpload()
    by_id = DatumById()


class DatasetByUser(GlobalSecondaryIndex["DatasetModel"]):
    class Meta:
        index_name = "byUser"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    created_time = UnicodeAttribute(range_key=True, attr_name="createdTime")


class DatasetModel(Model):
    class Meta:
        table_name = "DatasetsTable"

    dataset_id = UnicodeAttribute(hash_key=True, attr_name="datasetId")
    user_id = UnicodeAttribute(attr_name="userId")
    created_time = UnicodeAttribute(attr_name="createdTime")
    data_state = UnicodeAttribute(attr_name="dataState", default="open")
    body = JSONAttribute(default=dict)
    by_user = DatasetByUser()


class OutdatedIndex(GlobalSecondaryIndex["AccountModel"]):
    class Meta:
        index_name = "outdated"
        projection = KeysOnlyProjection()

    outdated_shard = UnicodeAttribute(hash_key=True, attr_name="outdatedShard")
    outdated_since = UnicodeAttribute(range_key=True, attr_name="outdatedSince")


class AccountModel(Model):
    class Meta:
        table_name = "AccountsTable"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    outdated_shard = UnicodeAttribute(null=True, attr_name="outdatedShard")
    outdated_since = UnicodeAttribute(null=True, attr_name="outdatedSince")
    profile = MapAttribute[str, object](null=True)
    summary = JSONAttribute(null=True)
    nightscout_digest = UnicodeAttribute(null=True, attr_name="nightscoutDigest")
    # The clinics the patient shares with, kept with the membership rows: the summariser
    # updates those clinics' lists without a query of its own.
    clinic_ids = UnicodeSetAttribute(null=True, attr_name="clinicIds")
    # Set with outdatedSince (docs/data-model.md): why, and which periods of samples changed
    # (`cbg#2026-11-21T13` an hour, `cbg#2026-11-21` a day); touchedAll when too many did;
    # outdatedVersion counts the marks, so that the summariser clears only what it has read.
    outdated_reasons = UnicodeSetAttribute(null=True, attr_name="outdatedReasons")
    outdated_version = NumberAttribute(null=True, attr_name="outdatedVersion")
    touched = UnicodeSetAttribute(null=True, attr_name="touchedPeriods")
    touched_all = BooleanAttribute(null=True, attr_name="touchedAll")
    # The summariser's lease (epoch ms it runs out at): one summariser works on an account
    # at a time, even when two iterations overlap.
    summary_lease = NumberAttribute(null=True, attr_name="summaryLease")
    summary_updated = UnicodeAttribute(null=True, attr_name="summaryUpdated")
    # `deleting` from the moment an account deletion is recorded: the authorizer and login
    # then treat the account as unknown, and the summariser leaves it alone.
    account_state = UnicodeAttribute(null=True, attr_name="accountState")
    # The account's open sessions, `<epoch s it ends>:<session id>` (the ID token's
    # `origin_jti`): the authorizer reads them with the account state, in the same GetItem,
    # so that a session ended at logout is refused at once. A set: ADD and DELETE need no
    # read first, and two logins at once cannot lose one another.
    session_ids = UnicodeSetAttribute(null=True, attr_name="sessionIds")
    outdated_index = OutdatedIndex()


class NightscoutSecretModel(Model):
    """In the accounts table: `nightscout#<digest>` → the owner, so that an api-secret is
    resolved with one GetItem. Only a digest of the secret is stored (domain.identity)."""

    class Meta:
        table_name = "AccountsTable"

    key = UnicodeAttribute(hash_key=True, attr_name="userId")
    owner = UnicodeAttribute()


class SessionModel(Model):
    """In the accounts table: `session#<id>` -> the sealed Cognito refresh token of one
    session (store/sessions.py), kept until the refresh token's own end (TTL)."""

    class Meta:
        table_name = "AccountsTable"

    key = UnicodeAttribute(hash_key=True, attr_name="userId")
    owner = UnicodeAttribute()
    sealed = UnicodeAttribute()
    expires_at = NumberAttribute(attr_name="expiresAt")


class BucketsModel(Model):
    """A day of a user's hourly buckets of one kind, packed: `chunk` = `cgm#2026-11-21`.
    A user's buckets are one Query; a summary rewrites only the days that changed."""

    class Meta:
        table_name = "BucketsTable"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    chunk = UnicodeAttribute(range_key=True)
    packed = BinaryAttribute(legacy_encoding=False)
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")


class ClinicByMember(GlobalSecondaryIndex["ClinicModel"]):
    class Meta:
        index_name = "byMember"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True, attr_name="memberId")
    clinic_id = UnicodeAttribute(range_key=True, attr_name="clinicId")


class ClinicModel(Model):
    class Meta:
        table_name = "ClinicsTable"

    clinic_id = UnicodeAttribute(hash_key=True, attr_name="clinicId")
    sk = UnicodeAttribute(range_key=True)
    member_id = UnicodeAttribute(null=True, attr_name="memberId")
    body = JSONAttribute(null=True)
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")
    by_member = ClinicByMember()


def _sort_index(metric: clinic.ListMetric) -> GlobalSecondaryIndex[Any]:
    """The sparse index that lists one clinic's patients for one period by `metric`."""
    value_type = UnicodeAttribute if metric.text else NumberAttribute
    meta = type("Meta", (), {"index_name": metric.index, "projection": AllProjection()})
    index_class = type(
        f"SortBy_{metric.attribute}",
        (GlobalSecondaryIndex,),
        {
            "Meta": meta,
            "clinic_period": UnicodeAttribute(hash_key=True, attr_name="clinicPeriod"),
            "value": value_type(range_key=True, attr_name=metric.attribute),
        },
    )
    index: GlobalSecondaryIndex[Any] = index_class()
    return index


def _metric_attributes() -> dict[str, Any]:
    """Every indexed metric as an attribute of its own (absent when the summary lacks it),
    and its sparse index."""
    found: dict[str, Any] = {}
    for metric in clinic.INDEXED_METRICS:
        value_type = UnicodeAttribute if metric.text else NumberAttribute
        found[metric.attribute] = value_type(null=True, attr_name=metric.attribute)
        found[f"index_{metric.attribute}"] = _sort_index(metric)
    return found


class ClinicPatientModel(Model):
    """One row per (clinic, period, patient): the patient's entry in the clinic's list, and
    the metrics it is sorted and filtered by."""

    class Meta:
        table_name = "ClinicPatientsTable"

    clinic_period = UnicodeAttribute(hash_key=True, attr_name="clinicPeriod")
    user_id = UnicodeAttribute(range_key=True, attr_name="userId")
    entry = JSONAttribute()
    # 20 attributes and indexes, one per metric of clinic.INDEXED_METRICS, written out by
    # that list rather than by hand (the class body's namespace is a plain dict).
    vars().update(_metric_attributes())


def sort_index(metric: str) -> GlobalSecondaryIndex[Any]:
    index: GlobalSecondaryIndex[Any] = getattr(
        ClinicPatientModel, f"index_{clinic.METRICS[metric].attribute}"
    )
    return index


class DonationModel(Model):
    class Meta:
        table_name = "DonationsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = JSONAttribute(null=True)


# The donations table's other items (keys: store/keys.py, access patterns: docs/data-model.md).
class ConsentModel(Model):
    """`consent#<userId>` / `consent`: a donor's consent and when it was given or withdrawn."""

    class Meta:
        table_name = "DonationsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    consent = BooleanAttribute()
    consented_time = UnicodeAttribute(null=True, attr_name="consentedTime")
    withdrawn_time = UnicodeAttribute(null=True, attr_name="withdrawnTime")
    # +1 at every consent given: a withdrawal applies to the slices of its generation and
    # earlier, never to those of a consent given again later (no clocks compared).
    generation = NumberAttribute(default=0)


class WithdrawalModel(Model):
    """`withdrawal` / `<userId>`: a withdrawal the export function has yet to apply to the
    slices already published."""

    class Meta:
        table_name = "DonationsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    requested_time = UnicodeAttribute(attr_name="requestedTime")
    generation = NumberAttribute()


class SliceModel(Model):
    """`window` / `<n>`: the export's decision on window n (claimed, published, withheld,
    dropped) and, once published, the slice's public facts. Export function only."""

    class Meta:
        table_name = "DonationsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    slice_id = UnicodeAttribute(attr_name="sliceId")
    state = UnicodeAttribute()
    claimed_time = UnicodeAttribute(attr_name="claimedTime")
    body = JSONAttribute(null=True)


class MemberModel(Model):
    """`member#<userId>` / `<n>`: the donor's hash in the slice of window n, the mapping
    that lets a withdrawal rewrite published slices. Export function only; never exported."""

    class Meta:
        table_name = "DonationsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    slice_id = UnicodeAttribute(attr_name="sliceId")
    hash = UnicodeAttribute()
    generation = NumberAttribute()  # the consent the donor was exported under


class ErasureModel(Model):
    """`erasure` / `<userId>`: an account deletion under way, kept until every step is done
    (the email only until the Cognito user is deleted). Auth function only."""

    class Meta:
        table_name = "DonationsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    requested_time = UnicodeAttribute(attr_name="requestedTime")
    email = UnicodeAttribute(null=True)


class SourceDueIndex(GlobalSecondaryIndex["SourceModel"]):
    class Meta:
        index_name = "due"
        projection = AllProjection()

    poll_shard = UnicodeAttribute(hash_key=True, attr_name="pollShard")
    poll_due = UnicodeAttribute(range_key=True, attr_name="pollDue")


class SourceModel(Model):
    """`source#<userId>` / `source`: the Nightscout site a person follows, its sealed token and
    where the poller stands (services/sources.py). Listed by the sparse `due` index."""

    class Meta:
        table_name = "AggregatorTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    owner = UnicodeAttribute()
    url = UnicodeAttribute()
    sealed = UnicodeAttribute()
    linked_time = UnicodeAttribute(attr_name="linkedTime")
    poll_shard = UnicodeAttribute(null=True, attr_name="pollShard")
    poll_due = UnicodeAttribute(null=True, attr_name="pollDue")
    body = JSONAttribute(default=dict)  # the poller's state: watermark, failures, last error
    due = SourceDueIndex()


class PopulationMemberModel(Model):
    """`population` / `<userId>`: a person who shares with the population view, and since
    when. Absent: not sharing. All of them are one Query of the one partition."""

    class Meta:
        table_name = "AggregatorTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    shared_time = UnicodeAttribute(attr_name="sharedTime")


class PopulationKeyModel(Model):
    """`population-key` / `<UTC day>`: the random key the day's colour hashes are made with;
    written once (conditionally), gone by TTL two days after its day."""

    class Meta:
        table_name = "AggregatorTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    key = BinaryAttribute(legacy_encoding=False)
    expires_at = NumberAttribute(attr_name="expiresAt")


# Each model and the Settings field that names its table.
TABLE_SETTINGS: dict[type[Model], str] = {
    DatumModel: "datums_table",
    DatasetModel: "datasets_table",
    AccountModel: "accounts_table",
    NightscoutSecretModel: "accounts_table",
    SessionModel: "accounts_table",
    BucketsModel: "buckets_table",
    ClinicModel: "clinics_table",
    DonationModel: "donations_table",
    ConsentModel: "donations_table",
    WithdrawalModel: "donations_table",
    SliceModel: "donations_table",
    MemberModel: "donations_table",
    ErasureModel: "donations_table",
    ClinicPatientModel: "clinic_patients_table",
    SourceModel: "aggregator_table",
    PopulationMemberModel: "aggregator_table",
    PopulationKeyModel: "aggregator_table",
}
MODELS = tuple(TABLE_SETTINGS)


@cache
def _loader() -> Any:
    return botocore.session.get_session().get_component("data_loader")  # AWS_DATA_PATH kept


def _session() -> botocore.session.Session:
    """A botocore session for one PynamoDB connection and thread, sharing one loader with all
    the others: botocore's endpoint rules and DynamoDB's service model are read from disk once
    per process, not once per table (each reading costs 60-190 ms)."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _loader())
    return session


# PynamoDB makes a session per connection and thread with this name; its loader caches what
# it reads, and that cache is what every connection now shares.
pynamodb_connection.get_session = _session


def bind(settings: Settings) -> None:
    """Point every model at the tables `settings` names, in `settings.region`; a request
    is tried as often as the batch writer's (PynamoDB hands the number to botocore)."""
    for model, field in TABLE_SETTINGS.items():
        model.Meta.table_name = getattr(settings, field)
        model.Meta.region = settings.region
        model.Meta.max_retry_attempts = REQUEST_ATTEMPTS - 1
        model._connection = None  # a connection remembers its table name
