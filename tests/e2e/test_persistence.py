"""The local stack loses nothing across a stop and a start, and a save cut short (a kill)
or a snapshot that cannot be read never costs the data kept before."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from tests.conftest import ROOT
from tests.e2e.conftest import Stack, login, start_stack, stop_stack
from tidewater.domain.timeutil import format_utc

SNAPSHOT = "snapshot.json"


def _banner(stack: Stack) -> list[str]:
    """The lines the stack printed on start, up to its `Press Ctrl-C`."""
    lines = []
    while not lines or "Press Ctrl-C" not in lines[-1]:
        lines.append(stack.process.stdout.readline())  # type: ignore[union-attr]
    return lines


def _clinic_id(lines: list[str]) -> str:
    return next(line.split()[2] for line in lines if line.strip().startswith("Demo clinic"))


def _state(stack: Stack) -> dict[str, object]:
    """What Alice would look at, signed in with her password: her data and her summary."""
    alice = login(stack, "alice@tidewater.test")
    data = stack.request(
        "GET", f"/v1/users/{alice.user_id}/data?type=cbg&limit=5000", None, alice.headers
    )
    summary = stack.request("GET", f"/v1/users/{alice.user_id}/summary", None, alice.headers)
    return {"userId": alice.user_id, "data": data.json(), "summary": summary.json(),
            "aliceToken": alice.token}  # fmt: skip


def test_a_restart_finds_everything_and_a_kill_while_saving_keeps_the_last_snapshot(
    tmp_path,
) -> None:
    first = start_stack(tmp_path, "--demo", "--no-demo-data", "--no-schedules")
    clinic_id = _clinic_id(_banner(first))
    alice, carol = login(first, "alice@tidewater.test"), login(first, "carol@tidewater.test")
    created = first.request("POST", f"/v1/users/{alice.user_id}/datasets",
                            {"client": {"name": "org.example.e2e", "version": "1"}},
                            alice.headers)  # fmt: skip
    assert created.status == 201
    # 3,000 readings 5 minutes apart (10.4 days) ending before now: data dated more than a
    # day ahead is refused.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=11)
    for chunk in range(3):  # enough items that a save takes a while
        datums = [{"type": "cbg", "units": "mg/dL", "value": 100 + (i % 50), "deviceId": "E2E",
                   "time": format_utc(start + timedelta(minutes=5 * (chunk * 1000 + i)))}
                  for i in range(1000)]  # fmt: skip
        stored = first.request("POST", f"/v1/datasets/{created.json()['data']['id']}/data",
                               datums, alice.headers)  # fmt: skip
        assert stored.status == 200, stored.body
    assert first.request("POST", "/_local/invoke/summarize").json()["failed"] == 0
    listing = f"/v1/clinics/{clinic_id}/patients?sort=-fullName&limit=1&period=7d"
    page = first.request("GET", listing, None, carol.headers)
    assert page.status == 200 and [e["fullName"] for e in page.json()["data"]] == ["Bob Patient"]
    cursor = page.json()["meta"]["nextCursor"]
    before = _state(first)
    summary = before["summary"]
    assert summary["cgm"]["periods"]["7d"]["timeCGMUsePercent"] > 0  # type: ignore[index]
    output = stop_stack(first)
    assert "saved" in output and "users" in output
    kept = (tmp_path / SNAPSHOT).read_bytes()
    assert (tmp_path / SNAPSHOT).stat().st_mode & 0o777 == 0o600

    second = start_stack(tmp_path, "--demo", "--no-demo-data", "--no-schedules")
    assert _clinic_id(_banner(second)) == clinic_id  # the demo made nothing again
    after = _state(second)
    assert after["userId"] == before["userId"] == alice.user_id
    assert after["data"] == before["data"] and len(after["data"]["data"]) == 3000  # type: ignore[index]
    assert after["summary"] == before["summary"]
    old_token = {"X-Tidepool-Session-Token": alice.token}  # a session from before the restart
    assert (
        second.request("GET", f"/v1/users/{alice.user_id}/summary", None, old_token).status == 200
    )
    carol = login(second, "carol@tidewater.test")
    rest = second.request("GET", f"{listing}&cursor={cursor}", None, carol.headers)
    assert rest.status == 200 and [e["fullName"] for e in rest.json()["data"]] == ["Alice Patient"]

    # Ctrl-C, and a kill while the new snapshot is being written: the last one stays.
    second.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".snapshot.json-*.partial")):
        assert time.monotonic() < deadline, "the save never started"
        time.sleep(0.002)
    second.process.send_signal(signal.SIGKILL)
    second.process.communicate(timeout=30)
    assert (tmp_path / SNAPSHOT).read_bytes() == kept
    assert json.loads(kept)["version"] == 2


def test_a_snapshot_that_cannot_be_read_is_kept_aside_and_the_stack_says_so(tmp_path) -> None:
    (tmp_path / SNAPSHOT).write_text('{"version": 2, "tables": {"DatumsTable": [')
    finished = subprocess.run(
        [sys.executable, "-m", "tidewater_local.cli", "local", "--port", "0", "--data-dir",
         str(tmp_path), "--no-schedules"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert finished.returncode == 1
    assert "could not be loaded" in finished.stderr and "kept" in finished.stderr
    assert not (tmp_path / SNAPSHOT).exists()  # not replaced by an empty stack's snapshot
    (aside,) = tmp_path.glob(f"{SNAPSHOT}.broken-*")
    assert aside.read_text() == '{"version": 2, "tables": {"DatumsTable": ['
