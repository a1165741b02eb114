"""`make run`'s demo: a clinic whose patients have data and summaries from the start."""

from __future__ import annotations

from tests.e2e.conftest import login, start_stack, stop_stack


def test_the_demo_patients_are_summarised_and_visible_to_their_clinician() -> None:
    stack = start_stack(None, "--demo", "--no-schedules")
    try:
        carol = login(stack, "carol@tidewater.test")
        alice, bob = login(stack, "alice@tidewater.test"), login(stack, "bob@tidewater.test")
        summaries = {
            who.email: stack.request(
                "GET", f"/v1/users/{who.user_id}/summary", headers=carol.headers
            ).json()
            for who in (alice, bob)
        }
    finally:
        output = stop_stack(stack)
    assert "Demo clinic" in output and "two weeks of CGM" in output
    for summary in summaries.values():
        assert summary["cgm"]["periods"]["14d"]["timeCGMUsePercent"] > 0.9
        assert "outdatedSince" not in summary["dates"]
    # Bob's demo data has lows, Alice's none: TIDE would flag Bob first.
    assert summaries["bob@tidewater.test"]["cgm"]["periods"]["14d"]["inVeryLow"]["percent"] > 0.01
    assert summaries["alice@tidewater.test"]["cgm"]["periods"]["14d"]["inVeryLow"]["percent"] == 0


def test_the_first_export_of_a_demo_stack_publishes_a_slice_for_the_researcher() -> None:
    stack = start_stack(None, "--demo", "--no-schedules")
    try:
        exported = stack.request("POST", "/_local/invoke/export")
        dana = login(stack, "dana@tidewater.test")
        listing = stack.request("GET", "/v1/donations/slices", headers=dana.headers)
    finally:
        stop_stack(stack)
    assert exported.status == 200 and exported.json()["slices"] >= 1
    (entry,) = listing.json()["data"]["slices"]
    assert entry["donors"] >= 5 and entry["rows"] > 0
