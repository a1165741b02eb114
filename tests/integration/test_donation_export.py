"""The donation export against moto: what a slice holds, what it never holds, and when it is
published, rewritten or withheld."""

from __future__ import annotations

import gzip
import itertools
import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.donation_support import (
    NOW,
    WINDOW,
    cgm,
    consent,
    donor,
    hash_of,
    published,
    repos_with,
    store,
)
from tidewater.domain import donation
from tidewater.domain.timeutil import format_utc
from tidewater.services import exporter
from tidewater.store import keys
from tidewater.store.s3_stream import MultipartStream

pytestmark = pytest.mark.usefixtures("aws")

DONORS = [f"d0n0r{i:05d}" for i in range(5)]
TEN_DAYS = {"count": 12 * 10, "every": timedelta(hours=2)}  # spans two windows from day 3


def _export(repos, now=NOW, seed=7, **kw) -> exporter.ExportResult:  # type: ignore[no-untyped-def]
    return exporter.run(repos, now=now, rng=random.Random(seed), **kw)


def _datetimes(rows: list[dict[str, str]]) -> list[datetime]:
    return [datetime.fromisoformat(r["datetime"]) for r in rows]


# ------------------------------------------------------------------ what a slice is
def test_a_slice_has_exactly_the_five_columns_in_order() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    result = _export(repos)
    assert (result.slices, result.rows) == (1, 5 * 48)
    (published_slice,) = published(repos)
    lines = published_slice.text.splitlines()
    assert lines[0] == "hash,datetime,glucose,trend,noise"
    pattern = re.compile(
        r"^[0-9a-f]{6},\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2},\d+,"
        r"(None|NONE|DoubleUp|SingleUp|FortyFiveUp|Flat|FortyFiveDown|SingleDown|DoubleDown"
        r"|NOT COMPUTABLE|RATE OUT OF RANGE),[0-4]?$"
    )
    assert all(pattern.match(line) for line in lines[1:]), lines[1:5]
    assert len(lines) == 1 + 5 * 48


def test_rows_are_sorted_by_shifted_time_then_hash() -> None:
    repos = repos_with()
    for i, user_id in enumerate(DONORS):
        donor(repos, user_id, WINDOW.start + timedelta(hours=6, minutes=i), offset=-60 * i)
    _export(repos)
    rows = published(repos)[0].rows
    keys_in_order = [(r["datetime"], r["hash"]) for r in rows]
    assert keys_in_order == sorted(keys_in_order)
    # ... and not grouped by donor: hashes interleave.
    assert len({r["hash"] for r in rows[:10]}) > 1


def test_glucose_sentinels_are_collapsed_to_39_and_401() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id, count=8, values=[20, 39, 40, 41, 399, 400, 401, 600])
    _export(repos)
    assert {int(r["glucose"]) for r in published(repos)[0].rows} == {39, 40, 41, 399, 400, 401}


def test_trend_and_noise_come_through_and_free_text_does_not() -> None:
    repos = repos_with()
    for user_id in DONORS[:4]:
        donor(repos, user_id, trend="SingleDown", noise=2)
    donor(repos, DONORS[4], trend="loop://Jane's iPhone", noise=9)
    _export(repos)
    rows = published(repos)[0].rows
    assert {(r["trend"], r["noise"]) for r in rows} == {("SingleDown", "2"), ("None", "")}


# ------------------------------------------------------------------ who is in it
def test_only_donors_with_consent_at_export_time_are_exported() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    store(repos, "n0c0nsent1", cgm(WINDOW.start, 48))  # data, never consented
    donor(repos, "w1thdrawn1")
    consent(repos, "w1thdrawn1", False, NOW - timedelta(days=1))
    _export(repos)
    (published_slice,) = published(repos)
    assert len(published_slice.hashes) == 5
    assert repos.donations.memberships("n0c0nsent1") == []
    assert repos.donations.memberships("w1thdrawn1") == []
    assert {hash_of(repos, u) for u in DONORS} == published_slice.hashes


def test_a_slice_below_k_donors_is_not_published() -> None:
    repos = repos_with()
    for user_id in DONORS[:4]:
        donor(repos, user_id)
    donor(repos, "n0data0001", start=WINDOW.start - timedelta(days=14))  # nothing in WINDOW
    result = _export(repos)
    assert (result.slices, result.withheld) == (0, 4)  # WINDOW and the 3 caught up before it
    assert published(repos) == []
    assert repos.donations.window(WINDOW.index).state == donation.WITHHELD
    assert all(repos.donations.memberships(u) == [] for u in DONORS)
    # Nothing published, and the manifest says why (never who).
    assert repos.slices.manifest()["slices"] == []
    assert repos.slices.manifest()["reason"] == "withheld-below-k"
    # The decision holds: a later run does not publish it either.
    assert _export(repos).slices == 0


def test_k_is_configurable() -> None:
    repos = repos_with(donation_min_donors=3)
    for user_id in DONORS[:3]:
        donor(repos, user_id)
    assert _export(repos).slices == 1


# ------------------------------------------------------------------ when
def test_a_window_is_exported_only_after_its_embargo() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    early = WINDOW.end + timedelta(days=30) - timedelta(hours=1)
    assert _export(repos, now=early).slices == 0
    assert published(repos) == []
    assert _export(repos, now=WINDOW.end + timedelta(days=30)).slices == 1


def test_embargo_and_slice_length_are_configurable() -> None:
    repos = repos_with(donation_slice_days=1, donation_embargo_days=2)
    day = donation.due_windows(NOW, 1, 2)[-1]
    for user_id in DONORS:
        donor(repos, user_id, start=day.start, count=48)
    result = _export(repos)
    assert result.slices == 1 and result.rows == 5 * 48


def test_a_rerun_publishes_nothing_twice() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    assert _export(repos).slices == 1
    assert _export(repos, seed=8).slices == 0
    assert _export(repos, now=NOW + timedelta(hours=5), seed=9).slices == 0
    assert len(published(repos)) == 1
    assert len(repos.slices.manifest()["slices"]) == 1


def test_an_abandoned_claim_is_taken_over_with_the_same_slice_id() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    abandoned = donation.SliceRecord(WINDOW.index, "ab" * 16, donation.EXPORTING,
                                     format_utc(NOW - timedelta(hours=2)))  # fmt: skip
    assert repos.donations.claim_window(abandoned)
    assert _export(repos).slices == 1
    assert [p.slice_id for p in published(repos)] == ["ab" * 16]


def test_a_claim_in_progress_is_left_alone() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    running = donation.SliceRecord(WINDOW.index, "cd" * 16, donation.EXPORTING,
                                   format_utc(NOW - timedelta(minutes=5)))  # fmt: skip
    assert repos.donations.claim_window(running)
    assert _export(repos).slices == 0


# ------------------------------------------------------------------ hashes and time
def test_the_same_donor_has_a_different_hash_in_each_slice() -> None:
    repos = repos_with()
    previous = donation.window(WINDOW.index - 1, 7)
    for user_id in DONORS:
        donor(repos, user_id, start=previous.start + timedelta(days=3), **TEN_DAYS)
    assert _export(repos).slices == 2
    for user_id in DONORS:
        first, second = hash_of(repos, user_id, previous.index), hash_of(repos, user_id)
        assert first != second
    slices = published(repos)
    assert all(len(s.hashes) == 5 for s in slices)
    assert not slices[0].hashes & slices[1].hashes


def test_each_slice_has_its_own_shift_of_whole_weeks_ten_to_twenty_years_back() -> None:
    repos = repos_with()
    previous = donation.window(WINDOW.index - 1, 7)
    for user_id in DONORS:
        donor(repos, user_id, start=previous.start + timedelta(days=3), **TEN_DAYS,
              offset=0)  # fmt: skip
    _export(repos)
    for published_slice in published(repos):
        for row in published_slice.rows[:50]:
            shifted = datetime.fromisoformat(row["datetime"]).replace(tzinfo=UTC)
            # The real time is on a 30-minute grid from the window's start + 6 h (UTC).
            back = (WINDOW.start - shifted) // timedelta(weeks=1) + 1
            real = shifted + timedelta(weeks=back)
            assert real.weekday() == shifted.weekday() and real.time() == shifted.time()
            assert 10 * 365 <= (real - shifted).days <= 20 * 366
    assert len(published(repos)) == 2


def test_intervals_within_a_donor_are_kept_exactly_with_keep_seconds() -> None:
    repos = repos_with()
    start = WINDOW.start + timedelta(hours=6, seconds=38)
    for user_id in DONORS:
        donor(repos, user_id, start=start, every=timedelta(minutes=5, seconds=1), count=60)
    _export(repos, keep_seconds=True)
    rows = published(repos)[0].rows
    first = hash_of(repos, DONORS[0])
    mine = _datetimes([r for r in rows if r["hash"] == first])
    assert [b - a for a, b in itertools.pairwise(mine)] == [timedelta(minutes=5, seconds=1)] * 59


def test_seconds_are_truncated_by_default() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id, start=WINDOW.start + timedelta(hours=6, seconds=38),
              every=timedelta(minutes=5), count=60)  # fmt: skip
    _export(repos)
    rows = published(repos)[0].rows
    assert {r["datetime"][-3:] for r in rows} == {":00"}
    first = hash_of(repos, DONORS[0])
    mine = _datetimes([r for r in rows if r["hash"] == first])
    assert {b - a for a, b in itertools.pairwise(mine)} == {timedelta(minutes=5)}


def test_local_clock_uses_one_median_offset_so_a_dst_change_leaves_no_jump() -> None:
    repos = repos_with()
    for user_id in DONORS[1:]:
        donor(repos, user_id)
    consent(repos, DONORS[0], True)
    start = WINDOW.start + timedelta(days=1)
    # 30 readings at UTC-4 (summer time), then 20 at UTC-5: the median is -240.
    store(
        repos,
        DONORS[0],
        cgm(start, 30, every=timedelta(minutes=5), offset=-240)
        + cgm(start + timedelta(minutes=150), 20, every=timedelta(minutes=5), offset=-300),
    )
    _export(repos)
    first = hash_of(repos, DONORS[0])
    rows = [r for r in published(repos)[0].rows if r["hash"] == first]
    times = _datetimes(rows)
    assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(minutes=5)}
    local = start - timedelta(hours=4)  # the donor's clock at the first reading
    assert (times[0].weekday(), times[0].time()) == (local.weekday(), local.time())


# ------------------------------------------------------------------ nothing identifying
LEAKY = {
    "user": ["1eak5ecret01", "1eak5ecret02", "1eak5ecret03", "1eak5ecret04", "1eak5ecret05"],
    "email": ["jane.doe.donor@example.org", "j.smith+cgm@example.net"],
    "device": ["DexG6-SN-8QX3Z7", "loop://Jane's iPhone", "Jane's iPhone"],
}


def test_no_id_device_name_or_real_time_reaches_any_exported_byte() -> None:
    repos = repos_with()
    stored = []
    for i, user_id in enumerate(LEAKY["user"]):
        consent(repos, user_id, True)
        start = WINDOW.start + timedelta(days=2, hours=3, seconds=17)
        datums = cgm(start, 40, every=timedelta(minutes=5), device=LEAKY["device"][i % 2],
                     payload={"email": LEAKY["email"][i % 2], "enteredBy": "Jane's iPhone"},
                     notes="Jane's iPhone", trend="Flat", noise=1)  # fmt: skip
        stored += store(repos, user_id, datums)
    # A Nightscout upload too: Loop writes the phone's name in `device` and `enteredBy`.
    from tidewater.domain import nightscout

    entries = [{"type": "sgv", "sgv": 140, "date": 1000 * (int(WINDOW.start.timestamp()) + 7200
                + 300 * i), "device": "loop://Jane's iPhone", "enteredBy": "Jane's iPhone",
                "direction": "Flat", "noise": 1, "utcOffset": -300} for i in range(10)]  # fmt: skip
    stored += store(repos, LEAKY["user"][0], nightscout.entries_to_datums(entries))
    _export(repos)
    objects = repos.slices.client.list_objects_v2(Bucket=repos.settings.donations_bucket)
    keys_seen = [o["Key"] for o in objects["Contents"]]
    (published_slice,) = published(repos)
    manifest_text = json.dumps(repos.slices.manifest())
    exported = [published_slice.text, manifest_text, *keys_seen]

    forbidden = {*LEAKY["user"], *LEAKY["email"], *LEAKY["device"], "Jane", "iPhone", "loop",
                 "nightscout", "DexG6", "8QX3Z7", "upload-"}  # fmt: skip
    for item in stored:
        forbidden |= {item["id"], item["uploadId"], item["createdTime"], item["dedupKey"]}
        forbidden |= {item["createdTime"][:10], item["createdTime"][:16]}
        moment = datetime.fromisoformat(item["time"].replace("Z", "+00:00"))
        local = moment + timedelta(minutes=item.get("timezoneOffset", 0))
        for when in (moment, local):
            seconds = int(when.timestamp())
            forbidden |= {when.strftime("%Y-%m-%d"), when.strftime("%Y-%m-%dT%H:%M"),
                          str(seconds), str(seconds * 1000)}  # fmt: skip
    for day in range(-2, 9):
        forbidden.add((WINDOW.start + timedelta(days=day)).strftime("%Y-%m-%d"))
        forbidden.add((NOW + timedelta(days=day - 4)).strftime("%Y-%m-%d"))
    for text in exported:
        for secret in forbidden:
            assert secret.lower() not in text.lower(), secret
    # The gzip header: no file name, no modification time (the export's time would date it).
    raw = published_slice.raw
    assert raw[:3] == b"\x1f\x8b\x08" and raw[3] == 0 and raw[4:8] == b"\0\0\0\0"
    for secret in forbidden:
        assert secret.encode() not in raw
    # No object metadata or tags; encrypted at rest.
    client, bucket = repos.slices.client, repos.settings.donations_bucket
    for key in keys_seen:
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"] == {} and head["ServerSideEncryption"] == "AES256"
        assert client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == []
    assert all(re.fullmatch(r"slices/[0-9a-f]{32}\.csv\.gz|manifest\.json", k) for k in keys_seen)


def test_the_manifest_lists_shifted_bounds_and_counts_only() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    _export(repos)
    document = repos.slices.manifest()
    (entry,) = document["slices"]
    (published_slice,) = published(repos)
    rows = published_slice.rows
    assert entry == {"id": published_slice.slice_id, "key": published_slice.key,
                     "start": rows[0]["datetime"], "end": rows[-1]["datetime"],
                     "rows": len(rows), "donors": 5}  # fmt: skip
    assert document["schemaVersion"] == 1
    assert document["columns"] == ["hash", "datetime", "glucose", "trend", "noise"]
    assert int(entry["start"][:4]) <= WINDOW.start.year - 10


# ------------------------------------------------------------------ withdrawal
def _versions(repos, key: str) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = repos.slices.client.list_object_versions(
        Bucket=repos.settings.donations_bucket, Prefix=key
    )
    return answer.get("Versions", []) + answer.get("DeleteMarkers", [])


def test_withdrawal_rewrites_published_slices_without_the_donor() -> None:
    repos = repos_with()
    previous = donation.window(WINDOW.index - 1, 7)
    for user_id in [*DONORS, "extra00001"]:
        donor(repos, user_id, start=previous.start + timedelta(days=3), **TEN_DAYS)
    _export(repos)
    before = {p.slice_id: p for p in published(repos)}
    leaving = {hash_of(repos, DONORS[0], previous.index), hash_of(repos, DONORS[0])}
    consent(repos, DONORS[0], False, NOW + timedelta(days=1))
    result = _export(repos, now=NOW + timedelta(days=1, hours=1))
    assert (result.withdrawals, result.rewritten, result.slices) == (1, 2, 0)
    after = {p.slice_id: p for p in published(repos)}
    assert set(after) == set(before)  # same random ids
    for slice_id, published_slice in after.items():
        assert not published_slice.hashes & leaving and len(published_slice.hashes) == 5
        kept = [line for line in before[slice_id].text.splitlines(keepends=True)
                if line[:6] not in leaving]  # fmt: skip
        assert published_slice.text == "".join(kept)  # everyone else's rows, byte for byte
        assert len(_versions(repos, published_slice.key)) == 1  # no old version keeps them
    entries = {e["id"]: e for e in repos.slices.manifest()["slices"]}
    assert {e["donors"] for e in entries.values()} == {5}
    assert all(e["rows"] == len(after[i].rows) for i, e in entries.items())
    assert repos.donations.memberships(DONORS[0]) == []
    assert repos.donations.pending_withdrawals() == []


def test_withdrawal_below_k_removes_the_slice_entirely() -> None:
    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    _export(repos)
    (published_slice,) = published(repos)
    consent(repos, DONORS[3], False, NOW + timedelta(hours=1))
    result = _export(repos, now=NOW + timedelta(hours=2))
    assert result.dropped == 1
    assert published(repos) == []
    assert _versions(repos, published_slice.key) == []
    assert repos.slices.manifest()["slices"] == []
    assert repos.donations.window(WINDOW.index).state == donation.DROPPED


def test_a_withdrawn_donor_is_absent_from_every_later_slice() -> None:
    repos = repos_with()
    later = donation.window(WINDOW.index + 1, 7)
    for user_id in [*DONORS, "extra00001"]:
        donor(repos, user_id, start=WINDOW.start + timedelta(days=3), **TEN_DAYS)
    _export(repos)
    consent(repos, DONORS[1], False, NOW + timedelta(days=1))
    _export(repos, now=later.end + timedelta(days=30))
    assert [m.index for m in repos.donations.memberships(DONORS[1])] == []
    assert later.index in {m.index for m in repos.donations.memberships(DONORS[2])}


def test_consenting_again_keeps_later_slices_but_not_the_withdrawn_ones() -> None:
    repos = repos_with()
    later = donation.window(WINDOW.index + 1, 7)
    for user_id in DONORS:
        donor(repos, user_id, start=WINDOW.start + timedelta(days=3), **TEN_DAYS)
    donor(repos, "extra00001", start=WINDOW.start + timedelta(days=3), **TEN_DAYS)
    _export(repos)
    consent(repos, DONORS[0], False, NOW + timedelta(hours=1))
    consent(repos, DONORS[0], True, NOW + timedelta(hours=2))
    # The withdrawal is applied by the run that exports the next window, after the new consent.
    _export(repos, now=later.end + timedelta(days=30))
    assert [m.index for m in repos.donations.memberships(DONORS[0])] == [later.index]


def test_a_withdrawal_during_an_export_is_applied_before_the_run_ends() -> None:
    repos = repos_with()
    for user_id in [*DONORS, "extra00001"]:
        donor(repos, user_id)
    stored = exporter.datums_source(repos)

    def source(user_id, window):  # type: ignore[no-untyped-def]
        if user_id == DONORS[2] and window == WINDOW:  # listed already: in this slice
            consent(repos, DONORS[2], False, NOW)
        return stored(user_id, window)

    result = _export(repos, source=source)
    assert (result.slices, result.withdrawals, result.rewritten) == (1, 1, 1)
    (published_slice,) = published(repos)
    assert len(published_slice.hashes) == 5
    assert repos.donations.memberships(DONORS[2]) == []
    assert repos.slices.manifest()["slices"][0]["donors"] == 5


def test_withdrawing_twice_or_without_consent_changes_nothing() -> None:
    repos = repos_with()
    consent(repos, "never00001", False, NOW)
    assert repos.donations.pending_withdrawals() == []
    assert repos.donations.consent("never00001").as_dict() == {"consent": False}


# ------------------------------------------------------------------ the S3 stream
def test_an_upload_goes_out_in_parts_of_at_least_5_mib(monkeypatch) -> None:
    import os

    repos = repos_with()
    calls = []
    client = repos.slices.client
    original = client.upload_part

    def spy(**kw):  # type: ignore[no-untyped-def]
        calls.append(len(kw["Body"]))
        return original(**kw)

    monkeypatch.setattr(client, "upload_part", spy)
    payload = os.urandom(19 * 1024 * 1024)
    stream = MultipartStream(client, repos.settings.donations_bucket, "slices/big", "x/y")
    for start in range(0, len(payload), 1 << 20):
        stream.write(payload[start : start + (1 << 20)])
    stream.complete()
    assert calls[:-1] == [8 * 1024 * 1024] * 2 and calls[-1] == 3 * 1024 * 1024
    body = client.get_object(Bucket=repos.settings.donations_bucket, Key="slices/big")["Body"]
    assert body.read() == payload


def test_a_failed_upload_is_aborted_and_leaves_nothing() -> None:
    repos = repos_with()
    bucket = repos.settings.donations_bucket
    with pytest.raises(RuntimeError), repos.slices.gzip_upload("slices/broken.csv.gz") as out:
        out.write("hash,datetime,glucose,trend,noise\n")
        raise RuntimeError("the export died")
    client = repos.slices.client
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_presigned_url_downloads_the_slice() -> None:
    import requests

    repos = repos_with()
    for user_id in DONORS:
        donor(repos, user_id)
    _export(repos)
    (published_slice,) = published(repos)
    url = repos.slices.presigned_get(published_slice.key)
    assert "X-Amz-Expires=900" in url
    downloaded = requests.get(url, timeout=10)
    assert downloaded.status_code == 200
    assert gzip.decompress(downloaded.content).decode() == published_slice.text


def test_the_export_handler_runs_on_its_scheduled_event(lambda_context) -> None:
    from functions.export import app
    from tests.conftest import load_event

    assert app.handler(load_event("export.json"), lambda_context)["slices"] == 0


def test_object_keys_name_nothing_but_random_ids() -> None:
    assert keys.donation_slice_object("ab" * 16) == f"slices/{'ab' * 16}.csv.gz"
    assert keys.DONATION_MANIFEST_OBJECT == "manifest.json"
