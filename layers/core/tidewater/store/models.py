"""PynamoDB models, one per table of template.yaml (keys and indexes must agree: a test checks).

Table names are not known until run time (CloudFormation names the tables), so each model's
`Meta.table_name` is set by `bind(settings)` before first use.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from tidewater.settings import Settings


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
    outdated_index = OutdatedIndex()


class NightscoutSecretModel(Model):
    """In the accounts table: `nightscout#<digest>` → the owner, so that an api-secret is
    resolved with one GetItem. Only a digest of the secret is stored (domain.identity)."""

    class Meta:
        table_name = "AccountsTable"

    key = UnicodeAttribute(hash_key=True, attr_name="userId")
    owner = UnicodeAttribute()


class BucketsModel(Model):
    """A user's hourly buckets of one kind (cgm, bgm), packed in one item: a summary costs
    one read and one write, not one per hour."""

    class Meta:
        table_name = "BucketsTable"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    kind = UnicodeAttribute(range_key=True)
    packed = BinaryAttribute(null=True, legacy_encoding=False)
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
    by_member = ClinicByMember()


class DonationModel(Model):
    class Meta:
        table_name = "DonationsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = JSONAttribute(null=True)


# Each model and the Settings field that names its table.
TABLE_SETTINGS: dict[type[Model], str] = {
    DatumModel: "datums_table",
    DatasetModel: "datasets_table",
    AccountModel: "accounts_table",
    NightscoutSecretModel: "accounts_table",
    BucketsModel: "buckets_table",
    ClinicModel: "clinics_table",
    DonationModel: "donations_table",
}
MODELS = tuple(TABLE_SETTINGS)


def bind(settings: Settings) -> None:
    """Point every model at the tables `settings` names, in `settings.region`."""
    for model, field in TABLE_SETTINGS.items():
        model.Meta.table_name = getattr(settings, field)
        model.Meta.region = settings.region
        model._connection = None  # a connection remembers its table name
