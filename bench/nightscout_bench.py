"""DynamoDB requests of one 1,000-treatment Nightscout post, through the service, against moto.

Run: `PYTHONPATH=layers/core:local:. python bench/nightscout_bench.py` (or `make bench`).
Every DynamoDB call is counted as in bench/upload_bench.py. Prints
`nightscout.<name>: <value> <unit>` with the write floor beside it: the items written (each
treatment's record and its datums) over DynamoDB's 25 items per BatchWriteItem. Beyond the
floor: the records stored before (BatchGetItem of 100), the dataset's open (UpdateItem), the
summary mark (UpdateItem) and the dataset's GetItem after the writes (an upload racing a
delete of it takes its writes back).

- a post of 1,000 treatments mixed as Loop, AndroidAPS and xDrip+ send them (boluses,
  temps, carbs, meal boluses that are a bolus and a wizard, site changes, BG checks, notes);
- the same post again (the upsert costs no extra read);
- 1,000 device statuses, and a read of the newest 1,000 treatments.
"""

from __future__ import annotations

import math
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "layers" / "core", ROOT / "local", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from bench.upload_bench import CALLS, count_dynamodb_calls  # noqa: E402
from tidewater.domain.identity import Caller, Via  # noqa: E402
from tidewater.domain.timeutil import format_utc  # noqa: E402
from tidewater_local.aws import in_process  # noqa: E402
from tidewater_local.cfn import Template  # noqa: E402

COUNT = 1000
BATCH_WRITE = 25
NOW = datetime.now(UTC).replace(microsecond=0)
KINDS: list[dict[str, Any]] = [
    {"eventType": "Correction Bolus", "insulin": 1.2, "type": "normal", "programmed": 1.2},
    {"eventType": "Temp Basal", "absolute": 0.6, "rate": 0.6, "duration": 30, "percent": -25},
    {"eventType": "Carb Correction", "carbs": 18},
    {"eventType": "Meal Bolus", "insulin": 4, "carbs": 40},
    {"eventType": "<none>", "insulin": 0.5, "carbs": 5, "enteredBy": "xdrip"},
    {"eventType": "Correction Bolus", "insulin": 0.2, "isSMB": True},
    {"eventType": "BG Check", "glucose": 123, "units": "mg/dl", "glucoseType": "Finger"},
    {"eventType": "Note", "notes": "a note"},
    {"eventType": "Site Change"},
    {"eventType": "Temp Basal", "absolute": 1.1, "duration": 60},
]


def treatments(count: int) -> list[dict[str, Any]]:
    """One every 5 minutes, up to now."""
    return [
        {"enteredBy": "loop://iPhone", **KINDS[i % len(KINDS)],
         "created_at": format_utc(NOW - timedelta(minutes=5 * (count - i)))}
        for i in range(count)
    ]  # fmt: skip


def measure(label: str, action: Any, items: int | None = None) -> None:
    CALLS.clear()
    action()
    detail = ", ".join(f"{n} {op}" for op, n in sorted(CALLS.items()))
    floor = f"; write floor {math.ceil(items / BATCH_WRITE)} BatchWriteItem" if items else ""
    print(f"nightscout.{label}: {sum(CALLS.values())} requests  # {detail}{floor}")


def main() -> None:
    os.environ["POWERTOOLS_LOG_LEVEL"] = os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with in_process(Template(ROOT / "template.yaml"), stage="bench"):
        count_dynamodb_calls()
        from tidewater.domain import nightscout_treatments
        from tidewater.services import nightscout
        from tidewater.store.repos import repositories

        repos = repositories()
        owner = Caller("be20000001", "", Via.NIGHTSCOUT)
        body = treatments(COUNT)
        parsed, _ = nightscout_treatments.parse(body, owner.user_id, NOW)
        items = len(parsed) + sum(len(t.datums) for t in parsed)
        print(f"nightscout.items_per_1000_treatments: {items} items  # records + datums")
        post = lambda: nightscout.post_treatments(owner, treatments(COUNT), repos)  # noqa: E731
        measure("requests_per_1000_treatment_post", post, items)
        measure("requests_per_1000_treatment_repost", post, items)
        statuses = [{"device": "loop://iPhone", "loop": {"iob": {"iob": 1}},
                     "created_at": format_utc(NOW - timedelta(minutes=5 * i))}
                    for i in range(COUNT)]  # fmt: skip
        measure(
            "requests_per_1000_devicestatus_post",
            lambda: nightscout.post_device_status(owner, statuses, repos),
            COUNT,
        )
        measure(
            "requests_per_1000_treatment_read",
            lambda: nightscout.get_treatments(owner, {"count": "1000"}, repos),
        )


if __name__ == "__main__":
    main()
