"""Every table's batch writes under a bad day at DynamoDB: batches refused for throughput
and items left unprocessed are sent again until all are stored, once each; past the limit
the request is a 503 with Retry-After, never a 500 and never a silent drop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import plain_dynamodb
from tests.integration.ingest_support import ALICE, CLIENT, cbg, event
from tidewater.domain import clinic
from tidewater.domain.datums.pipeline import prepare_batch
from tidewater.domain.errors import Unavailable
from tidewater.domain.summary import Bucket, Buckets
from tidewater.domain.summary.buckets import HOUR_MS, RANGES, window_end
from tidewater.domain.timeutil import format_utc
from tidewater.services import ingest
from tidewater.store.datums import DatumsRepository
from tidewater.store.repos import repositories

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START_MS = 1_795_000_000_000 // HOUR_MS * HOUR_MS


# ---------------------------------------------------------------------- faults, by hook
def throttle(client: Any, operation: str, times: int = 1) -> None:
    """Make the next `times` calls of `operation` fail as DynamoDB does under load."""

    def fail(**_: Any) -> None:
        nonlocal times
        if times > 0:
            times -= 1
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
            raise ClientError({"Error": error}, operation)

    client.meta.events.register(f"before-call.dynamodb.{operation}", fail)


def leave_unprocessed(client: Any, times: int) -> None:
    """The next `times` BatchWriteItems store every other item and answer the rest as
    UnprocessedItems, as DynamoDB does when a partition is hot."""
    held: dict[str, list[Any]] = {}

    def hold(params: dict[str, Any], **_: Any) -> None:
        nonlocal times
        held.clear()  # a call refused after this hook ran held nothing
        ((table, requests),) = params["RequestItems"].items()
        if times > 0 and len(requests) > 1:
            times -= 1
            held[table] = requests[1::2]
            params["RequestItems"] = {table: requests[0::2]}

    def answer(parsed: dict[str, Any], **_: Any) -> None:
        for table, requests in held.items():
            parsed.setdefault("UnprocessedItems", {})[table] = requests
        held.clear()

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", hold)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", answer)


def counted(client: Any) -> list[int]:
    """The number of items of every BatchWriteItem that reaches DynamoDB."""
    sizes: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        sizes.append(sum(len(r) for r in params["RequestItems"].values()))

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", count)
    return sizes


@pytest.fixture
def sleeps() -> list[float]:
    return []


def stormy(writer: Any, sleeps: list[float], refused: int = 3, unprocessed: int = 5) -> list[int]:
    writer.sleep = sleeps.append
    sizes = counted(writer.client)
    throttle(writer.client, "BatchWriteItem", refused)
    leave_unprocessed(writer.client, unprocessed)
    return sizes


# ---------------------------------------------------------------------- each table
def test_datums_are_all_stored_once_through_throttling(aws, sleeps) -> None:
    repo = repositories().datums
    sizes = stormy(repo.writer, sleeps)
    times = [format_utc(NOW - timedelta(minutes=5 * i)) for i in range(60)]
    items = prepare_batch(
        [cbg(t, 100) for t in times], legacy=False, user_id=ALICE.user_id, upload_id="u" * 32,
        now=NOW,
    ).items  # fmt: skip
    assert repo.put_many(items) == 60
    stored = repo.page(ALICE.user_id, ["cbg"], "", "9999", limit=1000).items
    assert sorted(d["time"] for d in stored) == sorted(times)
    assert max(sizes) <= 25 and len(sleeps) >= 5


def test_buckets_are_all_stored_once_through_throttling(aws, sleeps) -> None:
    repo = repositories().buckets
    stormy(repo.writer, sleeps)
    n = len(RANGES)
    days = [START_MS + d * 24 * HOUR_MS for d in range(40)]
    hours = {
        h: Bucket("cgm", h, h, h, 5, (6.0,) * n, (5,) * n, (1,) * n, 0.0, 6.0, 6.0) for h in days
    }
    buckets = Buckets("cgm", hours, max(hours))
    assert repo.save("u-buckets", buckets, {}) == 41  # 40 days and the meta chunk
    loaded, fingerprints = repo.load("u-buckets")
    assert sorted(loaded["cgm"].hours) == sorted(hours)
    assert len(fingerprints["cgm"]) == 41 and sleeps


def test_saving_buckets_writes_only_the_days_that_changed(aws) -> None:
    repo = repositories().buckets
    n = len(RANGES)

    def bucket(h: int, mmol: float = 6.0) -> Bucket:
        return Bucket("cgm", h, h, h, 5, (mmol,) * n, (5,) * n, (1,) * n, 0.0, mmol, mmol)

    hours = {h: bucket(h) for h in range(START_MS, START_MS + 72 * HOUR_MS, HOUR_MS)}
    repo.save("u-days", Buckets("cgm", hours, max(hours)), {})
    loaded, stored = repo.load("u-days")
    newest = max(hours) + HOUR_MS
    update = {**loaded["cgm"].hours, newest: bucket(newest, 7.0)}
    # The new hour's day and the meta chunk, not the three kept days.
    assert repo.save("u-days", Buckets("cgm", update, newest), stored["cgm"]) == 2
    again, _ = repo.load("u-days")
    assert again["cgm"] == Buckets("cgm", update, newest)


def _built(kind: str) -> Buckets:
    """Real buckets of two days of 5-minute CGM or 4-a-day BGM (jittered, every range)."""
    from tidewater.domain.summary import BGM, CGM, Sample, build_buckets

    step, count = (300_000, 576) if kind == "cgm" else (6 * HOUR_MS, 8)
    samples = [
        Sample(START_MS + i * step + (i * 7919) % 4000, v / 18.01559, "mg/dL", v,
               5 if kind == "cgm" else 0, "d", CGM if kind == "cgm" else BGM)
        for i in range(count)
        for v in [40 + (i * 37) % 360]
    ]  # fmt: skip
    return build_buckets(samples, kind)


@pytest.mark.parametrize("kind", ["cgm", "bgm"])
def test_buckets_stored_as_columns_read_back_as_they_were_and_older_days_still_read(
    aws, kind: str
) -> None:
    """Days are written as their columns; they read back as columns (no Bucket made), bit
    for bit. Days written before, as rows or as bucket dicts, read beside them as they did.
    A save of what was read writes only the `meta` (its sums now of the days as they are
    stored), and then nothing."""
    import zlib

    from tidewater.store import buckets as store
    from tidewater.store.models import BucketsModel

    repo = repositories().buckets
    made = _built(kind)
    repo.save("u-days", made, {})
    loaded, stored = repo.load("u-days")
    assert loaded[kind].columns_only
    assert_same_columns(loaded[kind].columns, made.columns)
    assert loaded[kind] == made
    items = {i.chunk: zlib.decompress(i.packed) for i in BucketsModel.query("u-days")}
    days = sorted(k for k in items if not k.endswith(store.META))
    assert len(days) == 3  # two days from 11:00
    assert all(items[day].startswith(store._COLUMNS) for day in days)

    def of_day(chunk: str) -> list[Bucket]:
        day = chunk.split("#")[1]
        return [b for b in made.hours.values() if store._day(b.date - b.date % store.DAY_MS) == day]

    rows, dicts = days[0], days[1]
    BucketsModel(
        "u-days", rows, packed=store._pack({"rows": [b.to_row() for b in of_day(rows)]})
    ).save()
    BucketsModel(
        "u-days", dicts, packed=store._pack({"buckets": [b.to_dict() for b in of_day(dicts)]})
    ).save()
    again, stored = repo.load("u-days")
    assert_same_columns(again[kind].columns, made.columns)
    assert again[kind] == made
    assert again[kind].columns.sums is None  # (the days are not those `meta` summed)
    assert repo.save("u-days", again[kind], stored[kind]) == 1
    after, stored = repo.load("u-days")
    assert after[kind] == made and after[kind].columns.sums is not None
    assert repo.save("u-days", after[kind], stored[kind]) == 0  # nothing changed, nothing written


@pytest.mark.parametrize("kind", ["cgm", "bgm"])
def test_the_window_sums_are_stored_in_meta_and_read_only_with_the_days_they_sum(
    aws, kind: str
) -> None:
    """The window's exact segment sums are stored in the kind's `meta`: read back with the
    very days they were made of, they are a fresh summing's and the periods a full build's.
    A day written without its `meta` (a save cut short), or a `meta` without sums (written
    by a version that kept none), leaves them to be summed again, with the same periods; a
    day as an earlier version stored it (its day sums after the columns) is read too."""
    import json
    import zlib

    from tests.unit.test_summary_properties import exact
    from tidewater.domain.summary import compute_periods, segments
    from tidewater.store import buckets as store
    from tidewater.store.models import BucketsModel

    repo = repositories().buckets
    made = _built(kind)
    periods = compute_periods(made)
    repo.save("u-sums", made, {})
    loaded, _ = repo.load("u-sums")
    read = loaded[kind].columns
    assert made.last_ms is not None and read.sums is not None
    end = window_end(made.last_ms)
    assert exact(read.sums) == exact(segments.sums_of(made.columns, kind == "cgm", end))
    assert compute_periods(loaded[kind]) == periods

    items = {i.chunk: zlib.decompress(i.packed) for i in BucketsModel.query("u-sums")}
    first = sorted(k for k in items if not k.endswith(store.META))[0]
    # The first day rewritten (here as an earlier version wrote days: with its day sums),
    # its `meta` not: the sums are not handed on.
    earlier = b"\x00C2" + items[first][3:] + bytes(8 * 22)
    BucketsModel("u-sums", first, packed=zlib.compress(earlier)).save()
    again, _ = repo.load("u-sums")
    assert again[kind] == made and again[kind].columns.sums is None
    assert compute_periods(again[kind]) == periods

    # A `meta` with the newest time alone (as written before sums were kept).
    BucketsModel("u-sums", first, packed=zlib.compress(items[first])).save()
    meta = f"{kind}#{store.META}"
    BucketsModel("u-sums", meta, packed=store._pack({"lastMs": made.last_ms})).save()
    plain, _ = repo.load("u-sums")
    assert plain[kind] == made and plain[kind].columns.sums is None
    assert compute_periods(plain[kind]) == periods
    assert json.loads(items[meta])["of"]  # (what was stored had its days' fingerprint)

    # A form of day this version does not know is refused, not read as another.
    BucketsModel("u-sums", first, packed=zlib.compress(b"\x00C9" + items[first][3:])).save()
    with pytest.raises(ValueError, match="cannot read"):
        repo.load("u-sums")


def assert_same_columns(got: Any, want: Any) -> None:
    """Bucket columns equal bit for bit: the same dtypes, shapes and bytes."""
    for name in ("hour", "ints", "floats"):
        a, b = getattr(got, name), getattr(want, name)
        assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes()), name


def test_buckets_are_read_in_one_decode_page_by_page_as_botocore_reads_them(
    aws, monkeypatch, parser_walks
) -> None:
    """The buckets' Query answers are decoded in one `json.loads` each, not walked by
    botocore's parser item by item: both kinds read back bucket for bucket, every page of
    them (pages of 3 items here), with the same chunks and packed bytes as botocore's own
    parse of the table gives."""
    from tidewater.store.buckets import _fingerprint
    from tidewater.store.models import BucketsModel

    repo = repositories().buckets
    made = {kind: _built(kind) for kind in ("cgm", "bgm")}
    for buckets in made.values():
        repo.save("u-decoded", buckets, {})
    client = repo.writer.client
    asked: list[dict[str, Any]] = []

    class ThreeAPage:
        meta = client.meta

        def query(self, **query: Any) -> Any:
            asked.append(query)
            return client.query(**query, Limit=3)

    monkeypatch.setattr(repo.writer, "_client", ThreeAPage())
    parser_walks.clear()
    loaded, stored = repo.load("u-decoded")
    assert loaded == made
    assert set(parser_walks) == {"QueryOutput"}  # botocore read empty answers only
    items = plain_dynamodb().query(
        TableName=BucketsModel.Meta.table_name,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": "u-decoded"}},
    )["Items"]
    assert len(asked) == -(-len(items) // 3) >= 3  # every page, and no more
    chunks = {f"{kind}#{day}" for kind, days in stored.items() for day in days}
    assert chunks == {item["chunk"]["S"] for item in items}
    for item in items:
        kind, _, day = item["chunk"]["S"].partition("#")
        assert stored[kind][day] == _fingerprint(item["packed"]["B"])


def test_clinic_rows_are_all_stored_once_through_throttling(aws, sleeps) -> None:
    repo = repositories().clinics
    stormy(repo.writer, sleeps)
    rows = [
        clinic.PatientRow("c-rows", "14d", f"p{i:03d}", {"userId": f"p{i:03d}", "metrics": {}}, {})
        for i in range(60)
    ]  # fmt: skip
    repo.put_rows(rows)
    assert sorted(e["userId"] for e in repo.all_rows("c-rows", "14d")) == [
        f"p{i:03d}" for i in range(60)
    ]


def test_donation_members_are_all_stored_once_through_throttling(aws, sleeps) -> None:
    repo = repositories().donations
    stormy(repo.writer, sleeps)
    members = [(f"donor{i:02d}", f"hash{i:02d}", 1) for i in range(30)]
    repo.add_members(7, "slice-7", members)
    for user_id, hash_text, _ in members:
        ((membership,),) = [repo.memberships(user_id)]
        assert (membership.slice_id, membership.hash) == ("slice-7", hash_text)


WRITES = {
    "buckets": lambda r: r.buckets.save("u-gone", Buckets("cgm", {}, START_MS), {}),
    "clinics": lambda r: r.clinics.put_rows([clinic.PatientRow("c-gone", "14d", "p", {}, {})]),
    "donations": lambda r: r.donations.add_members(8, "slice-8", [("donor", "hash", 1)]),
}


@pytest.mark.parametrize("store", sorted(WRITES))
def test_a_writer_that_gives_up_raises_unavailable(aws, sleeps, store) -> None:
    writer = getattr(repositories(), store).writer
    writer.sleep = sleeps.append
    throttle(writer.client, "BatchWriteItem", times=writer.max_attempts)
    with pytest.raises(Unavailable):
        WRITES[store](repositories())
    assert len(sleeps) == writer.max_attempts - 1


def test_past_the_limit_an_upload_is_a_503_with_retry_after(aws, lambda_context, sleeps) -> None:
    import functions.ingest.app as ingest_app

    repos = repositories()
    dataset = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos)
    datums = DatumsRepository(max_attempts=3, sleep=sleeps.append)
    throttle(datums.client, "BatchWriteItem", times=3)
    original = ingest_app.repositories
    ingest_app.repositories = lambda: repos.replace(datums=datums)  # type: ignore[assignment]
    try:
        built = event("POST", "/v1/datasets/{datasetId}/data", f"/v1/datasets/{dataset.id}/data",
                      params={"datasetId": dataset.id}, body=[cbg(format_utc(NOW))])  # fmt: skip
        response = ingest_app.handler(built, lambda_context)
    finally:
        ingest_app.repositories = original
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "2"
    assert '"unavailable"' in response["body"]


def test_an_update_of_buckets_read_makes_no_bucket_of_the_others_and_writes_one_day(
    aws, monkeypatch
) -> None:
    """Read as columns, updated with a new hour and saved, the buckets of the hours kept are
    never made into Bucket objects, only the days the update needs are read, and only the
    new hour's day (and the meta) is packed and written; what is read again is a full build
    of all the samples."""
    from tidewater.domain.summary import CGM, Sample, build_buckets, update_buckets, vector
    from tidewater.store import buckets as store

    repo = repositories().buckets
    samples = [
        Sample(START_MS + i * 300_000 + (i * 7919) % 4000, v / 18.01559, "mg/dL", v, 5, "d", CGM)
        for i in range(600)
        for v in [40 + (i * 37) % 360]
    ]
    hour = (START_MS + 599 * 300_000) // HOUR_MS * HOUR_MS
    repo.save("u-update", build_buckets([s for s in samples if s.time_ms < hour], CGM), {})
    days_read: list[bytes] = []
    real_read = store._read_day
    monkeypatch.setattr(
        store, "_read_day", lambda kind, packed: days_read.append(packed) or real_read(kind, packed)
    )
    loaded, stored = repo.load("u-update")
    assert days_read == []  # (the hours are in `meta`: no day is read until its rows are)
    made: list[int] = []
    real = vector.to_buckets
    monkeypatch.setattr(vector, "to_buckets", lambda c, k: made.append(len(c.hour)) or real(c, k))
    packed: list[Any] = []
    real_pack = store._pack_day
    monkeypatch.setattr(store, "_pack_day", lambda cols: packed.append(cols) or real_pack(cols))

    def load(a: int, b: int) -> list[Sample]:
        return [s for s in samples if a <= s.time_ms < b]

    updated = update_buckets(loaded["cgm"], [(hour, hour + HOUR_MS)], load)
    assert repo.save("u-update", updated, stored["cgm"]) == 2
    assert made == [] and len(packed) == 1
    # Of the three stored days, the update read the newest (its last bucket's blackout) and
    # the days of the hours its segments pass on: never a day twice.
    assert 1 <= len(days_read) == len(set(days_read)) <= 3
    assert list(packed[0].hour) == [
        h for h in updated.hours if h // 86_400_000 == hour // 86_400_000
    ]
    again, _ = repo.load("u-update")
    assert again["cgm"] == build_buckets(samples, CGM)
    # The sums the update moved on were stored with the day, and are read with it.
    assert again["cgm"].columns.sums is not None
