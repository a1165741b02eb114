"""The scheduled summariser in moto: DynamoDB requests per summarised account.

One user with 60 days of 5-min CGM (17,280 samples) and 4 BGM readings a day: the first
summary (from nothing), then one new hour of CGM (the usual case).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.client

ROOT = Path(__file__).resolve().parent.parent
CALLS: Counter[str] = Counter()
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    if self.meta.service_model.service_name == "dynamodb":
        CALLS[operation] += 1
    return _real_call(self, operation, params)


def main() -> int:
    from tidewater_local.aws import in_process
    from tidewater_local.cfn import Template

    with in_process(Template(ROOT / "template.yaml"), stage="bench"):
        run()
    return 0


def run() -> None:
    from tidewater.domain.identity import Caller, Via
    from tidewater.domain.timeutil import format_utc, utcnow
    from tidewater.services import auth, ingest, summarizer
    from tidewater.store.repos import repositories

    repos = repositories()
    body = {
        "email": "b@example.org",
        "password": "Bench-password-1",
        "fullName": "B",
        "role": "patient",
    }
    caller = Caller(auth.sign_up(body, repos, utcnow()).user_id, "patient", Via.SESSION)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=60)
    datums: list[dict[str, Any]] = [
        {
            "type": "cbg",
            "units": "mg/dL",
            "value": 60 + (n * 7) % 250,
            "deviceId": "DexG6",
            "time": format_utc(start + timedelta(minutes=5 * n)),
        }
        for n in range(17_280)
    ] + [
        {
            "type": "smbg",
            "units": "mg/dL",
            "value": 100 + n % 90,
            "deviceId": "meter",
            "time": format_utc(start + timedelta(hours=6 * n, minutes=3)),
        }
        for n in range(240)
    ]
    dataset = ingest.create_dataset(caller, caller.user_id, {"client": {"name": "b"}}, repos)
    for chunk in range(0, len(datums), 1000):
        ingest.upload(caller, dataset.id, datums[chunk : chunk + 1000], repos)

    botocore.client.BaseClient._make_api_call = _counting_call
    CALLS.clear()
    started = time.perf_counter()
    summarizer.summarize_account(caller.user_id, repos)
    first = sum(CALLS.values())
    print(
        f"summarizer.first_summary_requests: {first} ({dict(CALLS)}), "
        f"{(time.perf_counter() - started) * 1000:.0f} ms in moto"
    )

    hour = [
        {
            "type": "cbg",
            "units": "mg/dL",
            "value": 150,
            "deviceId": "DexG6",
            "time": format_utc(end + timedelta(minutes=5 * n)),
        }
        for n in range(12)
    ]
    ingest.upload(caller, dataset.id, hour, repos)
    CALLS.clear()
    started = time.perf_counter()
    summarizer.summarize_account(caller.user_id, repos)
    print(
        f"summarizer.one_new_hour_requests: {sum(CALLS.values())} ({dict(CALLS)}), "
        f"{(time.perf_counter() - started) * 1000:.0f} ms in moto (target <= 6)"
    )
    CALLS.clear()
    result = summarizer.run_iteration(repos)
    print(
        f"summarizer.caught_up_iteration_requests: {sum(CALLS.values())} "
        f"({result.summarized} accounts)"
    )


if __name__ == "__main__":
    sys.exit(main())
