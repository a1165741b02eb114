"""Data donation's storage: consent, the export's decisions and secret mapping (DynamoDB),
and the published slices and manifest (S3).

The donations table holds, by partition (store/keys.py):
  consent#<userId> / consent   the donor's consent               donations fn, export fn
  donors / <userId>            one item per active consent        donations fn, export fn
  withdrawal / <userId>        a withdrawal not yet applied       donations fn, export fn
  window / <n>                 the decision on window n           export fn only
  member#<userId> / <n>        the donor's hash in that slice     export fn only
Listing donors is one Query on `donors`; a donor's slices one Query on `member#<userId>`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from tidewater.domain import donation
from tidewater.domain.donation import Consent, SliceMembership, SliceRecord, Withdrawal
from tidewater.store import keys
from tidewater.store.batch import BatchWriter
from tidewater.store.conditions import condition_failed
from tidewater.store.models import (
    ConsentModel,
    DonationModel,
    MemberModel,
    SliceModel,
    WithdrawalModel,
)
from tidewater.store.overload import unavailable_when_busy
from tidewater.store.s3_stream import SSE, GzipTextUpload, MultipartStream, s3_client

PRESIGN_SECONDS: Final = 900
Member = tuple[str, str, int]  # userId, hash, consent generation
NULL_VERSION: Final = "null"  # S3's name for the version of an object in an unversioned bucket


def _slice_record(item: SliceModel) -> SliceRecord:
    body = item.body or {}
    return SliceRecord(
        index=int(item.sk),
        slice_id=item.slice_id,
        state=item.state,
        claimed_time=item.claimed_time,
        rows=int(body.get("rows", 0)),
        donors=int(body.get("donors", 0)),
        start=str(body.get("start", "")),
        end=str(body.get("end", "")),
    )


@unavailable_when_busy
class DonationsRepository:
    def __init__(self, region: str, writer: BatchWriter | None = None) -> None:
        self.region = region
        self.writer = writer or BatchWriter(MemberModel)

    # ------------------------------------------------------------------ consent
    def _consent_item(self, user_id: str) -> ConsentModel | None:
        try:
            return ConsentModel.get(
                keys.donation_consent_pk(user_id), keys.DONATION_CONSENT_SK, consistent_read=True
            )
        except ConsentModel.DoesNotExist:
            return None

    def consent(self, user_id: str) -> Consent:
        item = self._consent_item(user_id)
        if item is None:
            return Consent(False)
        return Consent(item.consent, item.consented_time, item.withdrawn_time)

    def give_consent(self, user_id: str, now: str) -> Consent:
        """Consent from `now` on, as a new generation, and the donor on the donor list; a
        no-op if given already. Conditional on what was read: of two racing changes, one
        wins and the other returns its outcome."""
        current = self._consent_item(user_id)
        if current is not None and current.consent:
            return self.consent(user_id)
        generation = (int(current.generation) if current else 0) + 1
        record = ConsentModel(keys.donation_consent_pk(user_id), keys.DONATION_CONSENT_SK)
        condition = (
            ConsentModel.pk.does_not_exist()
            if current is None
            else (ConsentModel.consent == False)  # noqa: E712 - a DynamoDB condition
            & (ConsentModel.generation == current.generation)
        )

        def write(tx: TransactWrite) -> None:
            actions: list[Action] = [ConsentModel.consent.set(True),
                                     ConsentModel.consented_time.set(now),
                                     ConsentModel.withdrawn_time.remove(),
                                     ConsentModel.generation.set(generation)]  # fmt: skip
            tx.update(record, actions=actions, condition=condition)
            donor = DonationModel(keys.DONATION_DONORS, user_id, body={"generation": generation})
            tx.save(donor)

        self._transact(write)
        return self.consent(user_id)

    def withdraw_consent(self, user_id: str, now: str) -> Consent:
        """Consent withdrawn: off the donor list (no later slice) and a withdrawal queued
        for the export function, which alone may rewrite the slices already published."""
        current = self._consent_item(user_id)
        if current is None or not current.consent:
            return self.consent(user_id)
        record = ConsentModel(keys.donation_consent_pk(user_id), keys.DONATION_CONSENT_SK)
        condition = (ConsentModel.consent == True) & (  # noqa: E712 - a DynamoDB condition
            ConsentModel.generation == current.generation
        )

        def write(tx: TransactWrite) -> None:
            actions: list[Action] = [ConsentModel.consent.set(False),
                                     ConsentModel.withdrawn_time.set(now)]  # fmt: skip
            tx.update(record, actions=actions, condition=condition)
            tx.delete(DonationModel(keys.DONATION_DONORS, user_id))
            tx.save(WithdrawalModel(keys.DONATION_WITHDRAWALS, user_id, requested_time=now,
                                    generation=current.generation))  # fmt: skip

        self._transact(write)
        return self.consent(user_id)

    def erase_donor(self, user_id: str, now: str) -> bool:
        """An account being deleted: its consent and place on the donor list go, and a
        withdrawal of every generation is queued for the export function, which alone may
        take the donor's rows out of published slices (the withdrawal's own path). One
        transaction; True if there was a consent to erase."""
        current = self._consent_item(user_id)
        if current is None:
            return False
        record = ConsentModel(keys.donation_consent_pk(user_id), keys.DONATION_CONSENT_SK)

        def write(tx: TransactWrite) -> None:
            tx.delete(record, condition=ConsentModel.generation == current.generation)
            tx.delete(DonationModel(keys.DONATION_DONORS, user_id))
            tx.save(WithdrawalModel(keys.DONATION_WITHDRAWALS, user_id, requested_time=now,
                                    generation=current.generation))  # fmt: skip

        self._transact(write)
        return True

    def withdrawal_pending(self, user_id: str) -> bool:
        """Has the export function still to apply a withdrawal of this donor?"""
        try:
            WithdrawalModel.get(
                keys.DONATION_WITHDRAWALS, user_id, consistent_read=True, attributes_to_get=["sk"]
            )
        except WithdrawalModel.DoesNotExist:
            return False
        return True

    def _transact(self, write: Callable[[TransactWrite], None]) -> None:
        """One transaction; a failed condition (a concurrent change won) is not an error."""
        try:
            with TransactWrite(connection=Connection(region=self.region)) as tx:
                write(tx)
        except TransactWriteError as error:
            if not condition_failed(error):
                raise

    def donors(self) -> Iterator[tuple[str, int]]:
        """(userId, consent generation) of every active consent, page by page: one Query,
        strongly consistent, so that a withdrawal made before it is always seen."""
        for item in DonationModel.query(keys.DONATION_DONORS, consistent_read=True):
            yield item.sk, int((item.body or {}).get("generation", 0))

    # ------------------------------------------------------------------ withdrawals
    def pending_withdrawals(self) -> list[Withdrawal]:
        return [
            Withdrawal(item.sk, item.requested_time, int(item.generation))
            for item in WithdrawalModel.query(keys.DONATION_WITHDRAWALS, consistent_read=True)
        ]

    def finish_withdrawal(self, withdrawal: Withdrawal) -> None:
        """Forget a withdrawal once applied, unless a newer one replaced it meanwhile."""
        item = WithdrawalModel(keys.DONATION_WITHDRAWALS, withdrawal.user_id)
        try:
            item.delete(condition=WithdrawalModel.generation == withdrawal.generation)
        except DeleteError as error:  # a newer withdrawal stays for the next run
            if not condition_failed(error):
                raise

    # ------------------------------------------------------------------ the secret mapping
    def add_members(self, index: int, slice_id: str, members: Iterable[Member]) -> None:
        """Record (userId, hash, generation) of every donor of a slice (BatchWriteItem)."""
        sk = keys.donation_window_sk(index)
        self.writer.save_and_delete(
            MemberModel(keys.donation_member_pk(user_id), sk, slice_id=slice_id, hash=hash_text,
                        generation=generation)
            for user_id, hash_text, generation in members
        )  # fmt: skip

    def memberships(self, user_id: str) -> list[SliceMembership]:
        return [
            SliceMembership(int(item.sk), item.slice_id, item.hash, int(item.generation))
            for item in MemberModel.query(keys.donation_member_pk(user_id), consistent_read=True)
        ]

    def forget_membership(self, user_id: str, index: int) -> None:
        MemberModel(keys.donation_member_pk(user_id), keys.donation_window_sk(index)).delete()

    # ------------------------------------------------------------------ windows
    def window(self, index: int) -> SliceRecord | None:
        try:
            item = SliceModel.get(
                keys.DONATION_WINDOWS, keys.donation_window_sk(index), consistent_read=True
            )
        except SliceModel.DoesNotExist:
            return None
        return _slice_record(item)

    def claim_window(self, record: SliceRecord, stale: SliceRecord | None = None) -> bool:
        """Claim an undecided window for this run (conditional put): False if it is decided
        or another run holds it. `stale` is an abandoned claim, or a window withheld below k
        that is decided again, which this run takes over."""
        item = SliceModel(keys.DONATION_WINDOWS, keys.donation_window_sk(record.index),
                          slice_id=record.slice_id, state=record.state,
                          claimed_time=record.claimed_time)  # fmt: skip
        if stale is None:
            condition = SliceModel.pk.does_not_exist()
        else:
            condition = (SliceModel.state == stale.state) & (
                SliceModel.claimed_time == stale.claimed_time
            )
        try:
            item.save(condition=condition)
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def decide_window(self, record: SliceRecord) -> None:
        """Record the window's outcome and, if published, the slice's public facts."""
        body = {"rows": record.rows, "donors": record.donors, "start": record.start,
                "end": record.end}  # fmt: skip
        SliceModel(keys.DONATION_WINDOWS, keys.donation_window_sk(record.index),
                   slice_id=record.slice_id, state=record.state,
                   claimed_time=record.claimed_time, body=body).save()  # fmt: skip

    def withheld_any(self) -> bool:
        """Has any window with donated data been withheld below k donors, or dropped below
        k? (The manifest's reason when it lists no slice.) One Query on `window`."""
        for item in SliceModel.query(
            keys.DONATION_WINDOWS,
            filter_condition=SliceModel.state.is_in(donation.WITHHELD, donation.DROPPED),
            consistent_read=True,
        ):
            if item.state == donation.DROPPED or int((item.body or {}).get("donors", 0)):
                return True
        return False

    def published(self) -> list[SliceRecord]:
        """Every published slice: one Query on the `window` partition (a few a week)."""
        return [
            _slice_record(item)
            for item in SliceModel.query(
                keys.DONATION_WINDOWS,
                filter_condition=SliceModel.state == donation.PUBLISHED,
                consistent_read=True,
            )
        ]


@unavailable_when_busy
class SlicesBucket:
    """The donations bucket: `slices/<sliceId>.csv.gz` and `manifest.json`."""

    def __init__(self, bucket: str, region: str) -> None:
        self.bucket = bucket
        self.region = region
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.region)
        return self._client

    @contextmanager
    def gzip_upload(self, key: str) -> Iterator[GzipTextUpload]:
        """Stream gzip-compressed text to `key`; completed on a normal exit, aborted (no
        object, no parts left behind) on an exception."""
        stream = MultipartStream(self.client, self.bucket, key, "application/gzip")
        upload = GzipTextUpload(stream)
        try:
            yield upload
            upload.close()
            stream.complete()
        except BaseException:
            stream.abort()
            raise

    @contextmanager
    def gzip_lines(self, key: str, version_id: str | None = None) -> Iterator[Iterator[str]]:
        """The lines of a gzip text object, streamed (one version, if given)."""
        extra = {"VersionId": version_id} if version_id and version_id != NULL_VERSION else {}
        body = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        try:
            with gzip.GzipFile(fileobj=body, mode="rb") as unzipped:
                yield iter(io.TextIOWrapper(unzipped, encoding="utf-8", newline="\n"))
        finally:
            body.close()

    def current_version(self, key: str) -> str | None:
        """The version id of the object (`null` in an unversioned bucket); None if none."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head.get("VersionId") or NULL_VERSION

    def delete_versions(self, key: str, keep: str | None = None) -> int:
        """Delete every version (and delete marker) of `key` but `keep`: a rewritten slice
        must not survive as an old version with a withdrawn donor's rows in it."""
        doomed: list[dict[str, str]] = []
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=key
        )
        for page in pages:
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if entry["Key"] == key and entry["VersionId"] != keep:
                    doomed.append({"Key": key, "VersionId": entry["VersionId"]})
        for start in range(0, len(doomed), 1000):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True}
            )
        return len(doomed)

    def put_manifest(self, document: dict[str, Any]) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=keys.DONATION_MANIFEST_OBJECT,
            Body=json.dumps(document, separators=(",", ":")).encode(),
            ContentType="application/json",
            CacheControl="no-cache",
            ServerSideEncryption=SSE,
        )

    def manifest(self) -> dict[str, Any] | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=keys.DONATION_MANIFEST_OBJECT)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        loaded: dict[str, Any] = json.loads(answer["Body"].read())
        return loaded

    def presigned_get(self, key: str, seconds: int = PRESIGN_SECONDS) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
        )
        return url
