"""Following a person's own Nightscout site: where it may be, when it is due, what to ask it.

Pure: the poller (services/sources.py) and the fetcher (store/sites.py) do the I/O.

- **Where a site may be.** `https` on a public address. `http`, and loopback or private
  addresses, only where the deployment says so (the local stack, for its own test servers);
  never in AWS, where the function's network reaches the instance metadata service and the
  VPC. A URL names a site: no user name or password, no query, no fragment.
- **When it is due.** Every `POLL_MINUTES`, at a second of that interval fixed by the owner
  (`phase`): the sites of a deployment are due spread evenly over the interval, so each
  once-a-minute run polls about a fifth of them, not all at once. A site that fails waits
  twice as long after each failure in a row (up to `BACKOFF_MAX`), with jitter.
- **What to ask.** Nightscout answers entries newest first, `count` at most. The poller asks
  for those after its watermark (`find[date][$gt]`); a full page may hide older ones, so it
  then asks below the oldest it was given (`find[date][$lt]`) until a page is not full, and
  only then moves the watermark up to the newest entry it has seen (`Cursor`). A run stops
  after `PAGES_PER_RUN` pages and carries on where it stopped at the next.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import quote, urlsplit

from tidewater.domain.errors import Problem
from tidewater.domain.limits import SOURCE_TOKEN_MAX, SOURCE_URL_MAX

POLL_MINUTES: Final = 5
BACKOFF_MAX: Final = timedelta(hours=6)
LEASE: Final = timedelta(minutes=3)  # a site claimed by a run is left alone this long
PAGE_COUNT: Final = 1000  # entries asked for a page
PAGES_PER_RUN: Final = 5
BACKFILL: Final = timedelta(days=30)  # how far back a newly linked site is read
URL_MAX: Final = SOURCE_URL_MAX
TOKEN_MAX: Final = SOURCE_TOKEN_MAX
# A Nightscout access token (a subject's name, `-`, 16 hex digits) goes as `?token=`;
# anything else is taken for the API secret, sent as Nightscout clients send it.
_ACCESS_TOKEN: Final = re.compile(r"^[a-z0-9_.]+(?:-[a-z0-9_.]+)*-[0-9a-f]{16}$")
_LOCAL_NAMES: Final = ("localhost", "localhost.localdomain")
ERROR_MAX: Final = 200  # characters of a site's error kept for its owner


@dataclass(frozen=True)
class Reach:
    """What the deployment lets a followed site be."""

    allow_http: bool = False
    allow_private: bool = False


class Refused(ValueError):
    """A site the poller will not reach, and why, in words its owner can act on (never the
    URL or the token)."""


class SiteError(Exception):
    """A site that was reached but did not answer as Nightscout does (words for its owner)."""


def checked_link(url: object, token: object, reach: Reach) -> tuple[str, list[Problem]]:
    """(the site's normalised URL, what is wrong with `{"url", "token"}` as a link to a
    site, pointer by pointer). The URL is "" when there are problems with it."""
    problems: list[Problem] = []
    site = ""
    if type(url) is not str or not url:
        problems.append(Problem("/url", "value-not-valid", "invalid url", "`url` is required"))
    else:
        try:
            site = site_url(url, reach)
        except Refused as why:
            problems.append(Problem("/url", "value-not-valid", "invalid url", str(why)))
    if type(token) is not str or not token.strip():
        detail = "`token` is required: an access token or API secret with read access"
        problems.append(Problem("/token", "value-not-valid", "invalid token", detail))
    elif len(token) > TOKEN_MAX or any(ord(c) < 0x21 or ord(c) == 0x7F for c in token):
        detail = f"`token` must be at most {TOKEN_MAX} printable characters, no spaces"
        problems.append(Problem("/token", "value-not-valid", "invalid token", detail))
    return site, problems


def site_url(url: str, reach: Reach) -> str:
    """The site's base URL, normalised (no trailing `/`); Refused if it may not be followed."""
    if len(url) > URL_MAX:
        raise Refused(f"the URL must be at most {URL_MAX} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise Refused("not a URL") from None
    schemes = ("https", "http") if reach.allow_http else ("https",)
    if parts.scheme not in schemes:
        raise Refused("only https sites can be followed" if not reach.allow_http else
                      "the URL must start with https:// or http://")  # fmt: skip
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL must not hold a user name or password: send the token apart")
    if parts.query or parts.fragment:
        raise Refused("the URL must be the site's address, without a query or fragment")
    if not reach.allow_private:
        literal = ip_literal(host)
        if literal is not None:
            address_refusal(literal)
        elif host.lower() in _LOCAL_NAMES or host.lower().endswith(".localhost"):
            raise Refused("the site's address is this machine's")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc.lower()}{parts.path.rstrip('/')}"


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Refused unless `address` is a public unicast one: no loopback, private, link-local
    (the instance metadata service, 169.254.169.254 and fd00:ec2::254, is both), shared,
    reserved, multicast or unspecified address, nor an IPv6 form of one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is not None:
            address_refusal(embedded)
    if address.is_loopback:
        raise Refused("the site's address is this machine's (loopback)")
    if address.is_link_local:
        raise Refused("the site's address is link-local (as the cloud's metadata service is)")
    if address.is_multicast or not address.is_global:
        raise Refused("the site's address is private or reserved, not on the internet")


def redirect_refusal(origin: str, target: str) -> None:
    """A site may redirect within itself (same scheme, host and port), never elsewhere."""
    a, b = urlsplit(origin), urlsplit(target)
    if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
        raise Refused("the site redirected to another address")


def credentials(token: str) -> tuple[dict[str, str], dict[str, str]]:
    """(query, headers) that present `token` to Nightscout: an access token as `token`, an
    API secret as the SHA-1 hex Nightscout clients send in `api-secret`."""
    if _ACCESS_TOKEN.match(token):
        return {"token": token}, {}
    digest = hashlib.sha1(token.encode(), usedforsecurity=False).hexdigest()
    return {}, {"api-secret": digest}


# ---------------------------------------------------------------------- paging
@dataclass(frozen=True)
class Cursor:
    """Where the poller stands in a site's entries (epoch ms). Every entry at or before
    `watermark` has been imported; with `below` set, so has every one from `below` up to
    `newest`, and the next page asks for (watermark, below)."""

    watermark: int
    below: int | None = None
    newest: int | None = None

    def query(self, count: int | None = None) -> list[tuple[str, str]]:
        """The entries query of the next page (`find[date][$lt]` only while catching up)."""
        count = count or PAGE_COUNT
        query = [("find[date][$gt]", str(self.watermark))]
        if self.below is not None:
            query.append(("find[date][$lt]", str(self.below)))
        query.append(("count", str(count)))
        return query

    def after(self, dates: list[int], count: int | None = None) -> Cursor:
        """The cursor once a page with these entry dates is imported: a page that is not
        full closes the gap; a full one asks below its oldest next."""
        count = count or PAGE_COUNT
        newest = max([*dates, *([self.newest] if self.newest is not None else [])], default=None)
        if len(dates) < count:
            return Cursor(max(self.watermark, newest) if newest is not None else self.watermark)
        return replace(self, below=min(dates), newest=newest)

    @property
    def done(self) -> bool:
        return self.below is None


def entries_path(base_url: str) -> str:
    return f"{base_url}/api/v1/entries.json"


def query_string(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='[]$')}={quote(v, safe='')}" for k, v in pairs)


# ---------------------------------------------------------------------- schedule
def phase(owner: str) -> timedelta:
    """The owner's fixed second within the poll interval."""
    seconds = int.from_bytes(hashlib.sha256(f"poll\x00{owner}".encode()).digest()[:4], "big")
    return timedelta(seconds=seconds % (POLL_MINUTES * 60))


def next_due(owner: str, now: datetime) -> datetime:
    """The owner's next slot strictly after `now`: its phase in the interval after now's."""
    interval = timedelta(minutes=POLL_MINUTES)
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    start = epoch + ((now - epoch) // interval) * interval + phase(owner)
    return start if start > now else start + interval


def backoff(failures: int, now: datetime, rng: random.Random | None = None) -> datetime:
    """When a site that failed `failures` times in a row is tried again: the interval,
    doubled per failure after the first, capped, with ±10 % jitter."""
    base = min(timedelta(minutes=POLL_MINUTES) * 2 ** max(failures - 1, 0), BACKOFF_MAX)
    return now + base * (0.9 + 0.2 * (rng or random).random())


def short_error(text: str) -> str:
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"


# ---------------------------------------------------------------------- a linked site
@dataclass(frozen=True)
class Source:
    """A person's followed site as stored (the token sealed), and where its poller stands."""

    owner: str
    url: str
    sealed: str
    linked_time: str
    poll_due: str | None
    cursor: Cursor
    failures: int = 0
    last_error: str | None = None
    last_polled_time: str | None = None
    last_entry_time: str | None = None
    imported: int = 0

    def state(self) -> dict[str, object]:
        """What the store keeps of the poller's progress (one JSON attribute)."""
        return {
            "watermark": self.cursor.watermark, "below": self.cursor.below,
            "newest": self.cursor.newest, "failures": self.failures,
            "lastError": self.last_error, "lastPolledTime": self.last_polled_time,
            "lastEntryTime": self.last_entry_time, "imported": self.imported,
        }  # fmt: skip

    @classmethod
    def from_state(
        cls, owner: str, url: str, sealed: str, linked_time: str, poll_due: str | None,
        state: dict[str, object],
    ) -> Source:  # fmt: skip
        def number(name: str) -> int | None:
            value = state.get(name)
            return int(value) if isinstance(value, int | float) else None

        def text(name: str) -> str | None:
            value = state.get(name)
            return value if isinstance(value, str) else None

        cursor = Cursor(number("watermark") or 0, number("below"), number("newest"))
        return cls(owner, url, sealed, linked_time, poll_due, cursor, number("failures") or 0,
                   text("lastError"), text("lastPolledTime"), text("lastEntryTime"),
                   number("imported") or 0)  # fmt: skip

    def public(self) -> dict[str, object]:
        """What its owner is shown: never the token."""
        shown: dict[str, object] = {
            "url": self.url, "linkedTime": self.linked_time,
            "lastPolledTime": self.last_polled_time, "lastEntryTime": self.last_entry_time,
            "lastError": self.last_error, "entriesImported": self.imported,
            "nextPollTime": self.poll_due,
        }  # fmt: skip
        return {k: v for k, v in shown.items() if v is not None}
