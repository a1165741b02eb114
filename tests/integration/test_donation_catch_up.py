"""A window withheld below k is decided again while inside the catch-up range; an empty
manifest says why, never who."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.integration.donation_support import NOW, WINDOW, donor, published, repos_with
from tidewater.domain import donation
from tidewater.domain.identity import Caller, Role, Via
from tidewater.services import donations, exporter

pytestmark = pytest.mark.usefixtures("aws")

DONORS = [f"c4tchup00{i}" for i in range(5)]
RESEARCHER = Caller("re5earch01", Role.RESEARCHER, Via.SESSION)


def _export(repos, now=NOW):  # type: ignore[no-untyped-def]
    return exporter.run(repos, now=now, rng=random.Random(3))


def test_a_window_withheld_below_k_publishes_once_a_fifth_donor_consents() -> None:
    repos = repos_with()
    for user_id in DONORS[:4]:
        donor(repos, user_id)
    assert _export(repos).slices == 0
    assert repos.donations.window(WINDOW.index).state == donation.WITHHELD
    donor(repos, DONORS[4])  # a day late
    assert _export(repos, NOW + timedelta(days=1)).slices == 1
    (published_slice,) = published(repos)
    assert len(published_slice.hashes) == 5
    assert repos.donations.window(WINDOW.index).state == donation.PUBLISHED
    # Published: decided for good.
    assert _export(repos, NOW + timedelta(days=2)).slices == 0


def test_a_withheld_window_out_of_the_catch_up_range_stays_withheld() -> None:
    repos = repos_with()
    for user_id in DONORS[:4]:
        donor(repos, user_id)
    _export(repos)
    donor(repos, DONORS[4])
    late = NOW + timedelta(days=donation.CATCH_UP_DAYS + 1)
    _export(repos, late)
    assert repos.donations.window(WINDOW.index).state == donation.WITHHELD
    assert published(repos) == []


def test_an_empty_manifest_says_why_without_saying_who() -> None:
    repos = repos_with()
    assert donations.slices_response(RESEARCHER, repos)["meta"] == {"reason": "no-export-yet"}
    early = WINDOW.end + timedelta(days=30) - timedelta(days=donation.CATCH_UP_DAYS + 7)
    _export(repos, early)  # nothing ended 30 days ago inside the range yet
    answer = donations.slices_response(RESEARCHER, repos)
    assert answer["data"]["slices"] == []
    assert answer["meta"] == {"reason": "no-window-past-embargo"}
    for user_id in DONORS[:4]:
        donor(repos, user_id)
    _export(repos)
    answer = donations.slices_response(RESEARCHER, repos)
    assert answer["meta"] == {"reason": "withheld-below-k"}
    assert not any(user_id in str(answer) for user_id in DONORS)
    donor(repos, DONORS[4])
    _export(repos, NOW + timedelta(days=1))
    answer = donations.slices_response(RESEARCHER, repos)
    assert "meta" not in answer and len(answer["data"]["slices"]) == 1
