"""Following a Nightscout site over real HTTP, where the site is Tidewater's own
`/api/v1/entries` of another local account: one person's uploader posts entries to their
account, a second person links that account's address and API secret as their site, and
`tidewater invoke poll` (the real CLI) reads them into the second account."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import Session, Stack

PASSWORD = "Follower-e2e-password-1"
FACTOR = 18.01559


def _sign_up(stack: Stack, name: str) -> Session:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.org"
    reply = stack.request("POST", "/v1/users", {"email": email, "password": PASSWORD,
                                                "fullName": name})  # fmt: skip
    assert reply.status == 201, reply.body
    return Session(email, reply.json()["data"]["userId"], reply.headers["X-Tidepool-Session-Token"])


def _invoke_poll(stack: Stack) -> dict[str, int]:
    port = str(urlsplit(stack.url).port)
    done = subprocess.run(
        [sys.executable, "-m", "tidewater_local.cli", "invoke", "poll", "--port", port],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def _cgm(stack: Stack, who: Session) -> list[dict[str, object]]:
    reply = stack.request("GET", f"/v1/users/{who.user_id}/data?type=cbg", None, who.headers)
    assert reply.status == 200, reply.body
    return list(reply.json()["data"])


@pytest.fixture
def source(stack: Stack) -> tuple[Session, str]:
    """The followed account: its uploader has posted two hours of xDrip+ entries."""
    who = _sign_up(stack, "followed")
    secret = f"followed-{uuid.uuid4().hex}"
    put = stack.request("PUT", f"/v1/users/{who.user_id}/nightscout", {"secret": secret},
                        who.headers)  # fmt: skip
    assert put.status == 200, put.body
    newest = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    entries = [
        {"type": "sgv", "sgv": 100 + 5 * i, "direction": "Flat", "device": "xDrip-DexcomG6",
         "date": int((newest - timedelta(minutes=5 * i)).timestamp() * 1000)}
        for i in range(24)
    ]  # fmt: skip
    digest = hashlib.sha1(secret.encode(), usedforsecurity=False).hexdigest()
    posted = stack.request("POST", "/api/v1/entries", entries, {"api-secret": digest})
    assert posted.status == 200, posted.body
    return who, secret


def test_a_person_follows_another_accounts_entries_through_the_poll_function(
    stack: Stack, source: tuple[Session, str]
) -> None:
    followed, secret = source
    follower = _sign_up(stack, "follower")
    path = f"/v1/users/{follower.user_id}/nightscout/source"
    linked = stack.request("PUT", path, {"url": stack.url, "token": secret}, follower.headers)
    assert linked.status == 200, linked.body
    assert secret not in linked.body.decode()

    run = _invoke_poll(stack)
    assert run["failed"] == 0, run
    # The local stack's own schedule may have polled the site first: the claim lets one
    # run have it, and the entries arrive either way.
    deadline = time.monotonic() + 30
    while len(cgm := _cgm(stack, follower)) < 24 and time.monotonic() < deadline:
        time.sleep(0.5)
    original = {d["time"]: d["value"] for d in _cgm(stack, followed)}
    assert len(original) == 24
    assert {d["time"]: d["value"] for d in cgm} == pytest.approx(original, rel=1e-12)
    assert all(d["deviceId"] != followed.user_id for d in cgm)

    shown = stack.request("GET", path, None, follower.headers)
    assert shown.status == 200, shown.body
    data = shown.json()["data"]
    assert data["entriesImported"] == 24 and "lastError" not in data
    assert data["lastEntryTime"] == max(original)
    assert secret not in shown.body.decode()

    # Nothing new at the site, and not due yet: a second run reads and stores nothing.
    again = _invoke_poll(stack)
    assert again["imported"] == 0, again
    assert len(_cgm(stack, follower)) == 24
    # The followed account has nothing of the follower's: following is one way.
    assert len(_cgm(stack, followed)) == 24


def test_a_wrong_secret_is_said_on_the_link_and_nothing_is_imported(
    stack: Stack, source: tuple[Session, str]
) -> None:
    follower = _sign_up(stack, "follower")
    path = f"/v1/users/{follower.user_id}/nightscout/source"
    wrong = stack.request("PUT", path, {"url": stack.url, "token": "not-the-secret-at-all"},
                          follower.headers)  # fmt: skip
    assert wrong.status == 200, wrong.body
    _invoke_poll(stack)
    deadline = time.monotonic() + 30
    data = stack.request("GET", path, None, follower.headers).json()["data"]
    while "lastError" not in data and time.monotonic() < deadline:
        time.sleep(0.5)
        data = stack.request("GET", path, None, follower.headers).json()["data"]
    assert "refused the token (401)" in data["lastError"], data
    assert _cgm(stack, follower) == []
