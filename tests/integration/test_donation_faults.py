"""The donation export and withdrawals on a bad day at DynamoDB (tests/faults.py): a run
that fails midway publishes nothing half-done, and the next run (once the claim of the
failed one has run out) publishes the slice, or applies the withdrawal, exactly as a clean
run does. Golden values from the donors' own readings, not from the export."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from tests.faults import Faults
from tests.integration.donation_support import (
    NOW,
    WINDOW,
    consent,
    donor,
    hash_of,
    published,
    repos_with,
)
from tidewater.domain.errors import Unavailable
from tidewater.services import exporter
from tidewater.services.exporter import CLAIM_LEASE
from tidewater.store.models import DatumModel, MemberModel, SliceModel

DONORS = [f"d0n0r{i:05d}" for i in range(6)]
READINGS = 48  # per donor: every 30 minutes for a day of the window


def _export(repos, now=NOW) -> exporter.ExportResult:  # type: ignore[no-untyped-def]
    return exporter.run(repos, now=now, rng=random.Random(7))


def _glucose(items: list[dict]) -> Counter[str]:
    """The readings as a slice writes them: whole mg/dL."""
    return Counter(str(round(item["value"] * 18.01559)) for item in items)


@pytest.mark.parametrize(
    ("operation", "table"),
    [
        ("Query", DatumModel),  # a donor's readings
        ("BatchWriteItem", MemberModel),  # the donors' mapping, stored before the slice
        ("PutItem", SliceModel),  # the window's decision, after the slice is written
    ],
)
def test_an_export_that_failed_midway_is_published_whole_by_the_next_run(
    faults: Faults, operation: str, table: object
) -> None:
    repos = repos_with()
    stored = [item for user_id in DONORS for item in donor(repos, user_id, count=READINGS)]
    faults.throttle(operation, table, times=None, after=1 if operation == "PutItem" else 0)
    with pytest.raises(Unavailable):
        _export(repos)
    assert (repos.slices.manifest() or {}).get("slices", []) == []  # nothing announced
    faults.clear()

    result = _export(repos, now=NOW + CLAIM_LEASE + timedelta(minutes=1))
    assert (result.slices, result.rows) == (1, len(DONORS) * READINGS)
    (published_slice,) = published(repos)
    rows = published_slice.rows
    assert len(published_slice.hashes) == len(DONORS)
    assert Counter(row["glucose"] for row in rows) == _glucose(stored)
    (entry,) = repos.slices.manifest()["slices"]
    assert (entry["id"], entry["rows"], entry["donors"]) == (
        published_slice.slice_id, len(rows), len(DONORS),
    )  # fmt: skip
    assert {hash_of(repos, user_id) for user_id in DONORS} == published_slice.hashes


@pytest.mark.parametrize(
    ("operation", "table"),
    [
        ("PutItem", SliceModel),  # the slice's new counts, after its rewrite
        ("DeleteItem", MemberModel),  # the donor's mapping forgotten
    ],
)
def test_a_withdrawal_that_failed_midway_is_applied_whole_by_the_next_run(
    faults: Faults, operation: str, table: object
) -> None:
    repos = repos_with()
    stored = {user_id: donor(repos, user_id, count=READINGS) for user_id in DONORS}
    _export(repos)
    leaving = hash_of(repos, DONORS[0])
    consent(repos, DONORS[0], False, NOW + timedelta(hours=1))
    faults.throttle(operation, table, times=None)
    with pytest.raises(Unavailable):
        exporter.apply_pending_withdrawals(repos, NOW + timedelta(hours=2))
    faults.clear()
    assert len(repos.donations.pending_withdrawals()) == 1  # still to be done

    result = exporter.apply_pending_withdrawals(repos, NOW + timedelta(hours=3))
    assert result.withdrawals == 1
    (published_slice,) = published(repos)
    staying = [item for user_id in DONORS[1:] for item in stored[user_id]]
    assert leaving not in published_slice.hashes
    assert len(published_slice.hashes) == len(DONORS) - 1
    assert Counter(row["glucose"] for row in published_slice.rows) == _glucose(staying)
    (entry,) = repos.slices.manifest()["slices"]
    assert (entry["rows"], entry["donors"]) == (len(staying), len(DONORS) - 1)
    assert repos.donations.memberships(DONORS[0]) == []
    assert repos.donations.pending_withdrawals() == []
    assert WINDOW.index in {m.index for m in repos.donations.memberships(DONORS[1])}
