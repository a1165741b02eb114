"""A person's export over real HTTP: the 303 is followed to the presigned URL (moto's S3 on
127.0.0.1) and the file read; `tidewater export-user` does the same from the shell."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.conftest import DEMO_PASSWORD, Session, Stack
from tidewater.domain.timeutil import format_utc

START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


def _upload(stack: Stack, who: Session) -> list[str]:
    created = stack.request("POST", f"/v1/users/{who.user_id}/datasets",
                            {"client": {"name": "org.example.e2e", "version": "1"}},
                            who.headers)  # fmt: skip
    assert created.status == 201, created.body
    datums = [
        {
            "type": "cbg",
            "deviceId": "G6-e2e",
            "units": "mg/dL",
            "value": 100 + i,
            "time": format_utc(START + timedelta(minutes=5 * i)),
        }
        for i in range(10)
    ]
    datums.append({"type": "smbg", "deviceId": "Meter-e2e", "units": "mmol/L", "value": 6.4,
                   "time": format_utc(START)})  # fmt: skip
    stored = stack.request("POST", f"/v1/datasets/{created.json()['data']['id']}/data", datums,
                           who.headers)  # fmt: skip
    assert stored.status == 200, stored.body
    read = stack.request("GET", f"/v1/users/{who.user_id}/data", None, who.headers).json()
    return sorted(d["id"] for d in read["data"])


def test_the_owner_follows_the_303_to_the_file(stack: Stack, bob: Session, alice: Session) -> None:
    ids = _upload(stack, bob)
    path = f"/v1/users/{bob.user_id}/export?format=json"
    assert stack.request("GET", path).status == 401
    assert stack.request("GET", path, None, alice.headers).status == 403
    # Not followed: the 303 and where it points.
    opener = urllib.request.build_opener(_NoRedirect())
    request = urllib.request.Request(stack.url + path, headers=bob.headers)
    try:
        opener.open(request, timeout=60)
        raise AssertionError("expected a 303")
    except urllib.error.HTTPError as error:
        assert error.code == 303
        meta = json.loads(error.read())["data"]
        assert error.headers["Location"] == meta["url"]
    # Followed, as any HTTP client does.
    reply = stack.request("GET", path, None, bob.headers)
    assert reply.status == 200
    document = json.loads(reply.body)
    assert sorted(d["id"] for d in document["data"]) == ids
    assert document["profile"]["email"] == bob.email


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_tidewater_export_user_writes_the_zip(stack: Stack, bob: Session, tmp_path: Path) -> None:
    _upload(stack, bob)
    output = tmp_path / "bob.zip"
    port = stack.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "tidewater_local.cli", "export-user", bob.email, "--format",
         "csv", "--output", str(output), "--port", port],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "TIDEWATER_PASSWORD": DEMO_PASSWORD},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(output) in done.stdout
    archive = zipfile.ZipFile(output)
    (profile,) = csv.DictReader(io.StringIO(archive.read("profile.csv").decode()))
    assert profile["userId"] == bob.user_id and profile["email"] == bob.email
    assert "data/cbg.csv" in archive.namelist()


def test_tidewater_export_user_says_when_the_password_is_wrong(stack: Stack, bob: Session) -> None:
    port = stack.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "tidewater_local.cli", "export-user", bob.email, "--port", port],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "TIDEWATER_PASSWORD": "Not-the-password-1"},
    )  # fmt: skip
    assert done.returncode == 1 and "401" in done.stderr
