"""Data donation over real HTTP: donors consent and upload, the export runs
(`tidewater invoke export`), a researcher downloads the slice through its presigned URL
(served by moto's S3), and a withdrawal rewrites it."""

from __future__ import annotations

import csv
import gzip
import io
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import Session, Stack, login, start_stack, stop_stack
from tidewater.domain import donation
from tidewater.domain.timeutil import format_utc

PASSWORD = "Donor-e2e-pass-1"
DEVICE = "DexG6-SN-e2e-7Q"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """A stack of this module's own: the first export decides every due window, so no other
    test's `invoke export` may run before these."""
    running = start_stack(None, "--demo", "--no-demo-data")
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def alice(stack: Stack) -> Session:
    return login(stack, "alice@tidewater.test")


@pytest.fixture(scope="module")
def bob(stack: Stack) -> Session:
    return login(stack, "bob@tidewater.test")


def _sign_up(stack: Stack, role: str) -> Session:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    body = {"email": email, "password": PASSWORD, "fullName": f"E2E {role}"}
    reply = stack.request("POST", "/v1/users", body)
    assert reply.status == 201, reply.body
    if role != "patient":  # the operator's grant, then a session that carries it
        granted = stack.request("POST", "/_local/grant-role", {"email": email, "role": role})
        assert granted.status == 200, granted.body
        return login(stack, email, PASSWORD)
    return Session(email, reply.json()["data"]["userId"], reply.headers["X-Tidepool-Session-Token"])


def _upload(stack: Stack, who: Session, start: datetime, count: int) -> None:
    created = stack.request("POST", f"/v1/users/{who.user_id}/datasets",
                            {"client": {"name": "org.example.e2e", "version": "1"}},
                            who.headers)  # fmt: skip
    assert created.status == 201, created.body
    datums = [{"type": "cbg", "deviceId": DEVICE, "units": "mg/dL", "value": 90 + i,
               "time": format_utc(start + timedelta(minutes=5 * i)), "timezoneOffset": -300}
              for i in range(count)]  # fmt: skip
    stored = stack.request("POST", f"/v1/datasets/{created.json()['data']['id']}/data", datums,
                           who.headers)  # fmt: skip
    assert stored.status == 200, stored.body


def _download(url: str) -> list[dict[str, str]]:
    with urllib.request.urlopen(url, timeout=30) as response:  # moto's S3, on 127.0.0.1
        text = gzip.decompress(response.read()).decode()
    assert text.startswith("hash,datetime,glucose,trend,noise\n")
    return list(csv.DictReader(io.StringIO(text)))


def test_consent_over_http(stack: Stack, alice: Session, bob: Session) -> None:
    path = f"/v1/users/{alice.user_id}/donation"
    assert stack.request("GET", path, None, alice.headers).json() == {"data": {"consent": False}}
    given = stack.request("PUT", path, {"consent": True}, alice.headers)
    assert given.status == 200 and given.json()["data"]["consent"] is True
    assert "consentedTime" in stack.request("GET", path, None, alice.headers).json()["data"]
    assert stack.request("PUT", path, {"consent": False}, bob.headers).status == 403
    assert stack.request("GET", path).status == 401
    withdrawn = stack.request("PUT", path, {"consent": False}, alice.headers)
    assert withdrawn.json()["data"]["consent"] is False


def test_a_researcher_downloads_a_slice_and_a_withdrawal_rewrites_it(
    stack: Stack, alice: Session
) -> None:
    researcher = _sign_up(stack, "researcher")
    assert stack.request("GET", "/v1/donations/slices", None, alice.headers).status == 403
    empty = stack.request("GET", "/v1/donations/slices", None, researcher.headers)
    assert empty.status == 200 and empty.json()["data"]["slices"] == []

    window = donation.due_windows(datetime.now(UTC), 7, 30)[-1]
    donors = [_sign_up(stack, "patient") for _ in range(6)]
    for i, donor in enumerate(donors):
        consented = stack.request("PUT", f"/v1/users/{donor.user_id}/donation",
                                  {"consent": True}, donor.headers)  # fmt: skip
        assert consented.status == 200
        _upload(stack, donor, window.start + timedelta(days=2, minutes=i), 24)

    result = stack.request("POST", "/_local/invoke/export")
    assert result.status == 200 and result.json()["slices"] == 1, result.body
    listing = stack.request("GET", "/v1/donations/slices", None, researcher.headers).json()
    (entry,) = listing["data"]["slices"]
    assert (entry["donors"], entry["rows"]) == (6, 6 * 24)
    rows = _download(entry["url"])
    assert len(rows) == 6 * 24 and len({r["hash"] for r in rows}) == 6
    assert all(r["datetime"].endswith(":00") and int(r["datetime"][:4]) < 2020 for r in rows)
    body = str(rows)
    assert DEVICE not in body and all(d.user_id not in body for d in donors)
    assert window.start.strftime("%Y-%m-%d") not in body

    leaving = donors[0]
    stack.request("PUT", f"/v1/users/{leaving.user_id}/donation", {"consent": False},
                  leaving.headers)  # fmt: skip
    again = stack.request("POST", "/_local/invoke/export").json()
    assert (again["withdrawals"], again["rewritten"], again["slices"]) == (1, 1, 0)
    listing = stack.request("GET", "/v1/donations/slices", None, researcher.headers).json()
    (rewritten,) = listing["data"]["slices"]
    assert rewritten["id"] == entry["id"] and rewritten["donors"] == 5
    after = _download(rewritten["url"])
    assert len(after) == 5 * 24 and {r["hash"] for r in after} < {r["hash"] for r in rows}
