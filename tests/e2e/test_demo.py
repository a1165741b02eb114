"""`make run`'s demo: a clinic whose patients have data and summaries from the start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Stack, login, start_stack, stop_stack


@pytest.fixture(scope="module")
def demo() -> Iterator[Stack]:
    """One demo stack, with its data, for the module; what it printed is checked at the end."""
    stack = start_stack(None, "--demo", "--no-schedules")
    yield stack
    output = stop_stack(stack)
    assert "Demo clinic" in output and "two weeks of CGM" in output


def test_the_demo_patients_are_summarised_and_visible_to_their_clinician(demo: Stack) -> None:
    carol = login(demo, "carol@tidewater.test")
    alice, bob = login(demo, "alice@tidewater.test"), login(demo, "bob@tidewater.test")
    summaries = {
        who.email: demo.request(
            "GET", f"/v1/users/{who.user_id}/summary", headers=carol.headers
        ).json()
        for who in (alice, bob)
    }
    for summary in summaries.values():
        assert summary["cgm"]["periods"]["14d"]["timeCGMUsePercent"] > 0.9
        assert "outdatedSince" not in summary["dates"]
    # Bob's demo data has lows, Alice's none: TIDE would flag Bob first.
    assert summaries["bob@tidewater.test"]["cgm"]["periods"]["14d"]["inVeryLow"]["percent"] > 0.01
    assert summaries["alice@tidewater.test"]["cgm"]["periods"]["14d"]["inVeryLow"]["percent"] == 0


def test_the_first_export_of_a_demo_stack_publishes_a_slice_for_the_researcher(
    demo: Stack,
) -> None:
    exported = demo.request("POST", "/_local/invoke/export")
    dana = login(demo, "dana@tidewater.test")
    listing = demo.request("GET", "/v1/donations/slices", headers=dana.headers)
    assert exported.status == 200 and exported.json()["slices"] >= 1
    (entry,) = listing.json()["data"]["slices"]
    assert entry["donors"] >= 5 and entry["rows"] > 0
