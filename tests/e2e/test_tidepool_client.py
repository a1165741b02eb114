"""Tidepool's own client library, unchanged, against the local stack: every call of
issue 10's table, through `tests/tidepool_client/drive.js` (tidepool-platform-client 0.67.0,
pinned in its package-lock.json, installed by `make tidepool-client`: npm ci)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.spec_examples import BOLUS_ID, SPEC_BOLUS, SPEC_WIZARD, WIZARD_ID

CLIENT_DIR = ROOT / "tests" / "tidepool_client"
PASSWORD = "Tidepool-client-9-run"
MMOL = 18.01559


def _sign_up(stack: Stack, name: str, role: str = "patient") -> str:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.org"
    body = {"email": email, "password": PASSWORD, "fullName": f"{name} Tidepool"}
    assert stack.request("POST", "/v1/users", body).status == 201
    if role != "patient":  # the operator's grant
        granted = stack.request("POST", "/_local/grant-role", {"email": email, "role": role})
        assert granted.status == 200
    return email


@pytest.fixture(scope="module")
def driven(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What each of the client's calls gave back, run once for the module."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the Tidepool client tests need Node.js 18 or later")
    if not (CLIENT_DIR / "node_modules" / "tidepool-platform-client").is_dir():
        pytest.fail(
            "tidepool-platform-client is not installed: run `make tidepool-client` (npm ci)"
        )
    env = {
        **os.environ,
        "TIDEWATER_URL": stack.url,
        "TIDEWATER_PASSWORD": PASSWORD,
        "TIDEWATER_ANN": _sign_up(stack, "Ann"),
        "TIDEWATER_BEN": _sign_up(stack, "Ben"),
        "TIDEWATER_DOC": _sign_up(stack, "Doc", "clinician"),
        "TIDEWATER_LINKED": json.dumps([SPEC_BOLUS, SPEC_WIZARD]),
        "TIDEWATER_OUT": str(tmp_path_factory.mktemp("tidepool-client") / "calls.json"),
    }
    run = subprocess.run(
        [node, "drive.js"], cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    return json.loads(Path(env["TIDEWATER_OUT"]).read_text())


def test_login_gives_shorelines_user_and_the_session(driven) -> None:
    login = driven["login"]
    assert login["token"] and login["userid"] == login["user"]["userid"]
    user = login["user"]
    assert user["username"].startswith("ann-") and user["emails"] == [user["username"]]
    assert user["roles"] == [] and user["emailVerified"] is True and user["termsAccepted"]
    assert driven["currentUser"]["userid"] == login["userid"]
    # A client started with the remembered token refreshes it and is signed in as Ann.
    assert driven["initialize"]["userid"] == login["userid"] and driven["initialize"]["token"]
    assert driven["refreshed"] is True  # a new token, good for a new hour, for the same session


def test_time_and_upload_versions(driven) -> None:
    assert driven["time"]["data"]["time"].endswith("Z")
    assert driven["versions"]["versions"]["uploaderMinimum"]
    assert isinstance(driven["versions"]["versions"]["schema"], int)


def test_platform_upload_reads_back_in_mmol(driven) -> None:
    dataset = driven["createdDataset"]["data"]
    assert driven["added"]["meta"]["stored"] == 288
    records = driven["uploadRecords"]
    assert [r["uploadId"] for r in records] == [dataset["uploadId"]]
    assert records[0]["deviceId"] == "DexG6-Ann" and records[0]["dataState"] == "closed"
    cbg = driven["cbg"]
    assert len(cbg) == 288
    assert {d["value"] for d in cbg} == {100 / MMOL}  # 100 mg/dL, stored and read in mmol/L
    assert {d["units"] for d in cbg} == {"mmol/L"}
    assert len(driven["byUpload"]) == 288


def test_jellyfish_ids_link_and_duplicates(driven) -> None:
    assert driven["jellyfishFirst"] == []
    assert driven["jellyfishAgain"] == [0, 1]  # the same two datums: both stored before
    linked = {d["type"]: d for d in driven["linked"]}
    assert len(driven["linked"]) == 2
    assert linked["bolus"]["id"] == BOLUS_ID and linked["wizard"]["id"] == WIZARD_ID
    assert linked["wizard"]["bolus"] == BOLUS_ID
    assert linked["wizard"]["bgInput"] == 32 / MMOL
    latest = {d["type"]: d for d in driven["latest"]}
    assert set(latest) == {"cbg", "bolus"} and latest["bolus"]["id"] == BOLUS_ID
    assert latest["cbg"]["time"] == max(d["time"] for d in driven["cbg"])


def test_clinic_objects(driven) -> None:
    clinic = driven["clinic"]
    assert clinic["name"] == "Tidepool client clinic" and clinic["shareCode"]
    assert clinic["preferredBgUnits"] == "mmol/L"
    [mine] = driven["clinicianClinics"]
    assert mine["clinic"]["id"] == clinic["id"]
    assert mine["clinician"]["roles"] == ["CLINIC_ADMIN"]
    assert mine["clinician"]["email"].startswith("doc-")
    [shared] = driven["patientClinics"]
    assert shared["clinic"]["id"] == clinic["id"]
    assert shared["patient"]["id"] == driven["login"]["userid"]
    patient = driven["patient"]
    assert patient["fullName"] == "Ann Tidepool"
    day = patient["summary"]["cgmStats"]["periods"]["1d"]
    assert day["averageGlucoseMmol"] == pytest.approx(100 / MMOL)
    assert day["timeInTargetPercent"] == 1.0 and day["hasTimeInTargetPercent"] is True


def _names(page: dict[str, Any]) -> list[str]:
    return [p["fullName"] for p in page["data"]]


def test_patient_list_sorted_filtered_and_paged_after_the_summariser(driven) -> None:
    descending = driven["byMeanDescending"]
    assert _names(descending) == ["Ben Tidepool", "Ann Tidepool"]  # 220 mg/dL before 100
    assert descending["meta"] == {"count": 2, "totalCount": 2}
    means = [p["summary"]["cgmStats"]["periods"]["1d"]["averageGlucoseMmol"] for p in
             descending["data"]]  # fmt: skip
    assert means == [pytest.approx(220 / MMOL), pytest.approx(100 / MMOL)]
    assert _names(driven["byMeanAscending"]) == ["Ann Tidepool", "Ben Tidepool"]
    assert _names(driven["secondPage"]) == ["Ann Tidepool"]
    assert _names(driven["filtered"]) == ["Ben Tidepool"]  # all his time is above 180
    assert driven["filtered"]["meta"] == {"count": 1, "totalCount": 2}
    assert _names(driven["searched"]) == ["Ben Tidepool"]


def test_tide_report_in_tidepools_shape(driven) -> None:
    tide = driven["tide"]
    assert tide["config"]["period"] == "1d" and tide["config"]["clinicId"] == driven["clinic"]["id"]
    assert tide["config"]["filters"]["timeInAnyHighPercent"] == ">0.25"
    placed = {
        row["patient"]["fullName"]: name for name, rows in tide["results"].items() for row in rows
    }
    assert placed == {"Ben Tidepool": "timeInAnyHighPercent", "Ann Tidepool": "meetingTargets"}


def test_logout_ends_the_session_on_the_server_too(driven) -> None:
    assert driven["logout"] == 200
    assert driven["loggedInAfterLogout"] is False
    assert driven["afterLogout"] == [401, 401]  # every token of the session, refreshed or not
