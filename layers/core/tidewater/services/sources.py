"""A person's own Nightscout site, followed: link, show, unlink, and the poller's run.

The poller (functions/poll, once a minute) takes the sites due from the `due` index, claims
each (so that two runs never poll one site at once), reads its new entries a page at a time
(domain/sources.py: the cursor) and stores the `sgv` ones through the same path as an
uploader's `POST /api/v1/entries`: validated, in mmol/L, under ids that make a second read
of the same entry replace the first, the summary marked out of date. One slow or failing
site holds up no other: every site has its own deadline, the sites are polled side by side,
a run polls at most `limit` sites and starts none after its budget, and a failing site is
tried less and less often (backoff), with its error kept in words for its owner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from tidewater.domain import sources
from tidewater.domain.datums.checks import Datum, Problems, wrong_body
from tidewater.domain.errors import InvalidData, NotFound, Unavailable
from tidewater.domain.identity import Action, Caller
from tidewater.domain.nightscout import DATE_MAX, entry_date_ms, entry_to_datum, validate_entry
from tidewater.domain.sources import Cursor, Refused, SiteError, Source
from tidewater.domain.timeutil import format_utc, to_epoch_ms
from tidewater.observability import logger
from tidewater.services.access import require
from tidewater.services.nightscout import import_entries
from tidewater.store.repos import Repositories
from tidewater.store.sessions import seal, seal_key, unseal

if TYPE_CHECKING:
    from tidewater.store.sites import Fetcher

_SEAL_LABEL: Final = b"tidewater source token seal v1"
SITES_PER_RUN: Final = 400
WORKERS: Final = 16
BUDGET_SECONDS: Final = 35.0  # no site is started later in a run (the function has 60 s)


def reach(repos: Repositories) -> sources.Reach:
    settings = repos.settings
    return sources.Reach(settings.source_allow_http, settings.source_allow_private)


def fetcher(repos: Repositories) -> Fetcher:
    """The poller's HTTP client, imported here: the routes in the ingest function never
    fetch, and need not load it when they start."""
    from tidewater.store.sites import Fetcher

    return Fetcher(reach(repos))


def _key(repos: Repositories) -> bytes:
    return seal_key(repos.secrets.platform_secret(), _SEAL_LABEL)


# ---------------------------------------------------------------------- the owner's routes
def link(caller: Caller, user_id: str, body: object, repos: Repositories, now: datetime) -> dict:
    """Follow the person's site (replacing one linked before): it is first read at once,
    from `BACKFILL` back."""
    require(caller, Action.WRITE, user_id, repos)
    if type(body) is not dict:
        raise wrong_body("the body must be an object with `url` and `token`")
    token = body.get("token")
    url, problems = sources.checked_link(body.get("url"), token, reach(repos))
    if problems:
        raise InvalidData(errors=problems)
    assert isinstance(token, str)
    source = Source(
        owner=user_id,
        url=url,
        sealed=seal(_key(repos), user_id, token),
        linked_time=format_utc(now),
        poll_due=format_utc(now),
        cursor=Cursor(to_epoch_ms(now - sources.BACKFILL)),
    )
    repos.sources.link(source)
    logger.info("nightscout site linked")
    return source.public()


def show(caller: Caller, user_id: str, repos: Repositories) -> dict:
    require(caller, Action.WRITE, user_id, repos)  # the owner's alone, as the token is
    source = repos.sources.get(user_id)
    if source is None:
        raise NotFound("no Nightscout site is linked")
    return source.public()


def unlink(caller: Caller, user_id: str, repos: Repositories) -> None:
    require(caller, Action.WRITE, user_id, repos)
    if not repos.sources.unlink(user_id):
        raise NotFound("no Nightscout site is linked")
    logger.info("nightscout site unlinked")


# ---------------------------------------------------------------------- the poller
@dataclass
class PollRun:
    due: int = 0  # sites read from the index
    polled: int = 0  # sites this run claimed and asked
    failed: int = 0  # of those, the ones that failed
    pages: int = 0  # entries pages read
    imported: int = 0  # sgv entries stored
    skipped: int = 0  # entries left out: not valid, or not sgv
    late: int = 0  # sites left for the next run: the budget was spent

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class _Outcome:
    polled: bool
    failed: bool = False
    pages: int = 0
    imported: int = 0
    skipped: int = 0
    late: bool = False


def poll_due(
    repos: Repositories,
    site: Fetcher,
    now: Callable[[], datetime],
    *,
    limit: int = SITES_PER_RUN,
    workers: int = WORKERS,
    budget: float = BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> PollRun:
    """One run over the sites due now."""
    started = clock()
    due = repos.sources.due(format_utc(now()), limit)
    run = PollRun(due=len(due))
    if not due:
        return run
    key = _key(repos)

    def one(source: Source) -> _Outcome:
        if clock() - started > budget:
            return _Outcome(polled=False, late=True)
        try:
            return _poll(source, repos, site, key, now())
        except Exception:  # one site's trouble (a store refusal, say) is no other site's
            logger.exception("nightscout site poll failed")
            return _Outcome(polled=True, failed=True)

    count = max(1, min(workers, len(due)))
    if count > 1:
        repos.connect()
        with ThreadPoolExecutor(count, thread_name_prefix="poll") as pool:
            outcomes = list(pool.map(one, due))
    else:
        outcomes = [one(source) for source in due]
    for outcome in outcomes:
        run.polled += outcome.polled
        run.failed += outcome.failed
        run.pages += outcome.pages
        run.imported += outcome.imported
        run.skipped += outcome.skipped
        run.late += outcome.late
    logger.info("nightscout sites polled", extra=run.as_dict())
    return run


def _poll(
    source: Source, repos: Repositories, site: Fetcher, key: bytes, now: datetime
) -> _Outcome:
    if not repos.sources.claim(source, format_utc(now + sources.LEASE)):
        return _Outcome(polled=False)  # another run has it, or it was unlinked
    token_query, headers = sources.credentials(unseal(key, source.owner, source.sealed))

    def query_of(cursor: Cursor) -> list[tuple[str, str]]:
        return [*cursor.query(), *token_query.items()]

    cursor, error = source.cursor, None
    pages = imported = skipped = 0
    owner_checked = False
    newest_stored = source.last_entry_time
    while pages < sources.PAGES_PER_RUN:
        try:
            page = site.get_json(sources.entries_path(source.url), query_of(cursor), headers)
        except (Refused, SiteError) as why:
            error = str(why)
            break
        pages += 1
        if not isinstance(page, list):
            error = "the site's answer is not a list of entries"
            break
        dates, datums, left_out = _page(page, cursor, now)
        if datums and not owner_checked:
            # Read once a poll, and only when there is something to store. A deletion that
            # starts after this check is no matter: its later passes delete what this poll
            # stores (services/erasure.py: GRACE is longer than the poll function's timeout).
            if not repos.accounts.active(source.owner):
                repos.sources.unlink(source.owner)  # the account is gone or going
                return _Outcome(polled=False)
            owner_checked = True
        try:
            stored = _store(source.owner, datums, repos, now)
        except Unavailable:
            error = "the entries could not be stored just now; they will be read again"
            break
        imported += stored
        skipped += left_out + len(datums) - stored
        if datums:
            newest = max(datum["time"] for datum in datums)
            newest_stored = max(newest_stored or newest, newest)
        cursor = cursor.after(dates)
        if cursor.done:
            break
    failures = source.failures + 1 if error else 0
    if error:
        due = sources.backoff(failures, now)
    elif not cursor.done:
        due = now + timedelta(seconds=1)  # more to catch up: at the next run
    else:
        due = sources.next_due(source.owner, now)
    repos.sources.record(replace(
        source, cursor=cursor, failures=failures,
        last_error=sources.short_error(error) if error else None,
        last_polled_time=format_utc(now), last_entry_time=newest_stored,
        imported=source.imported + imported, poll_due=format_utc(due),
    ))  # fmt: skip
    if error:
        logger.info("nightscout site failed", extra={"failures": failures})
    return _Outcome(True, bool(error), pages, imported, skipped)


def _page(page: list[Any], cursor: Cursor, now: datetime) -> tuple[list[int], list[Datum], int]:
    """(the dates of the page's entries in the range asked for, the datums of its valid
    `sgv` ones, how many it had that are not stored: other types, invalid ones). A site that
    ignores the range gives fewer dates than entries, which ends the catching up."""
    low, high = cursor.watermark, cursor.below if cursor.below is not None else DATE_MAX + 1
    dates: list[int] = []
    datums: list[Datum] = []
    left_out = 0
    for entry in page:
        problems: Problems = []
        validate_entry(entry, "", problems)
        if problems:
            left_out += 1
            continue
        date = entry_date_ms(entry)
        if not low < date < high:
            left_out += 1
            continue
        dates.append(date)
        if entry["type"] != "sgv":
            left_out += 1
            continue
        datums.append(entry_to_datum(entry))
    return dates, datums, left_out


def _store(owner: str, datums: list[Datum], repos: Repositories, now: datetime) -> int:
    """Store the datums; those the upload path refuses (a time far ahead, say) are left out
    rather than failing the rest. How many were stored."""
    if not datums:
        return 0
    return import_entries(owner, datums, repos, now, drop_invalid=True).stored
