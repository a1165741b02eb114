"""The scheduled fold (functions/summarize): every iteration takes up to `summary_batches`
batches of the `summary_batch_size` most out-of-date accounts (oldest first) and brings their
summaries up to date from the samples that changed since the last summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from tidewater.domain import summary
from tidewater.domain.accounts import Finished, SummaryWork
from tidewater.domain.outdated import period_bounds
from tidewater.domain.timeutil import format_utc, from_epoch_ms, parse_rfc3339, to_epoch_ms
from tidewater.observability import logger, metrics
from tidewater.services.clinics import refresh_patient_rows
from tidewater.store.repos import Repositories

# Datum type → summary kind.
KINDS = {"cbg": summary.CGM, "smbg": summary.BGM}
# Longer than one account can take; a crashed summariser's lease runs out by then.
LEASE_MS = 60_000
WINDOW_MS = 1440 * summary.HOUR_MS


@dataclass
class IterationResult:
    selected: int = 0
    summarized: int = 0
    failed: int = 0
    skipped: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run_iteration(
    repos: Repositories, clock: Callable[[], float] = time.time, workers: int | None = None
) -> IterationResult:
    """One iteration: batch after batch of the most out-of-date accounts, each batch's
    accounts summarised by up to `workers` threads at once (settings.summary_workers).

    An account's work is its own (a lease taken by a conditional write, its buckets, its
    clinic rows, a conditional finish), so accounts overlap their DynamoDB round trips
    safely; a batch is done before the next is read, so no account is in two at once."""
    settings = repos.settings
    size = settings.summary_batch_size
    count = max(1, settings.summary_workers if workers is None else workers)
    result = IterationResult()
    failed: set[str] = set()
    pool = ThreadPoolExecutor(count, thread_name_prefix="summary") if count > 1 else None
    if pool is not None:
        repos.connect()
    try:
        for _ in range(settings.summary_batches):
            now = format_utc(from_epoch_ms(int(clock() * 1000)))
            # Accounts that failed this iteration stay outdated; they are not retried until
            # the next one, so one bad account cannot take every batch.
            candidates = repos.accounts.oldest_outdated(size + len(failed), now)
            batch = [a.user_id for a in candidates if a.user_id not in failed][:size]
            if not batch:
                break
            result.batches += 1
            result.selected += len(batch)

            def attempt(user_id: str) -> bool | Exception:
                try:
                    return summarize_account(user_id, repos, clock)
                except Exception as error:  # one failing account never blocks the batch
                    # No user id in the log: the count and the error's type are enough.
                    logger.exception("summary failed", error_type=type(error).__name__)
                    return error

            outcomes = pool.map(attempt, batch) if pool is not None else map(attempt, batch)
            for user_id, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    failed.add(user_id)
                    result.failed += 1
                elif outcome:
                    result.summarized += 1
                else:
                    result.skipped += 1
            if len(candidates) < size + len(failed):
                break  # caught up
    finally:
        if pool is not None:
            pool.shutdown()
    metrics.add_metric(name="UsersSummarized", unit="Count", value=result.summarized)
    if result.failed:
        metrics.add_metric(name="UsersSummaryFailed", unit="Count", value=result.failed)
    logger.info("summariser iteration", extra=result.as_dict())
    return result


def _changed_ranges(work: SummaryWork) -> dict[str, list[tuple[int, int]]]:
    """Touched periods → [start_ms, end_ms) ranges per summary kind."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for period in work.touched:
        datum_type, first, last = period_bounds(period)
        if datum_type in KINDS:
            span = (to_epoch_ms(parse_rfc3339(first)), to_epoch_ms(parse_rfc3339(last)) + 1)
            ranges.setdefault(KINDS[datum_type], []).append(span)
    return ranges


def _loader(repos: Repositories, user_id: str, datum_type: str) -> summary.Loader:
    return lambda start_ms, end_ms: _samples(repos, user_id, datum_type, start_ms, end_ms)


def _samples(
    repos: Repositories, user_id: str, datum_type: str, start_ms: int, end_ms: int
) -> list[summary.Sample] | list[dict[str, Any]]:
    """The samples of the stored datums of one type with start_ms <= time < end_ms, from
    their packed form; their datums where one has none or two share a time."""
    if end_ms <= start_ms:
        return []
    start, end = _text_range(start_ms, end_ms)
    packed = repos.datums.samples_between(user_id, datum_type, start, end)
    found = None if packed is None else summary.samples_from_packed(packed, KINDS[datum_type])
    if found is None:
        return list(repos.datums.between(user_id, datum_type, start, end))
    return found


def _text_range(start_ms: int, end_ms: int) -> tuple[str, str]:
    """[start_ms, end_ms) as the first and last stored times it holds."""
    return format_utc(from_epoch_ms(max(0, start_ms))), format_utc(from_epoch_ms(end_ms - 1))


def _rebuild(repos: Repositories, user_id: str, datum_type: str, kind: str) -> summary.Buckets:
    """All buckets of a kind from the datums: the newest sample, then its 60-day window,
    from the packed samples (the bodies where one has none or two share a time)."""
    newest = repos.datums.latest(user_id, datum_type, "0000", "9999", 1)
    if not newest:
        return summary.Buckets(kind)
    last_ms = to_epoch_ms(parse_rfc3339(newest[0]["time"]))
    start = last_ms - last_ms % summary.HOUR_MS - WINDOW_MS + summary.HOUR_MS
    first, last = _text_range(start, last_ms + 1)
    packed = repos.datums.samples_between(user_id, datum_type, first, last)
    built = None if packed is None else summary.buckets_from_packed(packed, kind)
    if built is not None:
        return built
    return summary.buckets_from_datums(
        list(repos.datums.between(user_id, datum_type, first, last)), kind
    )


def summarize_account(
    user_id: str, repos: Repositories, clock: Callable[[], float] = time.time
) -> bool:
    """Bring one account's summary up to date; False if another summariser holds it."""
    now_ms = int(clock() * 1000)
    work = repos.accounts.begin_summary(user_id, now_ms, LEASE_MS)
    if work is None:
        return False
    stored, fingerprints = repos.buckets.load(user_id)
    changed = _changed_ranges(work)
    folded: dict[str, Any] = {}
    has_data = False
    for datum_type, kind in KINDS.items():
        current = stored.get(kind)
        if work.touched_all or (current is None and kind in changed):
            updated = _rebuild(repos, user_id, datum_type, kind)
        elif current is None:
            updated = summary.Buckets(kind)
        elif kind in changed:
            updated = summary.update_buckets(
                current, changed[kind], _loader(repos, user_id, datum_type)
            )
        else:
            updated = current
        if updated is not current:
            repos.buckets.save(user_id, updated, fingerprints.get(kind, {}))
        folded[kind] = summary.summarize_buckets(updated)
        has_data = has_data or updated.last_ms is not None
    document = folded if has_data else None  # an account with no data left loses its summary
    # The clinic rows first, under the lease: the account is marked up to date only once
    # they are written. If they fail (throttling that outlasts the retries), the account
    # stays outdated and the next run after the lease writes them again from the same data.
    if work.clinic_ids:
        refresh_patient_rows(user_id, work.full_name, document, set(work.clinic_ids), repos)
    finished = repos.accounts.finish_summary(work, document, format_utc(from_epoch_ms(now_ms)))
    return finished is not Finished.LEASE_LOST
