"""A person's own Nightscout site, followed: linked through the ingest routes, polled by the
poll function's service against Nightscout sites on loopback (tests/nightscout_site.py)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.ingest_support import ALICE, BOB, Api, event, invoke
from tests.nightscout_site import NightscoutSites, Site, nightscout_sites, sgv_entries
from tidewater.domain import sources as domain
from tidewater.domain.accounts import Profile
from tidewater.domain.sources import Reach
from tidewater.domain.timeutil import format_utc, to_epoch_ms
from tidewater.services import sources
from tidewater.store.models import SourceModel
from tidewater.store.repos import repositories
from tidewater.store.sites import Fetcher

FACTOR = 18.01559
NOW = datetime.now(UTC).replace(microsecond=0)
NOW_MS = to_epoch_ms(NOW)
SECRET = "a-long-api-secret-of-alice"
ROUTE = "/v1/users/{userId}/nightscout/source"


@pytest.fixture(scope="module")
def sites() -> Iterator[NightscoutSites]:
    with nightscout_sites() as running:
        yield running


@pytest.fixture
def api(aws: None, lambda_context: Any) -> Api:
    for caller in (ALICE, BOB):
        repositories().accounts.create(
            Profile(caller.user_id, caller.user_id, "patient", format_utc(NOW - timedelta(days=90)))
        )
    return Api(lambda_context)


def call(api: Api, method: str, body: Any = None, caller: Any = ALICE) -> tuple[int, Any]:
    user = caller.user_id if caller else ALICE.user_id
    built = event(method, ROUTE, f"/v1/users/{user}/nightscout/source", caller=caller,
                  params={"userId": user}, body=body)  # fmt: skip
    return invoke(built, api.context)


def link(api: Api, sites: NightscoutSites, name: str, site: Site, token: str = SECRET) -> None:
    sites.add(name, site)
    status, body = call(api, "PUT", {"url": sites.url(name), "token": token})
    assert status == 200, body


def poll(
    fetcher: Fetcher | None = None, later: timedelta = timedelta(0), **options: Any
) -> sources.PollRun:
    """One run, `later` than now (a site linked now is due at once)."""
    repos = repositories()
    site = fetcher or Fetcher(Reach(allow_http=True, allow_private=True), timeout=2, deadline=4)
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1) + later
    return sources.poll_due(repos, site, lambda: when, **options)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def shown(api: Api) -> dict[str, Any]:
    status, body = call(api, "GET")
    assert status == 200, body
    return dict(body["data"])


def alice_cbg(api: Api) -> list[dict[str, Any]]:
    return api.read_all(ALICE.user_id, type="cbg")


def due_now(user_id: str = ALICE.user_id) -> None:
    """Make the site due (as time passing would)."""
    repos = repositories()
    source = repos.sources.get(user_id)
    assert source is not None
    repos.sources.record(replace(source, poll_due=format_utc(NOW - timedelta(seconds=1))))


# ---------------------------------------------------------------------- linking
def test_a_linked_site_is_shown_without_its_token_and_can_be_unlinked(
    api: Api, sites: NightscoutSites
) -> None:
    link(api, sites, "shown", Site(api_secret=SECRET))
    data = shown(api)
    assert data["url"] == sites.url("shown")
    assert data["entriesImported"] == 0 and "lastPolledTime" not in data
    text = str(data)
    assert SECRET not in text and hashlib.sha1(SECRET.encode()).hexdigest() not in text
    # Stored sealed: the item holds neither the secret nor its SHA-1.
    stored = repositories().sources.get(ALICE.user_id)
    assert stored is not None and SECRET not in stored.sealed
    assert call(api, "DELETE")[0] == 204
    assert call(api, "GET")[0] == 404
    assert call(api, "DELETE")[0] == 404


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"url": "ftp://example.org", "token": "t0ken-secret"}, "/url"),
        ({"url": "https://me:pw@example.org", "token": "t0ken-secret"}, "/url"),
        ({"url": "https://example.org/?token=x", "token": "t0ken-secret"}, "/url"),
        ({"url": "https://example.org"}, "/token"),
        ({"url": "https://example.org", "token": "has space"}, "/token"),
        ({"token": "t0ken-secret"}, "/url"),
    ],
)
def test_a_bad_link_is_refused_at_its_field(api: Api, body: Any, pointer: str) -> None:
    status, answer = call(api, "PUT", body)
    assert status == 400, answer
    assert pointer in [e["source"]["pointer"] for e in answer["errors"]]
    assert call(api, "GET")[0] == 404  # nothing stored


@pytest.mark.parametrize(
    "url",
    ["http://example.org", "https://127.0.0.1", "https://10.1.2.3:8443", "https://localhost",
     "https://169.254.169.254", "https://[::1]", "https://[fd00:ec2::254]", "https://192.168.0.2"],
)  # fmt: skip
def test_in_aws_only_https_sites_on_public_addresses_can_be_linked(
    api: Api, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setattr(sources, "reach", lambda repos: Reach())  # as in AWS: no exception
    status, answer = call(api, "PUT", {"url": url, "token": "reader-0123456789abcdef"})
    assert status == 400 and answer["errors"][0]["source"]["pointer"] == "/url", answer
    status, _ = call(api, "PUT", {"url": "https://93.184.215.14/ns", "token": "t0ken-secret"})
    assert status == 200


def test_another_person_cannot_read_or_remove_a_link(api: Api, sites: NightscoutSites) -> None:
    link(api, sites, "private", Site(api_secret=SECRET))
    bob_reading = event("GET", ROUTE, f"/v1/users/{ALICE.user_id}/nightscout/source",
                        caller=BOB, params={"userId": ALICE.user_id})  # fmt: skip
    assert invoke(bob_reading, api.context)[0] == 403
    bob_removing = event("DELETE", ROUTE, f"/v1/users/{ALICE.user_id}/nightscout/source",
                         caller=BOB, params={"userId": ALICE.user_id})  # fmt: skip
    assert invoke(bob_removing, api.context)[0] == 403
    assert shown(api)["url"] == sites.url("private")


# ---------------------------------------------------------------------- polling
def test_a_poll_imports_the_new_sgv_entries_as_cgm_and_marks_the_summary(
    api: Api, sites: NightscoutSites
) -> None:
    entries = sgv_entries(NOW_MS - 60_000, 36)  # three hours, newest a minute ago
    entries.append({"type": "mbg", "date": NOW_MS - 120_000, "mbg": 140, "device": "meter"})
    link(api, sites, "alice", Site(entries=entries, api_secret=SECRET))
    run = poll()
    assert (run.polled, run.imported, run.failed) == (1, 36, 0)
    stored = sorted(alice_cbg(api), key=lambda d: d["time"])
    assert len(stored) == 36
    newest = max(entries[:36], key=lambda e: e["date"])
    assert stored[-1]["time"] == format_utc(datetime.fromtimestamp(newest["date"] / 1000, UTC))
    assert stored[-1]["value"] == pytest.approx(newest["sgv"] / FACTOR, rel=1e-15)
    assert stored[-1]["deviceId"] == "nightscout:xDrip-DexcomG6"
    assert "outdatedSince" in repositories().accounts.summary(ALICE.user_id)["dates"]
    data = shown(api)
    polled, linked_at = at(data["lastPolledTime"]), at(data["linkedTime"])
    assert data["entriesImported"] == 36
    assert timedelta(0) <= polled - linked_at < timedelta(minutes=1)
    assert data["lastEntryTime"] == stored[-1]["time"] and "lastError" not in data
    # The site was asked for what came after a month back, with the secret's SHA-1.
    first = sites.sites["alice"].requests[0]
    linked = to_epoch_ms(linked_at)
    assert int(first["find[date][$gt]"]) == linked - 30 * 86_400_000
    # Next due in five minutes at most, at the owner's own second of the interval.
    due = at(data["nextPollTime"])
    assert polled < due <= polled + timedelta(minutes=5)
    assert due == domain.next_due(ALICE.user_id, polled)


def test_entries_the_upload_path_refuses_are_left_out_and_the_rest_stored(
    api: Api, sites: NightscoutSites
) -> None:
    entries = sgv_entries(NOW_MS - 60_000, 6)
    ahead = sgv_entries(NOW_MS + 3 * 86_400_000, 1, start_mgdl=150)  # three days ahead
    broken = [{**sgv_entries(NOW_MS - 30_000, 1)[0], "sgv": "high"}]
    link(api, sites, "mixed", Site(entries=entries + ahead + broken, api_secret=SECRET))
    run = poll()
    assert (run.imported, run.skipped, run.failed) == (6, 2, 0)
    assert sorted(d["time"] for d in alice_cbg(api)) == sorted(
        format_utc(datetime.fromtimestamp(e["date"] / 1000, UTC)) for e in entries
    )
    assert "lastError" not in shown(api)


def test_polling_again_stores_nothing_twice_and_asks_only_for_newer_entries(
    api: Api, sites: NightscoutSites
) -> None:
    site = Site(entries=sgv_entries(NOW_MS - 600_000, 12), api_secret=SECRET)
    link(api, sites, "again", site)
    poll()
    assert poll().polled == 0  # not due yet
    site.entries += sgv_entries(NOW_MS - 60_000, 1, start_mgdl=222)
    due_now()
    run = poll(later=timedelta(minutes=5))
    assert run.imported == 1
    assert len(alice_cbg(api)) == 13
    assert int(site.requests[-1]["find[date][$gt]"]) == NOW_MS - 600_000
    # The same entries read again (the watermark set back) replace, never duplicate.
    source = repositories().sources.get(ALICE.user_id)
    assert source is not None
    repositories().sources.record(replace(source, cursor=domain.Cursor(0),
                                          poll_due=format_utc(NOW)))  # fmt: skip
    assert poll().imported == 13
    assert len(alice_cbg(api)) == 13


def test_a_long_history_is_read_page_by_page_without_a_gap(
    api: Api, sites: NightscoutSites, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(domain, "PAGE_COUNT", 40)
    monkeypatch.setattr(domain, "PAGES_PER_RUN", 2)
    entries = sgv_entries(NOW_MS - 60_000, 130)  # 130 entries: 4 pages of 40, 2 a run
    link(api, sites, "history", Site(entries=entries, api_secret=SECRET))
    first = poll()
    assert (first.pages, first.imported) == (2, 80)
    # Not caught up: due again at the next run, and its watermark has not moved.
    source = repositories().sources.get(ALICE.user_id)
    assert source is not None and source.cursor.below is not None
    second = poll(later=timedelta(minutes=1))
    assert (second.pages, second.imported) == (2, 50)
    stored = {d["time"] for d in alice_cbg(api)}
    assert len(stored) == 130
    source = repositories().sources.get(ALICE.user_id)
    assert source is not None and source.cursor == domain.Cursor(max(e["date"] for e in entries))


def test_an_access_token_goes_as_token_and_a_refused_one_is_said(
    api: Api, sites: NightscoutSites
) -> None:
    token = "tidewater-0123456789abcdef"
    site = Site(entries=sgv_entries(NOW_MS, 3), token=token)
    link(api, sites, "tokened", site, token=token)
    assert poll().imported == 3
    assert site.requests[0]["token"] == token
    site.token = "tidewater-ffffffffffffffff"  # the token was revoked at the site
    due_now()
    run = poll()
    assert run.failed == 1
    assert "refused the token (401)" in shown(api)["lastError"]


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        ("error", "the site answered 500"),
        ("redirect-away", "redirected to another address"),
        ("huge", "larger than"),
        ("html", "not JSON"),
    ],
)
def test_a_site_that_misbehaves_is_backed_off_with_the_reason_in_words(
    api: Api, sites: NightscoutSites, behaviour: str, said: str
) -> None:
    link(api, sites, behaviour, Site(entries=sgv_entries(NOW_MS, 3), behaviour=behaviour))
    run = poll()
    assert (run.failed, run.imported) == (1, 0)
    data = shown(api)
    assert said in data["lastError"]
    assert sites.url(behaviour) not in data["lastError"]
    # Backed off: 5 minutes (±10 %) after one failure, about 10 after the second.
    first = at(data["nextPollTime"]) - at(data["lastPolledTime"])
    assert timedelta(minutes=4.5) <= first <= timedelta(minutes=5.5)
    due_now()
    poll()
    again = shown(api)
    second = at(again["nextPollTime"]) - at(again["lastPolledTime"])
    assert timedelta(minutes=9) <= second <= timedelta(minutes=11)
    assert len(alice_cbg(api)) == 0


def test_a_redirect_within_the_site_is_followed(api: Api, sites: NightscoutSites) -> None:
    link(api, sites, "moving", Site(entries=sgv_entries(NOW_MS, 4), behaviour="redirect-within"))
    assert poll().imported == 4


def test_a_slow_site_holds_up_no_other(api: Api, sites: NightscoutSites) -> None:
    link(api, sites, "slow", Site(entries=sgv_entries(NOW_MS, 2), behaviour="slow", delay=6))
    sites.add("bobs", Site(entries=sgv_entries(NOW_MS, 5)))
    bob_link = event("PUT", ROUTE, f"/v1/users/{BOB.user_id}/nightscout/source", caller=BOB,
                     params={"userId": BOB.user_id},
                     body={"url": sites.url("bobs"), "token": "bobs-secret-1"})  # fmt: skip
    assert invoke(bob_link, api.context)[0] == 200
    fetcher = Fetcher(Reach(allow_http=True, allow_private=True), timeout=0.5, deadline=1)
    started = time.monotonic()
    run = poll(fetcher)
    assert time.monotonic() - started < 5  # the slow site was cut at its deadline
    assert (run.polled, run.failed, run.imported) == (2, 1, 5)
    assert shown(api)["lastError"] == "the site did not answer in time"


def test_a_run_starts_no_site_after_its_budget(api: Api, sites: NightscoutSites) -> None:
    link(api, sites, "budget", Site(entries=sgv_entries(NOW_MS, 2)))
    ticks = iter([0.0, 100.0])
    run = poll(workers=1, budget=30, clock=lambda: next(ticks))
    assert (run.due, run.polled, run.late) == (1, 0, 1)
    assert poll().polled == 1  # still due: the next run takes it


def test_the_token_and_the_url_reach_no_log_line(
    api: Api, sites: NightscoutSites, caplog: pytest.LogCaptureFixture
) -> None:
    link(api, sites, "logged", Site(entries=sgv_entries(NOW_MS, 2), behaviour="error"))
    with caplog.at_level(logging.DEBUG, logger="tidewater"):
        poll()
    logged = "\n".join(
        f"{r.getMessage()} {vars(r)}" for r in caplog.records if r.name.startswith("tidewater")
    )
    assert "nightscout site failed" in logged
    digest = hashlib.sha1(SECRET.encode()).hexdigest()
    for secret in (SECRET, digest, sites.url("logged"), str(sites.port)):
        assert secret not in logged
    assert SECRET not in str(shown(api)) and digest not in str(shown(api))


def test_an_account_being_deleted_is_not_written_to(api: Api, sites: NightscoutSites) -> None:
    link(api, sites, "leaving", Site(entries=sgv_entries(NOW_MS, 3), api_secret=SECRET))
    repositories().accounts.delete(ALICE.user_id)
    assert poll().imported == 0
    assert repositories().sources.get(ALICE.user_id) is None


def test_a_site_whose_poll_breaks_leaves_the_others_polled(
    api: Api, sites: NightscoutSites, monkeypatch: pytest.MonkeyPatch
) -> None:
    link(api, sites, "fine", Site(entries=sgv_entries(NOW_MS, 4)))
    sites.add("broken", Site(entries=sgv_entries(NOW_MS, 2)))
    bob_link = event("PUT", ROUTE, f"/v1/users/{BOB.user_id}/nightscout/source", caller=BOB,
                     params={"userId": BOB.user_id},
                     body={"url": sites.url("broken"), "token": "bobs-secret-1"})  # fmt: skip
    assert invoke(bob_link, api.context)[0] == 200
    real = sources.import_entries

    def failing_for_bob(user_id: str, *args: Any, **kwargs: Any) -> Any:
        if user_id == BOB.user_id:
            raise RuntimeError("the store broke")
        return real(user_id, *args, **kwargs)

    monkeypatch.setattr(sources, "import_entries", failing_for_bob)
    run = poll()
    assert (run.polled, run.failed, run.imported) == (2, 1, 4)
    assert len(alice_cbg(api)) == 4


def test_the_due_sites_are_the_longest_due_across_shards_and_no_more_are_read(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    repos = repositories()
    owners = [f"owner-{n:02d}" for n in range(40)]
    for n, owner in enumerate(owners):  # owner-00 due longest ago; the last ten not yet due
        due = NOW - timedelta(minutes=40 - n) + timedelta(minutes=11 if n >= 30 else 0)
        linked = format_utc(NOW)
        site = domain.Source(owner, "https://ns.example.org", "sealed", linked, format_utc(due),
                             domain.Cursor(0))  # fmt: skip
        repos.sources.link(site)
    read: list[int] = []
    client = SourceModel._get_connection().connection.client
    client.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: read.append(parsed["Count"])
    )
    due = repos.sources.due(format_utc(NOW), 8)
    assert [s.owner for s in due] == owners[:8]
    assert sum(read) <= 8 + 4 * 2  # items read: what the merge used, and a page more a shard
    assert [s.owner for s in repos.sources.due(format_utc(NOW), 100)] == owners[:30]
