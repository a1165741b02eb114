"""The datums repository against moto: batches that DynamoDB leaves half done or refuses
lose nothing, pages resume where the last one ended, and a legacy batch stores the same items in
any order."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import plain_dynamodb
from tests.integration.ingest_support import (
    ALICE,
    BOLUS,
    CLIENT,
    WIZARD,
    Storm,
    basal,
    cbg,
    smbg,
    throttled,
)
from tidewater.domain.datums.pipeline import prepare_batch
from tidewater.domain.errors import Unavailable
from tidewater.domain.identity import Caller, Via
from tidewater.domain.timeutil import format_utc
from tidewater.services import ingest
from tidewater.store.datums import DatumsRepository
from tidewater.store.repos import Repositories, repositories

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def prepared(datums: list[dict[str, Any]], user_id: str = ALICE.user_id) -> list[dict[str, Any]]:
    return prepare_batch(datums, legacy=False, user_id=user_id, upload_id="u" * 32, now=NOW).items


def readings(count: int, start: datetime = NOW - timedelta(days=4)) -> list[dict[str, Any]]:
    return [cbg(format_utc(start + timedelta(minutes=5 * i)), 40 + i % 300) for i in range(count)]


def all_stored(repo: DatumsRepository, user_id: str = ALICE.user_id) -> list[dict[str, Any]]:
    types = ["basal", "bolus", "cbg", "deviceEvent", "smbg", "wizard"]
    return repo.page(user_id, types, "", "9999", limit=100_000).items


@pytest.fixture
def sleeps() -> list[float]:
    return []


def stormy(sleeps: list[float], **storm: Any) -> tuple[DatumsRepository, Storm]:
    real = repositories().datums.client
    client = Storm(real, **storm)
    repo = DatumsRepository(client, sleep=sleeps.append, max_attempts=40)
    return repo, client


# ------------------------------------------------------------------ unprocessed items
def test_a_throttling_storm_loses_nothing(aws, sleeps) -> None:
    repo, storm = stormy(sleeps, unprocessed=0.5, refused=0.25)
    items = prepared(readings(1000))
    assert repo.put_many(items) == 1000
    stored = all_stored(repositories().datums)
    assert len(stored) == 1000
    assert {d["id"] for d in stored} == {i["id"] for i in items}
    assert storm.batches > 40  # it did have to retry
    assert sleeps and max(sleeps) <= repo.max_delay


def test_backoff_grows_exponentially_with_full_jitter(aws) -> None:
    sleeps: list[float] = []
    always = Storm(repositories().datums.client, unprocessed=1.0, refused=0.0)
    repo = DatumsRepository(always, sleep=sleeps.append, jitter=lambda: 1.0, max_attempts=8)
    with pytest.raises(Unavailable):
        repo.put_many(prepared(readings(3)))
    assert sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0]  # capped at max_delay
    assert always.batches == 8


def test_giving_up_is_a_visible_503_never_a_silent_drop(aws, lambda_context, sleeps) -> None:
    from tests.integration.ingest_support import Api

    always = Storm(repositories().datums.client, unprocessed=1.0, refused=0.0)
    repos = repositories().replace(
        datums=DatumsRepository(always, sleep=sleeps.append, max_attempts=3)
    )
    dataset = ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repos)
    with pytest.raises(Unavailable):
        ingest.upload(ALICE, dataset.id, readings(5), repos)
    # Over HTTP it is a 503 the client can act on (it resends: writes are idempotent).
    api = Api(lambda_context)
    import functions.ingest.app as ingest_app

    original = ingest_app.repositories
    ingest_app.repositories = lambda: repos  # type: ignore[assignment]
    try:
        status, answer = api.upload(dataset.id, readings(5))
    finally:
        ingest_app.repositories = original
    assert status == 503 and answer["errors"][0]["code"] == "unavailable"


def test_other_errors_are_not_retried(aws, sleeps) -> None:
    class Broken(Storm):
        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.batches += 1
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "no"}}, "B")

    broken = Broken(repositories().datums.client)
    repo = DatumsRepository(broken, sleep=sleeps.append)
    with pytest.raises(ClientError):
        repo.put_many(prepared(readings(2)))
    assert broken.batches == 1 and sleeps == []


def test_unprocessed_keys_of_a_batch_get_are_read_again(aws, sleeps) -> None:
    items = prepared(readings(250))
    repositories().datums.put_many(items[:200])
    repo, _ = stormy(sleeps, refused=0.3)
    assert repo.stored_ids(items) == {i["id"] for i in items[:200]}


def test_a_refused_batch_is_retried_whole(aws, sleeps) -> None:
    calls = {"n": 0}
    real = repositories().datums.client

    class RefusedOnce(Storm):
        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            calls["n"] += 1
            if calls["n"] == 1:
                raise throttled("BatchWriteItem")
            return dict(real.batch_write_item(RequestItems=RequestItems))

    repo = DatumsRepository(RefusedOnce(real), sleep=sleeps.append)
    repo.put_many(prepared(readings(25)))
    assert calls["n"] == 2 and len(all_stored(repo)) == 25


# ------------------------------------------------------------------ pages and cursors
def test_pages_cover_every_item_once_whatever_the_limit(aws) -> None:
    repo = repositories().datums
    meter = [smbg(format_utc(NOW - timedelta(hours=h))) for h in range(9)]
    repo.put_many(prepared(readings(57) + meter))
    for limit in (1, 7, 57, 66, 1000):
        seen, after = [], None
        while True:
            page = repo.page(ALICE.user_id, ["cbg", "smbg"], "", "9999", limit=limit, after=after)
            assert len(page.items) <= limit
            seen.extend(page.items)
            after = page.next
            if after is None:
                break
        assert len(seen) == 66 and len({d["id"] for d in seen}) == 66


def test_a_page_stays_under_its_byte_budget(aws) -> None:
    repo = repositories().datums
    repo.put_many(prepared([cbg(format_utc(NOW - timedelta(minutes=m)), note="x" * 10_000)
                            for m in range(20)]))  # fmt: skip
    page = repo.page(ALICE.user_id, ["cbg"], "", "9999", limit=1000, max_bytes=50_000)
    assert 1 <= len(page.items) <= 5 and page.next


def test_someone_elses_position_reads_only_your_own_data(aws) -> None:
    repo = repositories().datums
    repo.put_many(prepared(readings(5), user_id="bob0000000"))
    repo.put_many(prepared(readings(5)))
    bobs = repo.page("bob0000000", ["cbg"], "", "9999", limit=2)
    mine = repo.page(ALICE.user_id, ["cbg"], "", "9999", limit=100, after=bobs.next)
    assert {d["userId"] for d in mine.items} == {ALICE.user_id}


def test_latest_is_newest_first_and_filters(aws) -> None:
    repo = repositories().datums
    repo.put_many(prepared(readings(30)))
    newest = repo.latest(ALICE.user_id, "cbg", "", "9999", 4)
    times = [d["time"] for d in newest]
    assert times == sorted(times, reverse=True) and len(times) == 4
    odd = repo.latest(ALICE.user_id, "cbg", "", "9999", 3, keep=lambda d: d["originalValue"] % 2)
    assert [d["originalValue"] % 2 for d in odd] == [1, 1, 1]


def test_find_by_id_is_per_user(aws) -> None:
    repo = repositories().datums
    (item,) = prepared([basal(format_utc(NOW))])
    repo.put_many([item])
    found = repo.find(ALICE.user_id, item["id"])
    assert found is not None and found[0].type == "basal" and found[1]["id"] == item["id"]
    assert repo.find("someone123", item["id"]) is None
    assert repo.find(ALICE.user_id, "0" * 32) is None


# ------------------------------------------------------------------ legacy, any order
LEGACY_BATCH: list[dict[str, Any]] = [
    BOLUS,
    WIZARD,
    {**WIZARD, "time": "2016-06-14T18:30:00.000Z", "guid": "w2",
     "bolus": {**BOLUS, "time": "2016-06-14T18:30:00.000Z", "guid": "only-embedded"}},
    {"type": "deviceEvent", "subType": "alarm", "alarmType": "no_insulin",
     "deviceId": "DevId0987654321", "time": "2016-06-14T19:00:00.000Z",
     "status": {"type": "deviceEvent", "subType": "status", "status": "suspended",
                "reason": {"suspended": "automatic"}, "deviceId": "DevId0987654321",
                "time": "2016-06-14T19:00:00.000Z"}},
    {"type": "deviceEvent", "subType": "status", "status": "suspended",
     "reason": {"suspended": "automatic"}, "deviceId": "DevId0987654321",
     "time": "2016-06-14T19:00:00.000Z", "duration": 600000},
    cbg("2016-06-14T17:55:00.000Z", 112),
    cbg("2016-06-14T17:55:00.000Z", 112),  # the same reading twice
    smbg("2016-06-14T18:01:00.000Z", 6.2),
    basal("2016-06-14T17:00:00.000Z"),
]  # fmt: skip


def _legacy_items(repos: Repositories, user_id: str) -> list[str]:
    caller = Caller(user_id, "patient", Via.SESSION)
    page = ingest.read_data(caller, user_id, {"limit": "5000"}, repos)
    shared = {"userId", "uploadId"}
    return sorted(json.dumps({k: v for k, v in d.items() if k not in shared}, sort_keys=True)
                  for d in page.items)  # fmt: skip


def _upload_legacy(user_id: str, *batches: list[dict[str, Any]]) -> list[str]:
    repos = repositories()
    caller = Caller(user_id, "patient", Via.SESSION)
    for batch in batches:
        if batch:
            ingest.upload_legacy(caller, user_id, copy.deepcopy(batch), repos, now=NOW)
    return _legacy_items(repos, user_id)


@pytest.fixture
def legacy_reference(aws) -> list[str]:
    """The batch as stored in its own order: what every order must store (once per test)."""
    return _upload_legacy("ref" + uuid.uuid4().hex[:7], LEGACY_BATCH)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(order=st.permutations(range(len(LEGACY_BATCH))), cut=st.integers(0, len(LEGACY_BATCH)))
def test_any_permutation_of_a_legacy_batch_stores_the_same_items(
    legacy_reference, order, cut
) -> None:
    upload, reference = _upload_legacy, legacy_reference
    shuffled = [LEGACY_BATCH[i] for i in order]
    # In one request, and split in two requests at any point: the same items.
    assert upload("one" + uuid.uuid4().hex[:7], shuffled) == reference
    assert upload("two" + uuid.uuid4().hex[:7], shuffled[:cut], shuffled[cut:]) == reference
    assert len(reference) == 9


def test_query_answers_read_in_one_decode_equal_botocores_own_parse(aws, parser_walks) -> None:
    """The datums client decodes a Query's answer itself (json.loads, not botocore's parser
    walking every attribute): the items, the counts and the page's last key are exactly
    what botocore's own parse of the same answer gives, strings, numbers and all."""
    repo = repositories().datums
    kept = dict(prepared([cbg(format_utc(NOW), 120)])[0], expiresAt=1_900_000_000)
    kept["note"] = 'naïve ☃ \u2028 "quoted" \\ slash'
    repo.put_many([kept, *prepared(readings(30))])
    plain = plain_dynamodb()
    query = {
        "TableName": repo.table,
        "KeyConditionExpression": "userId = :u",
        "ExpressionAttributeValues": {":u": {"S": ALICE.user_id}},
        "Limit": 7,
    }
    parser_walks.clear()
    ours = repo.client.query(**query)
    assert parser_walks == ["QueryOutput"]  # botocore's parser read an empty answer only
    botocores = plain.query(**query)
    assert len(parser_walks) > 7 * 2  # its own parse walks every item and attribute
    for answer in (ours, botocores):
        answer.pop("ResponseMetadata")
    # The packed samples stay the wire's base64 text; botocore's parse decodes them.
    assert all(type(item["sample"]["B"]) is str for item in ours["Items"])
    for item in ours["Items"]:
        item["sample"] = {"B": base64.b64decode(item["sample"]["B"])}
    assert ours == botocores
    assert len(ours["Items"]) == 7 and "LastEvaluatedKey" in ours
    everything = repo.client.query(**{**query, "Limit": 100})["Items"]
    assert {"N": "1900000000"} in [item.get("expiresAt") for item in everything]
    assert kept["note"] in [json.loads(item["body"]["S"]).get("note") for item in everything]


def test_a_page_s_bodies_decoded_at_once_are_each_datum_as_stored(aws, monkeypatch) -> None:
    """`between` and `every` decode a page's bodies in one call: across pages (7 a page
    here) every datum reads back exactly as it was stored and as its own body decodes,
    strings with quotes, backslashes, U+2028 and non-ASCII, floats to the last bit."""
    from tidewater.store import datums as store

    repo = repositories().datums
    tricky = dict(prepared([cbg(format_utc(NOW), 120)])[0])
    tricky["note"] = 'naïve ☃ \u2028 "quoted" \\ slash, {"not": "json"}]'
    tricky["value"] = 0.1 + 0.2  # 0.30000000000000004
    written = [tricky, *prepared(readings(30))]
    repo.put_many(written)
    monkeypatch.setattr(store, "QUERY_PAGE_MAX", 7)
    ours = list(repo.between(ALICE.user_id, "cbg", "0000", "9999"))
    everything = list(repo.every(ALICE.user_id, page_size=7))
    items = plain_dynamodb().query(
        TableName=repo.table,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": ALICE.user_id}},
    )["Items"]
    one_by_one = [json.loads(item["body"]["S"]) for item in items]
    assert len(ours) == len(written) == len(one_by_one) > 4 * 7
    assert ours == everything == one_by_one
    assert ours == sorted(
        ({k: v for k, v in d.items() if k != "dedupKey"} for d in written),
        key=lambda d: d["time"],
    )
    assert tricky["note"] in [d.get("note") for d in ours]
    assert 0.30000000000000004 in [d["value"] for d in ours]


def test_the_packed_samples_of_a_range_are_its_datums_samples_in_time_order(
    aws, monkeypatch
) -> None:
    """`samples_between` reads `sample` alone, page by page (7 here), and joins what it
    reads: each cbg datum's sample in time order, no other type's; one datum stored without
    one (before samples were packed) and the range is left to the bodies (None)."""
    from tidewater.domain.samples import packed_sample, samples_from_packed
    from tidewater.domain.summary import CGM, sample_from_datum
    from tidewater.store import datums as store

    repo = repositories().datums
    written = prepared(
        [*readings(30), smbg(format_utc(NOW - timedelta(days=3))), basal(format_utc(NOW))]
    )
    repo.put_many(written)
    monkeypatch.setattr(store, "QUERY_PAGE_MAX", 7)
    packed = repo.samples_between(ALICE.user_id, "cbg", "0000", "9999")
    assert packed is not None
    cgm = sorted((d for d in written if d["type"] == "cbg"), key=lambda d: d["time"])
    assert len(cgm) == 30 > 4 * 7
    assert samples_from_packed(packed, CGM) == [
        sample_from_datum(d)._replace(device_id="")
        for d in cgm  # type: ignore[union-attr]
    ]
    part = repo.samples_between(ALICE.user_id, "cbg", cgm[3]["time"], cgm[9]["time"])
    assert part == b"".join(packed_sample(d) or b"" for d in cgm[3:10])

    monkeypatch.setattr(store, "packed_sample", lambda datum: None)
    repo.put_many([dict(cgm[12], value=9.9)])  # the same key, written as before
    assert repo.samples_between(ALICE.user_id, "cbg", "0000", "9999") is None
    assert repo.samples_between(ALICE.user_id, "cbg", cgm[13]["time"], "9999") is not None
