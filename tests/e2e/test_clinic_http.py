"""The demo clinic over HTTP: Carol lists her patients; nobody else may."""

from __future__ import annotations


def _demo_clinic(stack, clinician) -> str:
    listing = stack.request("GET", "/v1/clinics/none/patients", headers=clinician.headers)
    assert listing.status == 403
    created = stack.request("POST", "/v1/clinics", {"name": "E2E clinic"}, clinician.headers)
    assert created.status == 200  # Tidepool's answer: the clinic itself
    return str(created.json()["id"])


def test_clinician_lists_patients_who_shared_and_patients_cannot(
    stack, alice, bob, clinician
) -> None:
    clinic_id = _demo_clinic(stack, clinician)
    path = f"/v1/clinics/{clinic_id}/patients"
    assert stack.request("POST", f"{path}/{alice.user_id}", {}, alice.headers).status == 403
    invite = stack.request("POST", f"/v1/clinics/{clinic_id}/share_codes", {}, clinician.headers)
    assert invite.status == 201  # a code of the clinic's, handed to Alice
    joined = stack.request("POST", f"{path}/{alice.user_id}", invite.json()["data"], alice.headers)
    assert joined.status == 200
    code = stack.request("POST", f"/v1/users/{bob.user_id}/share_codes", {}, bob.headers)
    assert code.status == 201
    shared = stack.request("POST", f"{path}/{bob.user_id}", code.json()["data"], clinician.headers)
    assert shared.status == 200

    page = stack.request(
        "GET", f"{path}?sort=-fullName&limit=1&period=7d", headers=clinician.headers
    )
    assert page.status == 200
    assert [e["fullName"] for e in page.json()["data"]] == ["Bob Patient"]
    cursor = page.json()["meta"]["nextCursor"]
    rest = stack.request(
        "GET", f"{path}?sort=-fullName&limit=1&period=7d&cursor={cursor}", headers=clinician.headers
    )
    assert [e["fullName"] for e in rest.json()["data"]] == ["Alice Patient"]
    assert "nextCursor" not in rest.json()["meta"]
    tampered = stack.request(
        "GET", f"{path}?sort=-fullName&cursor={cursor[:-2]}zz", headers=clinician.headers
    )
    assert tampered.status == 400

    assert stack.request("GET", path, headers=alice.headers).status == 403
    bad = stack.request("GET", f"{path}?period=2d&sort=-cgm.nothing", headers=clinician.headers)
    assert bad.status == 400
    assert sorted(e["source"]["parameter"] for e in bad.json()["errors"]) == ["period", "sort"]
