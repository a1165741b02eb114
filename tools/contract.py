"""schemathesis against a fresh local stack: every operation of docs/openapi.json, its
checks, in two passes: as a signed-in patient, then as a clinician (Nightscout routes with the
same sessions). Path ids are drawn mostly from the run's own users and a clinic the patient
has joined, so that operations get past the access checks, and the document's links let the
stateful phase follow a new dataset into its data, close and delete. Exits non-zero on any
failure; prints the seed, the case count and the wall time.

Two checks are left out, each for a reason of the API's own:
- unsupported_method wants 405 for a method no route takes; API Gateway's HttpApi answers
  404, and the local stack answers as it does.
- positive_data_acceptance wants every schema-valid body accepted; the datum validators'
  rules (Tidepool's fields per type, unit-dependent limits) are the domain's, deliberately
  not in the schema, so `[{}]` is schema-valid and still a 400 with pointers.
The coverage phase is not run: schemathesis 4.32 fails inside itself on it (hypothesis'
lambda-source cache, "AST constructor recursion depth mismatch").

    python tools/contract.py [--seed N] [--max-examples N]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import Session, Stack, login, start_stack, stop_stack  # noqa: E402

# Who runs each pass, which ids its path parameters are drawn from (mostly: schemathesis still
# draws made-up ids now and then), and which operation must not take the caller's own id.
CONFIG = """
headers = {{ Authorization = "Bearer {token}" }}

[dictionaries.users]
values = [{users}]
[dictionaries.clinics]
values = [{clinics}]
[parameters]
"path.userId" = {{ dictionary = "users", probability = 0.8 }}
"path.clinicId" = {{ dictionary = "clinics", probability = 0.8 }}

# Deleting the caller's own account would end the pass: another user's id (403) instead.
[[operations]]
include-name = "DELETE /v1/users/{{userId}}"
parameters = {{ "path.userId" = "{other}" }}

# Logging out ends the session it is sent with: the pass's own session would then be refused
# for every operation after it. Logout is sent with a second session of the same caller.
[[operations]]
include-name = "POST /auth/logout"
headers = {{ Authorization = "Bearer {spare}" }}
"""


def _clinic_of(stack: Stack, clinician: Session, patient: Session) -> str:
    """A clinic of the clinician's that the patient has joined with its share code."""
    created = stack.request("POST", "/v1/clinics", {"name": "Contract clinic"}, clinician.headers)
    clinic = created.json()
    clinic_id = str(clinic.get("data", clinic)["id"])
    path = f"/v1/clinics/{clinic_id}"
    code = stack.request("POST", f"{path}/share_codes", {}, clinician.headers).json()["data"]
    joined = stack.request(
        "POST", f"{path}/patients/{patient.user_id}", {"shareCode": code["shareCode"]},
        patient.headers,
    )  # fmt: skip
    assert joined.status < 300, joined.body
    return clinic_id


def _schemathesis(
    stack: Stack, caller: Session, users: list[str], clinic_id: str, args: argparse.Namespace
) -> int:
    spare = login(stack, caller.email)  # for logout alone

    def quoted(values: list[str]) -> str:
        return ", ".join(f'"{v}"' for v in values)

    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "schemathesis.toml"
        other = next(u for u in users if u != caller.user_id)
        config.write_text(
            CONFIG.format(
                token=caller.token,
                spare=spare.token,
                users=quoted(users),
                clinics=quoted([clinic_id]),
                other=other,
            )
        )
        command = [
            str(Path(sys.executable).parent / "st"), "--config-file", str(config),
            "run", f"{stack.url}/openapi.json",
            "--checks", "all", "--exclude-checks", "unsupported_method,positive_data_acceptance",
            "--phases", "examples,fuzzing,stateful",
            "--seed", str(args.seed), "--max-examples", str(args.max_examples),
            "--workers", "2",
            "--suppress-health-check", "all", "--request-timeout", "30",
        ]  # fmt: skip
        print(f"schemathesis as {caller.email}", flush=True)
        return subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603


def main() -> int:
    parsed = argparse.ArgumentParser()
    parsed.add_argument("--seed", type=int, default=random.randrange(1 << 31))
    parsed.add_argument("--max-examples", type=int, default=30)
    args = parsed.parse_args()
    print(f"schemathesis seed: {args.seed}", flush=True)
    stack = start_stack(None, "--demo", "--no-demo-data", "--no-schedules")
    started = time.monotonic()
    try:
        patient, other = login(stack, "alice@tidewater.test"), login(stack, "bob@tidewater.test")
        clinician = login(stack, "carol@tidewater.test")
        clinic_id = _clinic_of(stack, clinician, patient)
        # The patient first, then the clinician on the stack the patient's pass left behind.
        failed = _schemathesis(stack, patient, [patient.user_id, other.user_id], clinic_id, args)
        failed |= _schemathesis(
            stack, clinician, [clinician.user_id, patient.user_id], clinic_id, args
        )
    finally:
        stop_stack(stack)
    print(f"schemathesis wall time: {time.monotonic() - started:.0f} s (seed {args.seed})")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
