"""Upload over HTTP, run the summariser, read the summary: as a user and a clinic would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def test_uploaded_cgm_is_summarised_and_shared_with_the_clinic(
    stack, alice, bob, clinician
) -> None:
    dataset = stack.request(
        "POST",
        f"/v1/users/{alice.user_id}/datasets",
        {"client": {"name": "org.example.e2e", "version": "1.0"}},
        alice.headers,
    )
    assert dataset.status == 201
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    day = [
        {
            "type": "cbg",
            "units": "mg/dL",
            "value": 120,
            "deviceId": "DexG6_e2e",
            "time": (start + timedelta(minutes=5 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for n in range(288)
    ]
    uploaded = stack.request(
        "POST", f"/v1/datasets/{dataset.json()['data']['id']}/data", day, alice.headers
    )
    assert uploaded.status == 200, uploaded.body
    path = f"/v1/users/{alice.user_id}/summary"
    assert "outdatedSince" in stack.request("GET", path, headers=alice.headers).json()["dates"]

    assert stack.request("POST", "/_local/invoke/summarize").status == 200
    summary = stack.request("GET", path, headers=alice.headers).json()
    assert set(summary) == {"cgm", "bgm", "dates"}
    assert summary["cgm"]["periods"]["1d"]["total"]["records"] == 288
    assert summary["cgm"]["periods"]["1d"]["inTarget"]["percent"] == 1.0
    assert "outdatedSince" not in summary["dates"]

    assert stack.request("GET", path, headers=clinician.headers).status == 200  # demo clinic
    assert stack.request("GET", path, headers=bob.headers).status == 403
