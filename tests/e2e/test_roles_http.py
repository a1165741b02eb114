"""Roles over HTTP: a sign-up cannot declare one; `tidewater grant-role` grants one, and it
counts from the account's next login; patient takes it away."""

from __future__ import annotations

import subprocess
import sys
import uuid

from tests.conftest import ROOT
from tests.e2e.conftest import Stack, login

PASSWORD = "Another-good-pw-7"


def _grant(stack: Stack, email: str, role: str) -> subprocess.CompletedProcess[str]:
    port = stack.url.rsplit(":", 1)[1]
    return subprocess.run(
        [sys.executable, "-m", "tidewater_local.cli", "grant-role", email, role, "--port", port],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_clinician_is_granted_not_self_declared(stack: Stack) -> None:
    email = f"dr-{uuid.uuid4().hex[:8]}@example.org"
    body = {"email": email, "password": PASSWORD, "fullName": "Dr New", "role": "clinician"}
    refused = stack.request("POST", "/v1/users", body)
    assert refused.status == 400
    assert refused.json()["errors"][0]["source"]["pointer"] == "/role"
    del body["role"]
    created = stack.request("POST", "/v1/users", body)
    assert created.status == 201 and created.json()["data"]["role"] == "patient"
    before = login(stack, email, PASSWORD)
    clinic = {"name": "Dr New's clinic"}
    assert stack.request("POST", "/v1/clinics", clinic, before.headers).status == 403

    done = _grant(stack, email, "clinician")
    assert done.returncode == 0, done.stderr
    assert "clinician" in done.stdout and before.user_id in done.stdout
    assert stack.request("POST", "/v1/clinics", clinic, before.headers).status == 403  # old token
    after = login(stack, email, PASSWORD)
    assert stack.request("POST", "/v1/clinics", clinic, after.headers).status == 200
    profile = stack.request("GET", f"/v1/users/{after.user_id}", headers=after.headers)
    assert profile.json()["data"]["role"] == "clinician"

    assert _grant(stack, email, "patient").returncode == 0
    again = login(stack, email, PASSWORD)
    assert stack.request("POST", "/v1/clinics", clinic, again.headers).status == 403


def test_a_grant_to_an_unknown_account_says_so(stack: Stack) -> None:
    done = _grant(stack, "nobody-at-all@example.org", "researcher")
    assert done.returncode != 0
    assert "404" in done.stderr
