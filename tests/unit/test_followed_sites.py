"""Following a Nightscout site: which addresses may be reached, what is asked, when."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tidewater.domain import sources
from tidewater.domain.sources import Cursor, Reach, Refused
from tidewater.store.sites import Fetcher, SiteError

AWS = Reach()  # what AWS allows: https, public addresses
LOCAL = Reach(allow_http=True, allow_private=True)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://ns.example.org", "only https"),
        ("ftp://ns.example.org", "only https"),
        ("https://", "no host"),
        ("https://me:secret@ns.example.org", "user name or password"),
        ("https://ns.example.org/?token=abc", "without a query"),
        ("https://ns.example.org/#x", "without a query or fragment"),
        ("https://ns.example.org:99999", "not a URL"),
        ("https://localhost:1337", "this machine's"),
        ("https://api.localhost", "this machine's"),
        ("https://127.0.0.1", "loopback"),
        ("https://[::1]", "loopback"),
        ("https://[::ffff:127.0.0.1]", "loopback"),
        ("https://169.254.169.254", "link-local"),
        ("https://[fe80::1]", "link-local"),
        ("https://[fd00:ec2::254]", "private"),
        ("https://10.0.0.8", "private"),
        ("https://172.16.3.4", "private"),
        ("https://192.168.1.1", "private"),
        ("https://100.64.0.1", "private"),  # shared address space (carrier NAT)
        ("https://0.0.0.0", "private"),
        ("https://224.0.0.1", "private"),
        ("https://[2002:7f00:1::]", "loopback"),  # 6to4 of 127.0.0.1
        ("https://" + "a" * 2050 + ".org", "at most 2048"),
    ],
)
def test_in_aws_a_url_that_could_reach_inside_is_refused(url: str, why: str) -> None:
    with pytest.raises(Refused, match=why):
        sources.site_url(url, AWS)


def test_a_site_url_is_kept_as_its_base_address() -> None:
    assert sources.site_url("https://NS.Example.org/", AWS) == "https://ns.example.org"
    assert (
        sources.site_url("https://ns.example.org:8443/me/", AWS) == "https://ns.example.org:8443/me"
    )
    assert sources.site_url("https://93.184.215.14", AWS) == "https://93.184.215.14"
    # The local stack follows its own test servers.
    assert sources.site_url("http://127.0.0.1:5000/a", LOCAL) == "http://127.0.0.1:5000/a"


@pytest.mark.parametrize(
    ("addresses", "why"),
    [
        (["127.0.0.1"], "loopback"),
        (["10.1.2.3"], "private"),
        (["93.184.215.14", "192.168.0.9"], "private"),  # one refused address refuses the name
        (["169.254.169.254"], "link-local"),
        (["fd00:ec2::254"], "private"),
        (["::ffff:10.0.0.1"], "private"),
    ],
)
def test_in_aws_a_name_that_resolves_inside_is_refused(addresses: list[str], why: str) -> None:
    fetcher = Fetcher(AWS, resolver=lambda host, port: addresses)
    with pytest.raises(Refused, match=why):
        fetcher.get_json("https://ns.example.org/api/v1/entries.json", [], {})


def test_in_aws_a_plain_http_site_is_refused_before_any_request() -> None:
    asked: list[str] = []
    fetcher = Fetcher(AWS, resolver=lambda host, port: asked.append(host) or ["93.184.215.14"])
    with pytest.raises(Refused, match="only https"):
        fetcher.get_json("http://ns.example.org/api/v1/entries.json", [], {})
    assert asked == []


def test_a_public_name_is_connected_to_at_the_address_checked() -> None:
    fetcher = Fetcher(AWS, resolver=lambda host, port: ["93.184.215.14", "2606:2800:21f::1"])
    assert fetcher._address("ns.example.org", 443) == "93.184.215.14"


def test_a_name_that_does_not_resolve_is_said_in_words() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise SiteError("the site's name was not found")

    with pytest.raises(SiteError, match="name was not found"):
        Fetcher(AWS, resolver=nowhere).get_json("https://ns.invalid/api/v1/entries.json", [], {})


def test_a_redirect_may_stay_on_the_site_only() -> None:
    sources.redirect_refusal("https://ns.example.org/a", "https://ns.example.org/b?x=1")
    elsewheres = ("https://evil.example.org/a", "http://ns.example.org/a",
                  "https://ns.example.org:444/a", "https://169.254.169.254/latest")  # fmt: skip
    for elsewhere in elsewheres:
        with pytest.raises(Refused, match="another address"):
            sources.redirect_refusal("https://ns.example.org/a", elsewhere)


def test_an_access_token_goes_as_token_and_an_api_secret_as_its_sha1() -> None:
    assert sources.credentials("tidewater-0123456789abcdef") == (
        {"token": "tidewater-0123456789abcdef"}, {},
    )  # fmt: skip
    secret = "my-long-api-secret"
    digest = hashlib.sha1(secret.encode()).hexdigest()
    assert sources.credentials(secret) == ({}, {"api-secret": digest})


def test_link_problems_point_at_each_field() -> None:
    _, problems = sources.checked_link("http://x.org", "", AWS)
    assert [p.pointer for p in problems] == ["/url", "/token"]
    assert sources.checked_link("https://x.org", "tok\nen", AWS)[1][0].pointer == "/token"
    assert sources.checked_link("https://x.org", "t" * 513, AWS)[1][0].pointer == "/token"
    assert sources.checked_link("https://x.org/ns/", "a-token", AWS) == ("https://x.org/ns", [])


# ---------------------------------------------------------------------- paging
def test_a_page_that_is_not_full_moves_the_watermark_to_its_newest() -> None:
    cursor = Cursor(1000)
    assert cursor.query(3) == [("find[date][$gt]", "1000"), ("count", "3")]
    assert cursor.after([1500, 1200], count=3) == Cursor(1500)
    assert cursor.after([], count=3) == Cursor(1000)


def test_a_full_page_asks_below_its_oldest_until_the_gap_is_closed() -> None:
    # Entries at 1100 ... 1800 every 100; pages of 3, newest first.
    cursor = Cursor(1000).after([1800, 1700, 1600], count=3)
    assert cursor == Cursor(1000, below=1600, newest=1800) and not cursor.done
    assert cursor.query(3) == [
        ("find[date][$gt]", "1000"), ("find[date][$lt]", "1600"), ("count", "3"),
    ]  # fmt: skip
    cursor = cursor.after([1500, 1400, 1300], count=3)
    assert cursor == Cursor(1000, below=1300, newest=1800)
    # The last page is short: everything up to the newest seen is in.
    assert cursor.after([1200, 1100], count=3) == Cursor(1800)


# ---------------------------------------------------------------------- schedule
def test_each_site_is_due_every_five_minutes_at_its_own_second() -> None:
    now = datetime(2026, 12, 3, 10, 2, 30, tzinfo=UTC)
    due = sources.next_due("owner-1", now)
    assert now < due <= now + timedelta(minutes=5)
    assert sources.next_due("owner-1", due) == due + timedelta(minutes=5)
    assert (due - datetime(2026, 12, 3, 10, 0, tzinfo=UTC)) % timedelta(minutes=5) == sources.phase(
        "owner-1"
    )


def test_the_sites_of_a_deployment_are_spread_over_the_interval() -> None:
    # 5,000 owners: each of the 5 minutes of the interval gets about a fifth of them.
    minutes = Counter(sources.phase(f"owner-{n}") // timedelta(minutes=1) for n in range(5000))
    assert set(minutes) == {0, 1, 2, 3, 4}
    assert all(900 <= count <= 1100 for count in minutes.values()), minutes


def test_a_failing_site_waits_twice_as_long_after_each_failure_up_to_six_hours() -> None:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    rng = random.Random(1)
    waits = [sources.backoff(n, now, rng) - now for n in (1, 2, 3, 4, 10, 30)]
    for wait, minutes in zip(waits, (5, 10, 20, 40, 360, 360), strict=True):
        assert timedelta(minutes=minutes * 0.9) <= wait <= timedelta(minutes=minutes * 1.1)
