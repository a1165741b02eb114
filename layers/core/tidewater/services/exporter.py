"""The donation export: consenting donors' CGM data as anonymised, time-shifted CSV slices.

A run (daily) first applies pending withdrawals to the slices already published, then
decides every window that has just passed its embargo (again, for a window withheld below k
at an earlier run), then applies the withdrawals that came in meanwhile, and rewrites
`manifest.json` if anything changed or none is published (it then says why). A frequent
schedule applies the pending withdrawals only.

Memory stays flat as donors and rows grow. Rows must come out sorted by shifted time then
hash, across donors, and each donor's clock offset (the median over the slice) is known only
once all their readings are read. So the export reads one donor at a time (their readings
are a few thousand small tuples), writes each reading as a 16-byte record into the spill
file of its local-time hour under /tmp, and then reads the hours back in order, sorting
one hour (donors x 12 records) at a time into the gzip stream of the multipart upload.
Only the (userId, hash) pairs of the slice's donors stay in memory until the mapping is
written, and DynamoDB is read once, a donor at a time.
"""

from __future__ import annotations

import os
import random
import struct
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import IO, Any, Final

from aws_lambda_powertools.metrics import MetricUnit

from tidewater.domain import donation
from tidewater.domain.donation import Reading, Rng, SliceMembership, SliceRecord, Window, Withdrawal
from tidewater.domain.paging import Position
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.observability import logger, metrics
from tidewater.store import keys
from tidewater.store.donations import Member
from tidewater.store.repos import Repositories

# A claim older than this belongs to a run that died (Lambda stops a run at 15 minutes).
CLAIM_LEASE: Final = timedelta(hours=1)
READ_PAGE: Final = 1000  # datums per Query page
SPILL_HOUR: Final = 3600
MAX_OPEN_SPILLS: Final = 256  # Lambda allows 1,024 descriptors
LINES_PER_WRITE: Final = 2000
# local seconds, hash, glucose, trend index, noise (-1: none)
_RECORD: Final = struct.Struct("<qIHBb")

# Where a donor's stored cbg datums of a window come from (the datums table by default).
CgmSource = Callable[[str, Window], Iterable[Mapping[str, Any]]]


@dataclass
class ExportResult:
    slices: int = 0  # published this run
    withheld: int = 0  # windows with fewer than k donors
    rows: int = 0
    withdrawals: int = 0  # withdrawals applied
    rewritten: int = 0  # published slices rewritten without a withdrawn donor
    dropped: int = 0  # published slices removed: fewer than k donors left

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def datums_source(repos: Repositories) -> CgmSource:
    """The donor's cbg datums of the window, streamed one Query page at a time."""

    def read(user_id: str, window: Window) -> Iterator[Mapping[str, Any]]:
        after: Position | None = None
        while True:
            page = repos.datums.page(user_id, ["cbg"], window.first_time, window.last_time,
                                     limit=READ_PAGE, after=after)  # fmt: skip
            yield from page.items
            after = page.next
            if after is None:
                return

    return read


def run(
    repos: Repositories,
    *,
    now: datetime | None = None,
    rng: Rng | None = None,
    keep_seconds: bool | None = None,
    source: CgmSource | None = None,
) -> ExportResult:
    """One export run. `rng` defaults to the operating system's CSPRNG; tests inject a
    seeded one, and `source` replaces the datums table (the benchmark's in-memory data)."""
    settings = repos.settings
    now = now or utcnow()
    rng = rng or random.SystemRandom()
    keep = settings.donation_keep_seconds if keep_seconds is None else keep_seconds
    read = source or datums_source(repos)
    result = ExportResult()
    changed = apply_withdrawals(repos, now, result)
    for window in donation.due_windows(
        now, settings.donation_slice_days, settings.donation_embargo_days
    ):
        changed |= export_window(repos, window, now, rng, keep, read, result)
    changed |= apply_withdrawals(repos, now, result)
    # Also when nothing changed but no slice is published (the manifest says why), and
    # after any withdrawal (a run that failed after rewriting a slice may not have said so).
    if changed or result.withheld or result.withdrawals or not repos.slices.manifest():
        publish_manifest(repos)
    logger.info("donation export", extra=result.as_dict())
    metrics.add_metric(name="DonationRowsExported", unit=MetricUnit.Count, value=result.rows)
    return result


def apply_pending_withdrawals(repos: Repositories, now: datetime | None = None) -> ExportResult:
    """Only the withdrawals (and account deletions) queued since the last run: the
    frequent schedule, so that a donor's rows leave published slices within minutes."""
    result = ExportResult()
    # Also after a withdrawal that changed no slice: a run that failed after rewriting one
    # may not have announced it.
    if apply_withdrawals(repos, now or utcnow(), result) or result.withdrawals:
        publish_manifest(repos)
    logger.info("donation withdrawals", extra=result.as_dict())
    return result


def publish_manifest(repos: Repositories) -> dict[str, Any]:
    entries = [
        record.manifest_entry(keys.donation_slice_object(record.slice_id))
        for record in repos.donations.published()
    ]
    reason = None
    if not entries:
        withheld = repos.donations.withheld_any()
        reason = donation.WITHHELD_BELOW_K if withheld else donation.NO_WINDOW_PAST_EMBARGO
    document = donation.manifest(entries, reason)
    repos.slices.put_manifest(document)
    return document


# --------------------------------------------------------------------- one window
def export_window(
    repos: Repositories,
    window: Window,
    now: datetime,
    rng: Rng,
    keep_seconds: bool,
    read: CgmSource,
    result: ExportResult,
) -> bool:
    """Decide one window: publish its slice, or withhold it below k donors. A published
    window is decided once; a withheld one is decided again at every run while it is due
    (inside the catch-up range), so that a donor who consents late still counts. True if a
    slice was published."""
    existing = repos.donations.window(window.index)
    stale = format_utc(now - CLAIM_LEASE)
    abandoned = existing and existing.state == donation.EXPORTING and existing.claimed_time < stale
    if existing and not (abandoned or existing.state == donation.WITHHELD):
        return False  # decided for good, or another run is at it
    slice_id = existing.slice_id if existing else donation.draw_slice_id(rng)
    claim = SliceRecord(window.index, slice_id, donation.EXPORTING, format_utc(now))
    if not repos.donations.claim_window(claim, stale=existing):
        return False
    min_donors = max(1, repos.settings.donation_min_donors)
    with tempfile.TemporaryDirectory(prefix="slice-") as folder:
        spill = _HourSpill(folder, window.start_seconds)
        members = _spill_donors(repos, window, rng, keep_seconds, read, spill)
        if len(members) < min_donors:
            # The count stays with the export (the manifest only learns that one was withheld).
            repos.donations.decide_window(
                replace(claim, state=donation.WITHHELD, donors=len(members))
            )
            result.withheld += 1
            return False
        # The mapping is stored before the slice exists, so that a withdrawal always finds it.
        repos.donations.add_members(window.index, slice_id, members)
        shift = donation.draw_shift_weeks(rng) * donation.WEEK_SECONDS
        key = keys.donation_slice_object(slice_id)
        stats = _Stats()
        with repos.slices.gzip_upload(key) as out:
            out.write(donation.HEADER)
            for block in spill.rows(shift, stats):
                out.write(block)
        if out.version_id:  # a run that died may have left a version of this key behind
            repos.slices.delete_versions(key, keep=out.version_id)
    published = replace(claim, state=donation.PUBLISHED, rows=stats.rows, donors=len(members),
                        start=stats.first, end=stats.last)  # fmt: skip
    repos.donations.decide_window(published)
    result.slices += 1
    result.rows += stats.rows
    return True


def _spill_donors(
    repos: Repositories,
    window: Window,
    rng: Rng,
    keep_seconds: bool,
    read: CgmSource,
    spill: _HourSpill,
) -> list[Member]:
    """Read each consenting donor's readings, one donor at a time, into the spill; the
    (userId, hash, consent generation) of every donor with at least one reading."""
    taken: set[int] = set()
    members: list[Member] = []
    for user_id, generation in repos.donations.donors():
        readings = [r for r in map(donation.reading, read(user_id, window)) if r is not None]
        if not readings:
            continue
        hash_value = donation.draw_hash(rng, taken)
        offset = donation.median_offset(r.offset_minutes for r in readings)
        spill.add(hash_value, readings, offset, keep_seconds)
        members.append((user_id, donation.format_hash(hash_value), generation))
    return members


@dataclass
class _Stats:
    rows: int = 0
    first: str = ""
    last: str = ""


class _HourSpill:
    """Records bucketed by local-time hour in files under `folder`: an external bucket sort
    whose memory is one donor on the way in and one hour on the way out."""

    def __init__(self, folder: str, origin: int) -> None:
        self.folder = folder
        self.origin = origin
        self.open: dict[int, IO[bytes]] = {}
        self.hours: set[int] = set()

    def _path(self, hour: int) -> str:
        return os.path.join(self.folder, f"{hour:+07d}")

    def add(self, hash_value: int, readings: list[Reading], offset: int, keep: bool) -> None:
        chunks: dict[int, bytearray] = defaultdict(bytearray)
        pack = _RECORD.pack
        for r in readings:
            local = donation.local_seconds(r.utc_seconds, offset, keep_seconds=keep)
            chunks[(local - self.origin) // SPILL_HOUR] += pack(
                local, hash_value, r.glucose, r.trend, r.noise
            )
        for hour, data in chunks.items():
            self._file(hour).write(data)

    def _file(self, hour: int) -> IO[bytes]:
        handle = self.open.get(hour)
        if handle is None:
            if len(self.open) >= MAX_OPEN_SPILLS:
                self._close_all()
            handle = self.open[hour] = open(self._path(hour), "ab")  # noqa: SIM115
            self.hours.add(hour)
        return handle

    def _close_all(self) -> None:
        for handle in self.open.values():
            handle.close()
        self.open.clear()

    def rows(self, shift_seconds: int, stats: _Stats) -> Iterator[str]:
        """CSV rows, hour by hour, sorted by shifted time then hash (then the rest, so that
        the order is total and never the donors' order)."""
        self._close_all()
        fmt = donation.format_row
        for hour in sorted(self.hours):
            path = self._path(hour)
            with open(path, "rb") as handle:
                records = sorted(_RECORD.iter_unpack(handle.read()))
            os.remove(path)
            lines = [fmt(h, local - shift_seconds, g, t, n) for local, h, g, t, n in records]
            if not lines:
                continue
            stats.rows += len(lines)
            stats.first = stats.first or donation.row_datetime(lines[0])
            stats.last = donation.row_datetime(lines[-1])
            for start in range(0, len(lines), LINES_PER_WRITE):
                yield "".join(lines[start : start + LINES_PER_WRITE])


# --------------------------------------------------------------------- withdrawals
class _Unchanged(Exception):
    """Raised inside an upload to abort it: nothing of the slice had to go."""


class _BelowK(Exception):
    """Raised inside an upload to abort it: too few donors would be left in the slice."""


def apply_withdrawals(repos: Repositories, now: datetime, result: ExportResult) -> bool:
    """Rewrite every published slice a withdrawn donor is in, without their rows (or drop
    it below k donors); then forget their mapping. True if a published slice changed.

    A withdrawal covers the slices of the consent it withdraws and of earlier ones: a donor
    who consented again afterwards stays in the slices of the new consent."""
    pending = repos.donations.pending_withdrawals()
    if not pending:
        return False
    removals: dict[int, set[str]] = defaultdict(set)
    affected: list[tuple[Withdrawal, list[SliceMembership]]] = []
    for withdrawal in pending:
        found = [m for m in repos.donations.memberships(withdrawal.user_id) if withdrawal.covers(m)]
        for membership in found:
            removals[membership.index].add(membership.hash)
        affected.append((withdrawal, found))
    changed, blocked = False, set()
    stale = format_utc(now - CLAIM_LEASE)
    for index, hashes in sorted(removals.items()):
        record = repos.donations.window(index)
        if record is None or record.state in (donation.WITHHELD, donation.DROPPED):
            continue
        if record.state == donation.EXPORTING and record.claimed_time >= stale:
            blocked.add(index)  # a run is writing it: this withdrawal waits for the next run
            continue
        if record.state == donation.EXPORTING:
            _drop(repos, record)  # abandoned mid-export: whatever it left is unpublished
            continue
        changed |= _remove_donors(repos, record, hashes, result)
    for withdrawal, memberships in affected:
        if any(m.index in blocked for m in memberships):
            continue
        for membership in memberships:
            repos.donations.forget_membership(withdrawal.user_id, membership.index)
        repos.donations.finish_withdrawal(withdrawal)
        result.withdrawals += 1
    return changed


def _drop(repos: Repositories, record: SliceRecord) -> None:
    repos.slices.delete_versions(keys.donation_slice_object(record.slice_id))
    repos.donations.decide_window(
        replace(record, state=donation.DROPPED, rows=0, donors=0, start="", end="")
    )


def _remove_donors(
    repos: Repositories, record: SliceRecord, hashes: set[str], result: ExportResult
) -> bool:
    """Stream the published slice through a filter into a new version of the same key,
    then delete every older version. Every other row stays byte for byte as published.

    The donors left are counted in the slice itself, not taken from the record: a run that
    failed after rewriting it (before storing the new counts, or before forgetting the
    withdrawn donor's mapping) leaves a slice without those rows, and the next run must
    neither drop it for donors already gone nor keep the old counts in the manifest."""
    key = keys.donation_slice_object(record.slice_id)
    version = repos.slices.current_version(key)
    if version is None:
        _drop(repos, record)
        result.dropped += 1
        return True
    seen: set[str] = set()
    kept: set[str] = set()
    stats = _Stats()
    try:
        with repos.slices.gzip_lines(key, version) as lines, repos.slices.gzip_upload(key) as out:
            out.write(next(lines))  # the header
            batch: list[str] = []
            for line in lines:
                row_hash = donation.row_hash(line)
                if row_hash in hashes:
                    seen.add(row_hash)
                    continue
                kept.add(row_hash)
                stats.rows += 1
                stats.first = stats.first or donation.row_datetime(line)
                stats.last = donation.row_datetime(line)
                batch.append(line)
                if len(batch) == LINES_PER_WRITE:
                    out.write("".join(batch))
                    batch.clear()
            out.write("".join(batch))
            if len(kept) < max(1, repos.settings.donation_min_donors):
                raise _BelowK
            if not seen:
                raise _Unchanged
    except _BelowK:
        _drop(repos, record)
        result.dropped += 1
        return True
    except _Unchanged:
        if (record.rows, record.donors) == (stats.rows, len(kept)):
            return False
        # Rewritten by a run that failed before it stored the counts: store them now.
    else:
        if out.version_id:
            repos.slices.delete_versions(key, keep=out.version_id)
        result.rewritten += 1
    repos.donations.decide_window(replace(record, rows=stats.rows, donors=len(kept),
                                          start=stats.first, end=stats.last))  # fmt: skip
    return True
