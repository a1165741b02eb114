"""Uploads over real HTTP against the local stack, as clients make them: a Tidepool-style
uploader, and the real Nightscout client (nightscout-cli) with an api-secret."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tidewater.domain.timeutil import format_utc

CLIENT = {"client": {"name": "org.tidepool.uploader", "version": "2.53.0"}, "deviceId": "G6-e2e"}


def _cbg(minutes_ago: int, value: int) -> dict:
    time = format_utc(datetime.now(UTC) - timedelta(minutes=minutes_ago))
    return {"type": "cbg", "deviceId": "G6-e2e", "time": time, "value": value, "units": "mg/dL"}


def test_a_tidepool_style_upload_session(stack, alice, bob, clinician) -> None:
    created = stack.request("POST", f"/v1/users/{alice.user_id}/datasets", CLIENT, alice.headers)
    assert created.status == 201
    dataset_id = created.json()["data"]["id"]
    data_path = f"/v1/datasets/{dataset_id}/data"

    bad = stack.request("POST", data_path, [_cbg(5, 101), _cbg(10, 5000)], alice.headers)
    assert bad.status == 400
    assert bad.json()["errors"][0]["source"]["pointer"] == "/1/value"

    datums = [_cbg(m, 100 + m) for m in range(0, 60, 5)]
    stored = stack.request("POST", data_path, datums, alice.headers)
    assert stored.status == 200 and stored.json()["meta"]["stored"] == 12
    assert stack.request("POST", data_path, datums, bob.headers).status == 403
    assert stack.request("POST", data_path, datums, clinician.headers).status == 403
    assert stack.request("POST", data_path, datums).status == 401

    since = format_utc(datetime.now(UTC) - timedelta(minutes=32))
    read = stack.request(
        "GET", f"/v1/users/{alice.user_id}/data?type=cbg&startDate={since}", None, alice.headers
    )
    assert read.status == 200
    mine = [d for d in read.json()["data"] if d["uploadId"] == dataset_id]
    assert len(mine) == 7 and all(d["units"] == "mmol/L" for d in mine)
    assert stack.request("GET", f"/v1/users/{alice.user_id}/data", None, bob.headers).status == 403

    assert stack.request("PUT", f"/v1/datasets/{dataset_id}", None, alice.headers).status == 200
    closed = stack.request("POST", data_path, datums, alice.headers)
    assert closed.status == 409 and closed.json()["errors"][0]["code"] == "data-set-closed"

    deleted = stack.request("DELETE", f"/v1/datasets/{dataset_id}", None, alice.headers)
    assert deleted.status == 200 and deleted.json()["meta"]["deleted"] == 12
    assert stack.request("POST", data_path, datums, alice.headers).status == 404


def test_legacy_upload_over_http_is_idempotent(stack, alice) -> None:
    # Days back: a reading of the shared stack's alice newer than another test's day of CGM
    # would move that test's summary window (the 1-day period ends at the newest sample).
    datum = _cbg(3 * 24 * 60, 177) | {"uploadId": f"e2e-{uuid.uuid4().hex}"}
    path = f"/v1/users/{alice.user_id}/data/legacy"
    first = stack.request("POST", path, [datum], alice.headers)
    again = stack.request("POST", path, [datum], alice.headers)
    assert first.status == again.status == 200
    upload_id = first.json()["meta"]["uploadId"]
    assert again.json()["meta"]["uploadId"] == upload_id
    read = stack.request("GET", f"/v1/users/{alice.user_id}/data?type=cbg", None, alice.headers)
    assert [d["uploadId"] for d in read.json()["data"]].count(upload_id) == 1


# ---------------------------------------------------------------------- nightscout-cli
def _nightscout(stack, secret: str, home: Path, *args: str) -> str:
    """Run the real client, configured as its README says (environment variables)."""
    host, port = stack.url.removeprefix("http://").split(":")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIGHTSCOUT_")}
    env.update(HOME=str(home), NIGHTSCOUT_HOST=host, NIGHTSCOUT_PORT=port,
               NIGHTSCOUT_API_SECRET=secret)  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "nightscout_cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def bob_secret(stack, bob) -> str:
    secret = f"e2e-{uuid.uuid4().hex}"
    reply = stack.request(
        "PUT", f"/v1/users/{bob.user_id}/nightscout", {"secret": secret}, bob.headers
    )
    assert reply.status == 200, reply.body
    return secret


def test_status_json_answers_without_credentials(stack) -> None:
    reply = stack.request("GET", "/api/v1/status.json")
    assert reply.status == 200 and reply.json()["status"] == "ok"


def test_nightscout_cli_push_get_history_delete(stack, bob_secret, tmp_path) -> None:
    run = lambda *args: _nightscout(stack, bob_secret, tmp_path, *args)  # noqa: E731
    now = datetime.now(UTC)
    yesterday_noon = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=12)
    minutes_ago = int((now - yesterday_noon).total_seconds() // 60)

    assert "Successfully pushed" in run("push", "143", "--direction", "FortyFiveUp")
    run("push", "95", "--minutes-ago", str(minutes_ago))
    run("push", "96", "--minutes-ago", str(minutes_ago + 5))

    latest = run("get").strip().splitlines()
    assert len(latest) == 1 and " 143 mg/dL FortyFiveUp" in latest[0]
    assert len(run("get", "3").strip().splitlines()) == 3

    history = run("history", "--days-ago", "1").strip().splitlines()
    values = [line.split()[1] for line in history]
    assert "95" in values and "96" in values and "143" not in values
    assert history == sorted(history)  # oldest first, as the client prints it

    listed = run("list", "--count", "50").strip().splitlines()
    assert listed[0] == "id,timestamp,value"
    ids = {line.split(",")[2]: line.split(",")[0] for line in listed[1:]}
    assert "Deleted" in run("delete", ids["95"])
    after = [line.split(",")[2] for line in run("list", "--count", "50").splitlines()[1:]]
    assert "95" not in after and "96" in after and "143" in after


def test_a_wrong_api_secret_is_refused(stack, bob_secret) -> None:
    reply = stack.request("GET", "/api/v1/entries.json", headers={"api-secret": "not-the-secret"})
    assert reply.status == 401
    right = stack.request("GET", "/api/v1/entries.json", headers={"api-secret": bob_secret})
    assert right.status == 200
    # A Nightscout secret opens the Nightscout routes only.
    elsewhere = stack.request("GET", "/v1/users/x/data", headers={"api-secret": bob_secret})
    assert elsewhere.status == 401
