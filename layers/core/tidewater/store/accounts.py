"""Accounts: profile, summary and the out-of-date marker the summariser works from."""

from __future__ import annotations

import heapq
from collections.abc import Collection
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from tidewater.domain.accounts import Finished, Listing, OutdatedAccount, Profile, SummaryWork
from tidewater.domain.errors import Conflict, NotFound
from tidewater.domain.outdated import MAX_TOUCHED
from tidewater.store import keys
from tidewater.store.conditions import condition_failed
from tidewater.store.models import AccountModel, NightscoutSecretModel
from tidewater.store.overload import unavailable_when_busy


def session_ids(entries: Collection[str] | None) -> dict[str, str]:
    """Session id -> its entry in the account's `sessionIds` (`<ends at>:<id>`)."""
    return {entry.partition(":")[2]: entry for entry in entries or ()}


def _dated_summary(item: AccountModel) -> dict[str, Any]:
    """The stored summary with its `dates` (those it has)."""
    # The summary engine's package is loaded by the first summary read, not by every
    # function that keeps accounts (sign-up, login and uploads read none).
    from tidewater.domain.summary import last_data

    summary = dict(item.summary or {})
    dates = {
        "lastData": last_data(summary),
        "lastUpdatedDate": item.summary_updated,
        "outdatedSince": item.outdated_since,
    }
    summary["dates"] = {k: v for k, v in dates.items() if v}
    return summary


@unavailable_when_busy
class AccountsRepository:
    def __init__(self, region: str) -> None:
        self.region = region

    def create(self, profile: Profile) -> None:
        """A new account; Conflict if the id is taken (ids are short and random)."""
        item = AccountModel(
            profile.user_id,
            profile={
                "fullName": profile.full_name,
                "role": profile.role,
                "createdTime": profile.created_time,
            },
        )
        try:
            item.save(condition=AccountModel.user_id.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise Conflict("account id taken", code="id-taken") from None
            raise

    def delete(self, user_id: str) -> None:
        AccountModel(user_id).delete()

    def active(self, user_id: str, session_id: str | None = None) -> bool:
        """Does the account exist, with no deletion under way, and, for a session token
        that names its session, is that session still open? (The authorizer asks it of
        every session, in one GetItem: an ID token stays valid for its hour after the
        account is gone or the session was ended at logout.)"""
        try:
            item = AccountModel.get(
                user_id, attributes_to_get=["userId", "accountState", "sessionIds"]
            )
        except AccountModel.DoesNotExist:
            return False
        if item.account_state is not None:
            return False
        return session_id is None or session_id in session_ids(item.session_ids)

    def erasure_facts(self, user_id: str) -> tuple[str | None, frozenset[str]]:
        """What an account deletion needs of the account: its Nightscout secret's digest and
        the clinics it shares with (nothing once the account item is gone)."""
        try:
            item = AccountModel.get(
                user_id, attributes_to_get=["userId", "nightscoutDigest", "clinicIds"]
            )
        except AccountModel.DoesNotExist:
            return None, frozenset()
        return item.nightscout_digest, frozenset(item.clinic_ids or ())

    def delete_nightscout_secret(self, user_id: str, digest: str) -> bool:
        """Delete the secret item of `digest` if it is the user's; True if one was deleted."""
        try:
            NightscoutSecretModel(keys.nightscout_secret_key(digest)).delete(
                condition=NightscoutSecretModel.owner == user_id
            )
        except DeleteError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def profile(self, user_id: str) -> Profile:
        try:
            item = AccountModel.get(user_id, attributes_to_get=["userId", "profile"])
        except AccountModel.DoesNotExist:
            raise NotFound("no such user") from None
        stored = item.profile.as_dict() if item.profile else {}
        return Profile(
            user_id,
            str(stored.get("fullName", "")),
            str(stored.get("role", "")),
            str(stored.get("createdTime", "")),
        )

    def set_role(self, user_id: str, role: str) -> bool:
        """The role the account's profile shows (and `add_clinician` checks) becomes the one
        the operator granted; one conditional UpdateItem, no write when it is that already.
        True if it changed; NotFound for no such account."""
        stored: Any = AccountModel.profile["role"]  # a path into the map (typed as its values)
        try:
            AccountModel(user_id).update(
                actions=[stored.set(str(role))],
                condition=AccountModel.user_id.exists() & (stored != role),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            if not self._exists(user_id):
                raise NotFound("no such user") from None
            return False
        return True

    @staticmethod
    def _exists(user_id: str) -> bool:
        try:
            AccountModel.get(user_id, attributes_to_get=["userId"])
        except AccountModel.DoesNotExist:
            return False
        return True

    def listing(self, user_id: str) -> Listing:
        try:
            item = AccountModel.get(
                user_id, attributes_to_get=["userId", "profile", "summary", "clinicIds"]
            )
        except AccountModel.DoesNotExist:
            raise NotFound("no such user") from None
        profile = item.profile.as_dict() if item.profile else {}
        return Listing(
            str(profile.get("fullName", "")), item.summary, frozenset(item.clinic_ids or ())
        )

    def set_nightscout_secret(self, user_id: str, digest: str) -> None:
        """Replace the user's Nightscout secret, atomically: the old one stops working."""
        try:
            account = AccountModel.get(user_id, attributes_to_get=["userId", "nightscoutDigest"])
        except AccountModel.DoesNotExist:
            raise NotFound("no such user") from None
        with TransactWrite(connection=Connection(region=self.region)) as tx:
            if account.nightscout_digest and account.nightscout_digest != digest:
                tx.delete(
                    NightscoutSecretModel(keys.nightscout_secret_key(account.nightscout_digest))
                )
            tx.save(NightscoutSecretModel(keys.nightscout_secret_key(digest), owner=user_id))
            tx.update(
                AccountModel(user_id),
                actions=[AccountModel.nightscout_digest.set(digest)],
                condition=AccountModel.user_id.exists(),
            )

    def has_nightscout_secret(self, user_id: str) -> bool:
        """Whether the user has set a Nightscout secret (never the secret or its digest)."""
        try:
            item = AccountModel.get(user_id, attributes_to_get=["userId", "nightscoutDigest"])
        except AccountModel.DoesNotExist:
            raise NotFound("no such user") from None
        return bool(item.nightscout_digest)

    def nightscout_owner(self, digest: str) -> str | None:
        try:
            return NightscoutSecretModel.get(keys.nightscout_secret_key(digest)).owner
        except NightscoutSecretModel.DoesNotExist:
            return None

    def mark_outdated(
        self, user_id: str, now: str, reason: str, touched: Collection[str] = ()
    ) -> None:
        """Mark the account's summary out of date, in one UpdateItem whatever the number of
        datums: `outdatedSince` keeps an older value, the reason and the touched periods are
        added to string sets (a union: concurrent uploads merge), `outdatedVersion` counts
        the marks. If the periods would outgrow `MAX_TOUCHED`, a second update sets
        `touchedAll` instead."""
        base: list[Action] = [
            AccountModel.outdated_since.set(AccountModel.outdated_since | now),
            AccountModel.outdated_shard.set(keys.outdated_shard(user_id)),
            AccountModel.outdated_reasons.add({reason}),
            AccountModel.outdated_version.add(1),
        ]
        if not touched:
            AccountModel(user_id).update(actions=base)
            return
        room = MAX_TOUCHED - len(touched)
        try:
            AccountModel(user_id).update(
                actions=[*base, AccountModel.touched.add(set(touched))],
                condition=AccountModel.touched.does_not_exist()
                | (size(AccountModel.touched) <= room),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            AccountModel(user_id).update(actions=[*base, AccountModel.touched_all.set(True)])

    def begin_summary(self, user_id: str, now_ms: int, lease_ms: int) -> SummaryWork | None:
        """Take the account's summary lease and read what the summariser needs, in one
        UpdateItem; None when another summariser holds it or the account is up to date."""
        try:
            answer = _update(
                user_id,
                [AccountModel.summary_lease.set(now_ms + lease_ms)],
                condition=AccountModel.outdated_since.exists()
                & AccountModel.account_state.does_not_exist()  # an account being deleted
                & (
                    AccountModel.summary_lease.does_not_exist()
                    | (AccountModel.summary_lease < now_ms)
                ),
                returned="ALL_NEW",
            )
        except UpdateError as error:
            if condition_failed(error):
                return None
            raise
        # Only what the work needs is read into the model: the stored summary, most of the
        # item, comes back too and is left as botocore parsed it.
        loaded = AccountModel(user_id)
        loaded.deserialize({k: v for k, v in answer["Attributes"].items() if k in _WORK})
        profile = loaded.profile.as_dict() if loaded.profile else {}
        return SummaryWork(
            user_id=user_id,
            lease=now_ms + lease_ms,
            version=int(loaded.outdated_version) if loaded.outdated_version is not None else None,
            touched=frozenset(loaded.touched or ()),
            touched_all=bool(loaded.touched_all),
            full_name=str(profile.get("fullName", "")),
            clinic_ids=frozenset(loaded.clinic_ids or ()),
        )

    def finish_summary(
        self, work: SummaryWork, summary: dict[str, Any] | None, now: str
    ) -> Finished:
        """Store the summary and release the lease. The account is marked up to date only if
        no upload marked it meanwhile (`outdatedVersion` unchanged); otherwise it stays
        outdated, its touched periods all kept, for the next iteration."""
        store = AccountModel.summary.set(summary) if summary else AccountModel.summary.remove()
        done: list[Action] = [
            store,
            AccountModel.summary_updated.set(now),
            AccountModel.summary_lease.remove(),
        ]
        mine = AccountModel.summary_lease == work.lease
        unchanged = (
            AccountModel.outdated_version == work.version
            if work.version is not None
            else AccountModel.outdated_version.does_not_exist()
        )
        clear: list[Action] = [
            AccountModel.outdated_since.remove(),
            AccountModel.outdated_shard.remove(),
            AccountModel.outdated_reasons.remove(),
            AccountModel.touched.remove(),
            AccountModel.touched_all.remove(),
        ]
        try:
            _update(work.user_id, [*done, *clear], mine & unchanged)
            return Finished.UP_TO_DATE
        except UpdateError as error:
            if not condition_failed(error):
                raise
        # Marked meanwhile: the touched periods stay as they are (an upload may have touched a
        # period already in the set, which a set union cannot show), to be read again.
        try:
            _update(work.user_id, done, mine)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            return Finished.LEASE_LOST  # another summariser took over: its result stands
        return Finished.STILL_OUTDATED

    def summary(self, user_id: str) -> dict[str, Any]:
        """The stored summary with its dates (GET /v1/users/{userId}/summary)."""
        try:
            item = AccountModel.get(
                user_id, attributes_to_get=["userId", "summary", "summaryUpdated", "outdatedSince"]
            )
        except AccountModel.DoesNotExist:
            raise NotFound("no such user") from None
        return _dated_summary(item)

    def summaries(self, user_ids: Collection[str]) -> dict[str, tuple[Profile, dict[str, Any]]]:
        """Profiles and stored summaries (with their dates, as `summary` has them) of many
        accounts: BatchGetItem, 100 keys a request (a page of a clinic's patients)."""
        from tidewater.store.batch import BatchWriter  # the accounts store needs it only here

        items = BatchWriter(AccountModel).get_items(
            AccountModel,
            [(user_id, None) for user_id in user_ids],  # type: ignore[misc]
            attributes=["userId", "profile", "summary", "summaryUpdated", "outdatedSince"],
        )
        found: dict[str, tuple[Profile, dict[str, Any]]] = {}
        for item in items:
            stored = item.profile.as_dict() if item.profile else {}
            profile = Profile(
                item.user_id,
                str(stored.get("fullName", "")),
                str(stored.get("role", "")),
                str(stored.get("createdTime", "")),
            )
            found[item.user_id] = (profile, _dated_summary(item))
        return found

    def oldest_outdated(self, limit: int, now: str) -> list[OutdatedAccount]:
        """The `limit` accounts outdated longest (outdatedSince <= now), oldest first: one
        Query per shard of the sparse `outdated` index, merged."""
        per_shard = [
            [
                OutdatedAccount(item.user_id, item.outdated_since or "")
                for item in AccountModel.outdated_index.query(
                    shard,
                    AccountModel.outdated_since <= now,
                    limit=limit,
                    page_size=limit,
                )
            ]
            for shard in keys.all_outdated_shards()
        ]
        merged = heapq.merge(*per_shard, key=lambda a: (a.outdated_since, a.user_id))
        return list(merged)[:limit]


# What `begin_summary` reads of the account it leases.
_WORK = frozenset(
    a.attr_name
    for a in (
        AccountModel.user_id,
        AccountModel.profile,
        AccountModel.outdated_version,
        AccountModel.touched,
        AccountModel.touched_all,
        AccountModel.clinic_ids,
    )
)


def _update(
    user_id: str, actions: list[Action], condition: Any, returned: str = "NONE"
) -> dict[str, Any]:
    """An account's UpdateItem on PynamoDB's connection, answering only `returned` (NONE by
    default): `Model.update` always asks for the whole item back and reads all of it into
    the model, the summary map too (some 1.5 ms an account in the summariser)."""
    answer: dict[str, Any] = AccountModel._get_connection().update_item(
        user_id, actions=actions, condition=condition, return_values=returned
    )
    return answer
