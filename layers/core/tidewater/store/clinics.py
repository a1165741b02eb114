"""Clinics, their clinicians and patients, share codes, and the clinics' patient lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from tidewater.domain import clinic
from tidewater.domain.errors import BadRequest, Conflict, NotFound
from tidewater.store import keys
from tidewater.store.batch import BatchWriter
from tidewater.store.conditions import condition_failed
from tidewater.store.models import AccountModel, ClinicModel, ClinicPatientModel, sort_index
from tidewater.store.overload import unavailable_when_busy


@dataclass(frozen=True)
class ShareCode:
    """What a single-use share code opens: a patient's lets a clinic add that patient, a
    clinic's lets a patient join that clinic. One of the two is set."""

    user_id: str = ""
    clinic_id: str = ""


@dataclass(frozen=True)
class Membership:
    clinic_id: str
    user_id: str
    admin: bool


# The most rows a sort by a metric without an index may read and sort in memory: a page of
# such a list costs up to 5 Queries (rows of ~2.5 KB, 1 MB a Query; bench/clinic_bench.py).
UNINDEXED_SORT_MAX = 2000


@unavailable_when_busy
class ClinicsRepository:
    def __init__(self, region: str = "us-east-1", writer: BatchWriter | None = None) -> None:
        self.region = region
        self.writer = writer or BatchWriter(ClinicPatientModel)

    # ------------------------------------------------------------------ clinics and members
    def create(self, clinic_id: str, body: dict[str, Any], admin_id: str) -> None:
        """A clinic and its first clinician, an admin, in one transaction."""
        with TransactWrite(connection=Connection(region=self.region)) as tx:
            tx.save(
                ClinicModel(clinic_id, keys.CLINIC_RECORD, body=body),
                condition=ClinicModel.clinic_id.does_not_exist(),
            )
            tx.save(
                self._member(
                    clinic_id, keys.clinic_clinician_sk(admin_id), admin_id, {"admin": True}
                )
            )

    @staticmethod
    def _member(clinic_id: str, sk: str, user_id: str, body: dict[str, Any]) -> ClinicModel:
        return ClinicModel(clinic_id, sk, member_id=user_id, body=body)

    def get(self, clinic_id: str) -> dict[str, Any]:
        try:
            item = ClinicModel.get(clinic_id, keys.CLINIC_RECORD)
        except ClinicModel.DoesNotExist:
            raise NotFound("no such clinic") from None
        return {"id": clinic_id, **(item.body or {})}

    def membership(self, clinic_id: str, user_id: str) -> Membership | None:
        """The caller's clinician membership of a clinic: one GetItem."""
        try:
            item = ClinicModel.get(clinic_id, keys.clinic_clinician_sk(user_id))
        except ClinicModel.DoesNotExist:
            return None
        return Membership(clinic_id, user_id, bool((item.body or {}).get("admin")))

    def add_clinician(self, clinic_id: str, user_id: str, admin: bool = False) -> None:
        sk = keys.clinic_clinician_sk(user_id)
        self._member(clinic_id, sk, user_id, {"admin": admin}).save()

    def remove_clinician(self, clinic_id: str, user_id: str) -> None:
        ClinicModel(clinic_id, keys.clinic_clinician_sk(user_id)).delete()

    def admins(self, clinic_id: str) -> list[str]:
        prefix = keys.CLINIC_CLINICIAN
        return [
            item.member_id or ""
            for item in ClinicModel.query(clinic_id, ClinicModel.sk.startswith(prefix))
            if (item.body or {}).get("admin")
        ]

    # ------------------------------------------------------------------ patients
    def is_patient(self, clinic_id: str, user_id: str) -> bool:
        try:
            ClinicModel.get(clinic_id, keys.clinic_patient_sk(user_id), attributes_to_get=["sk"])
        except ClinicModel.DoesNotExist:
            return False
        return True

    def add_patient(
        self,
        clinic_id: str,
        user_id: str,
        rows: list[clinic.PatientRow],
        share_code: str,
        now: int,
    ) -> None:
        """Share: the share code used up, the membership, the account's list of clinics (the
        summariser reads it) and the patient's rows in the clinic's lists, together. The code
        goes by a conditional delete in the same transaction: of two requests with one code,
        one shares and the other gets Conflict `share-code-used`, and a share that fails
        leaves the code as it was."""
        try:
            self._add_patient(clinic_id, user_id, rows, share_code, now)
        except TransactWriteError as error:
            if condition_failed(error, item=0):  # the share code's delete
                raise Conflict(
                    "the share code was used or has expired", code="share-code-used"
                ) from None
            raise

    def _add_patient(
        self,
        clinic_id: str,
        user_id: str,
        rows: list[clinic.PatientRow],
        share_code: str,
        now: int,
    ) -> None:
        with TransactWrite(connection=Connection(region=self.region)) as tx:
            tx.delete(  # first: its cancellation reason is the first (see add_patient)
                ClinicModel(keys.share_code(share_code), keys.CLINIC_RECORD),
                condition=ClinicModel.clinic_id.exists()
                & (ClinicModel.expires_at.does_not_exist() | (ClinicModel.expires_at > now)),
            )
            tx.save(self._member(clinic_id, keys.clinic_patient_sk(user_id), user_id, {}))
            tx.update(
                AccountModel(user_id),
                actions=[AccountModel.clinic_ids.add({clinic_id})],
                condition=AccountModel.user_id.exists(),
            )
            for row in rows:
                tx.save(self._row(row))

    def remove_patient(self, clinic_id: str, user_id: str) -> None:
        with TransactWrite(connection=Connection(region=self.region)) as tx:
            tx.delete(ClinicModel(clinic_id, keys.clinic_patient_sk(user_id)))
            tx.update(AccountModel(user_id), actions=[AccountModel.clinic_ids.delete({clinic_id})])
            for period in clinic.PERIODS:
                tx.delete(ClinicPatientModel(keys.clinic_period(clinic_id, period), user_id))

    def clinician_of_patient(self, clinician_id: str, patient_id: str) -> bool:
        """Is `clinician_id` a member of a clinic `patient_id` shares with? Two Queries on
        the `byMember` index, whatever the number of clinics or patients."""
        patient_in = self._clinics_of(patient_id, keys.CLINIC_PATIENT)
        return bool(patient_in) and not patient_in.isdisjoint(
            self._clinics_of(clinician_id, keys.CLINIC_CLINICIAN)
        )

    def clinics_of(self, clinician_id: str) -> set[str]:
        """The clinics a clinician is a member of (one Query on `byMember`)."""
        return self._clinics_of(clinician_id, keys.CLINIC_CLINICIAN)

    def clinics_of_patient(self, patient_id: str) -> list[dict[str, Any]]:
        """The clinics a patient shares with, `{"id", "name"}` each: one Query on `byMember`
        and a BatchGetItem of the clinics' records."""
        ids = sorted(self._clinics_of(patient_id, keys.CLINIC_PATIENT))
        records = self.writer.get_items(ClinicModel, [(cid, keys.CLINIC_RECORD) for cid in ids])
        names = {item.clinic_id: str((item.body or {}).get("name", "")) for item in records}
        return [{"id": cid, "name": names.get(cid, "")} for cid in ids]

    def memberships_of(
        self, member_id: str, *, as_patient: bool
    ) -> list[tuple[str, dict[str, Any]]]:
        """(clinic id, membership body) of each clinic the member is a patient (or a
        clinician) of: one Query on `byMember` (keys only), one BatchGetItem of the items."""
        prefix = keys.CLINIC_PATIENT if as_patient else keys.CLINIC_CLINICIAN
        found = [
            (item.clinic_id, item.sk)
            for item in ClinicModel.by_member.query(member_id)
            if item.sk.startswith(prefix)
        ]
        return sorted(
            (item.clinic_id, dict(item.body or {}))
            for item in self.writer.get_items(ClinicModel, found)
        )

    def records(self, clinic_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The clinics' records by id (BatchGetItem, 100 a request)."""
        found = self.writer.get_items(ClinicModel, [(c, keys.CLINIC_RECORD) for c in clinic_ids])
        return {item.clinic_id: {"id": item.clinic_id, **(item.body or {})} for item in found}

    def patient_count(self, clinic_id: str) -> int:
        """How many patients share with the clinic: a COUNT Query on its membership items
        (small: keys and an empty body)."""
        return int(ClinicModel.count(clinic_id, ClinicModel.sk.startswith(keys.CLINIC_PATIENT)))

    def matching_count(self, clinic_id: str, query: clinic.PatientQuery) -> int:
        """How many of the clinic's patients the query's filters and search keep: one Query
        on the period's rows (read whole: the filters may be on any metric)."""
        cp = keys.clinic_period(clinic_id, query.period)
        return sum(1 for item in ClinicPatientModel.query(cp) if _passes(item, query))

    def _clinics_of(self, member_id: str, prefix: str) -> set[str]:
        return {
            item.clinic_id
            for item in ClinicModel.by_member.query(member_id)
            if item.sk.startswith(prefix)
        }

    def forget_member(self, user_id: str, clinic_ids: Iterable[str] = ()) -> int:
        """Delete everything of the user in every clinic: memberships (patient, clinician),
        share codes (all on `byMember`) and the patient's list rows of every period, in the
        clinics found and in `clinic_ids` (the account's own list). How many items went."""
        found = [(item.clinic_id, item.sk) for item in ClinicModel.by_member.query(user_id)]
        clinics = set(clinic_ids) | {
            clinic_id for clinic_id, sk in found if sk == keys.clinic_patient_sk(user_id)
        }
        rows = [
            (keys.clinic_period(clinic_id, period), user_id)
            for clinic_id in sorted(clinics)
            for period in clinic.PERIODS
        ]
        self.writer.save_and_delete(deletes=[ClinicModel(clinic_id, sk) for clinic_id, sk in found])
        present = [
            (item.clinic_period, item.user_id)
            for item in self.writer.get_items(
                ClinicPatientModel, rows, attributes=["clinicPeriod", "userId"]
            )
        ]
        self.writer.save_and_delete(
            deletes=[ClinicPatientModel(cp, member) for cp, member in present]
        )
        return len(found) + len(present)

    # ------------------------------------------------------------------ share codes
    def save_share_code(
        self, code: str, owner: ShareCode, created_by: str, expires_at: int
    ) -> None:
        """A new single-use code; Conflict if the code is taken."""
        body = {"userId": owner.user_id} if owner.user_id else {"clinicId": owner.clinic_id}
        item = ClinicModel(
            keys.share_code(code),
            keys.CLINIC_RECORD,
            body=body,
            expires_at=expires_at,
            member_id=created_by,  # on `byMember`, so that deleting the account finds it
        )
        try:
            item.save(condition=ClinicModel.clinic_id.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise Conflict("share code taken", code="code-taken") from None
            raise

    def share_code(self, code: str, now: int) -> ShareCode | None:
        """What a code opens, if it is there (unused) and has not expired (TTL deletion is
        lazy): one GetItem."""
        try:
            item = ClinicModel.get(keys.share_code(code), keys.CLINIC_RECORD)
        except ClinicModel.DoesNotExist:
            return None
        if item.expires_at is not None and item.expires_at <= now:
            return None
        body = item.body or {}
        return ShareCode(str(body.get("userId") or ""), str(body.get("clinicId") or ""))

    # ------------------------------------------------------------------ patient lists
    @staticmethod
    def _row(row: clinic.PatientRow) -> ClinicPatientModel:
        item = ClinicPatientModel(
            keys.clinic_period(row.clinic_id, row.period), row.user_id, entry=row.entry
        )
        for metric in clinic.INDEXED_METRICS:
            value = row.metrics.get(metric.name)
            if value is not None:
                setattr(item, metric.attribute, value)
        return item

    def put_rows(self, rows: list[clinic.PatientRow]) -> None:
        """Write patients' list rows (the batch writer: never silently dropped)."""
        self.writer.save_and_delete([self._row(row) for row in rows])

    def page(
        self, clinic_id: str, query: clinic.PatientQuery, state: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a clinic's patient list, and the state to resume from (None: the end).
        With an `offset` (Tidepool's paging), the same Query reads `offset + limit` rows
        and the first `offset` are dropped; the state resumes after the page."""
        if query.offset and state is None:
            read = replace(query, limit=query.offset + query.limit, offset=0)
            entries, after = self.page(clinic_id, read, None)
            return entries[query.offset :], after
        cp = keys.clinic_period(clinic_id, query.period)
        if clinic.METRICS[query.sort].indexed:
            return self._indexed_page(cp, query, state or {"phase": "index"})
        return self._sorted_in_memory_page(cp, query, state or {"offset": 0})

    def _indexed_page(
        self, cp: str, query: clinic.PatientQuery, start: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Sorted by an indexed metric: a Query on its index, `limit` at a time. Patients
        without the metric are not in the (sparse) index: they follow, from the table."""
        index = sort_index(query.sort)
        metric = clinic.METRICS[query.sort]
        sorted_by = getattr(ClinicPatientModel, metric.attribute)
        missing = sorted_by.does_not_exist()
        on_key = [f for f in query.filters if f.metric == query.sort]
        # Filters on the sort key are its key condition: with no other filter and no search,
        # every row read is on the page (a long page, `offset + limit`, spans 1 MB reads).
        every_row_kept = len(on_key) == len(query.filters) and not query.search
        found: list[dict[str, Any]] = []
        state: dict[str, Any] | None = start
        while state is not None and len(found) < query.limit:
            phase = state["phase"]
            if phase == "index":
                results = index.query(
                    cp,
                    _key_condition(sorted_by, on_key),
                    scan_index_forward=not query.descending,
                    page_size=query.limit,
                    last_evaluated_key=state.get("key"),
                )
            else:
                results = ClinicPatientModel.query(
                    cp,
                    filter_condition=missing,
                    page_size=query.limit,
                    last_evaluated_key=state.get("key"),
                )
            full = False
            for item in results:
                if _passes(item, query):
                    found.append(item.entry)
                    full = len(found) == query.limit
                    if full:
                        break
                    if every_row_kept:  # the next request reads no more than the page needs
                        results.page_iter.page_size = query.limit - len(found)
            last = results.last_evaluated_key
            if full and last is not None:
                state = {"phase": phase, "key": last}
            elif phase == "index" and not on_key and not metric.always_present:
                # Then the patients without the metric (a filter on it excludes them). Whether
                # there are any is not known without reading them: the list may end with an
                # empty page.
                state = {"phase": "missing", "key": None}
            else:
                state = None
        return found, state

    def _sorted_in_memory_page(
        self, cp: str, query: clinic.PatientQuery, state: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A metric without an index of its own: the whole list for the period is read and
        sorted here, for a clinic of at most UNINDEXED_SORT_MAX patients; a larger clinic is
        refused at once (after reading one row more than that), and told which sort keys
        are indexed (docs/data-model.md)."""
        cap = UNINDEXED_SORT_MAX + 1
        rows = list(ClinicPatientModel.query(cp, limit=cap, page_size=cap))
        if len(rows) > UNINDEXED_SORT_MAX:
            raise BadRequest(
                f"`{query.sort}` has no index: lists of more than {UNINDEXED_SORT_MAX:,} "
                "patients sort by one of " + ", ".join(m.name for m in clinic.INDEXED_METRICS),
                code="sort-not-indexed",
                parameter="sort",
            )
        entries = [item.entry for item in rows if _passes(item, query)]
        with_value = [e for e in entries if _entry_metric(e, query.sort) is not None]
        without = [e for e in entries if _entry_metric(e, query.sort) is None]
        with_value.sort(
            key=lambda e: (_entry_metric(e, query.sort), e["userId"]), reverse=query.descending
        )
        ordered = with_value + sorted(without, key=lambda e: e["userId"])
        offset = int(state.get("offset", 0))
        more = offset + query.limit < len(ordered)
        return ordered[offset : offset + query.limit], (
            {"offset": offset + query.limit} if more else None
        )

    def all_rows(self, clinic_id: str, period: str) -> Iterator[dict[str, Any]]:
        """Every patient's entry of a clinic's list for one period (TIDE report)."""
        for item in ClinicPatientModel.query(keys.clinic_period(clinic_id, period)):
            yield item.entry


def _entry_metric(entry: dict[str, Any], metric: str) -> Any:
    return entry.get("metrics", {}).get(metric)


def _passes(item: ClinicPatientModel, query: clinic.PatientQuery) -> bool:
    if query.search and query.search not in str(item.entry.get("fullName", "")).casefold():
        return False
    return all(clinic.matches(_entry_metric(item.entry, f.metric), f) for f in query.filters)


def _key_condition(attribute: Any, filters: list[clinic.Filter]) -> Any:
    """Filters on the sort metric narrow the index's key range (one condition is allowed:
    a lower and an upper bound become BETWEEN; strict bounds are applied in memory too)."""
    if not filters:
        return None
    lower = [f for f in filters if f.op in (">", ">=")]
    upper = [f for f in filters if f.op in ("<", "<=")]
    if lower and upper:
        low, high = max(f.value for f in lower), min(f.value for f in upper)
        return attribute.between(float(low), float(high))
    flt = filters[0]
    # A decimal's shortest float: the same number DynamoDB stores. PynamoDB's attributes
    # overload the comparison operators into conditions.
    return clinic.OPERATORS[flt.op](attribute, float(flt.value))
