"""DynamoDB requests and throughput of one upload, through the service, against moto.

Run: `PYTHONPATH=layers/core:. python bench/upload_bench.py` (or `make bench`). Every
DynamoDB API call is counted with a botocore `before-call.dynamodb` hook registered on each
client as it is made. Prints `upload.<name>: <value> <unit>`:

- requests for one 1,000-datum upload (cbg and smbg: 1,000 items; target <= 43 = 40
  BatchWriteItem + the dataset's GetItem before and after them + the summary mark's
  UpdateItem), and the same for
  1,000 mixed datums (their 50 wizards embed a bolus each: 1,050 items), the legacy path and
  Nightscout;
- datums/s end to end through `services.ingest.upload` in process (moto's in-process
  DynamoDB dominates: this is a floor, not Lambda's figure).
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "layers" / "core", ROOT / "local", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import botocore.session  # noqa: E402

from bench import ingest_bench  # noqa: E402
from tidewater.domain.identity import Caller, Via  # noqa: E402
from tidewater.domain.timeutil import format_utc  # noqa: E402
from tidewater_local.aws import in_process  # noqa: E402
from tidewater_local.cfn import Template  # noqa: E402

COUNT = 1000
RUNS = 5
CALLS: Counter[str] = Counter()
NOW = datetime.now(UTC).replace(microsecond=0)
CLIENT = {"client": {"name": "org.tidewater.bench", "version": "1"}}


def count_dynamodb_calls() -> None:
    """A `before-call` hook on every DynamoDB client made from now on."""
    original = botocore.session.Session.create_client

    def count(model: Any, **_: Any) -> None:
        CALLS[model.name] += 1

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.dynamodb", count)
        return client

    botocore.session.Session.create_client = create_client


def glucose(count: int) -> list[dict[str, Any]]:
    """CGM every 5 minutes up to now, a meter reading in every 20."""
    datums = []
    for i in range(count):
        moment = format_utc(NOW - timedelta(minutes=5 * (count - i)))
        if i % 20 == 5:
            datums.append({"type": "smbg", "deviceId": "Meter-1", "time": moment,
                           "value": 100 + i % 150, "units": "mg/dL"})  # fmt: skip
        else:
            datums.append({"type": "cbg", "deviceId": "G6-1", "time": moment,
                           "value": 40 + i % 300, "units": "mg/dL"})  # fmt: skip
    return datums


def entries(count: int) -> list[dict[str, Any]]:
    ms = int(NOW.timestamp() * 1000)
    return [{"type": "sgv", "sgv": 40 + i % 300, "date": ms - 300_000 * i, "direction": "Flat",
             "device": "xDrip"} for i in range(count)]  # fmt: skip


def measure(label: str, action: Any) -> Counter[str]:
    CALLS.clear()
    action()
    calls = Counter(CALLS)
    detail = ", ".join(f"{n} {op}" for op, n in sorted(calls.items()))
    print(f"upload.{label}: {sum(calls.values())} requests  # {detail}")
    return calls


def main() -> None:
    os.environ["POWERTOOLS_LOG_LEVEL"] = os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with in_process(Template(ROOT / "template.yaml"), stage="bench"):
        count_dynamodb_calls()
        from tidewater.services import ingest, nightscout
        from tidewater.store.repos import repositories

        repos = repositories()
        alice = Caller("be00000001", "patient", Via.SESSION)
        dataset = ingest.create_dataset(alice, alice.user_id, CLIENT, repos)

        calls = measure(
            "requests_per_1000_datum_upload",
            lambda: ingest.upload(alice, dataset.id, glucose(COUNT), repos),
        )
        assert calls["BatchWriteItem"] == COUNT // 25
        ingest_bench.START = NOW - timedelta(days=4)
        mixed = ingest_bench.mixed_datums(COUNT)
        measure(
            "requests_per_1000_mixed_datum_upload",
            lambda: ingest.upload(alice, dataset.id, copy.deepcopy(mixed), repos),
        )
        measure(
            "requests_per_1000_datum_legacy_upload",
            lambda: ingest.upload_legacy(alice, alice.user_id, copy.deepcopy(mixed), repos),
        )
        owner = Caller(alice.user_id, "", Via.NIGHTSCOUT)
        measure(
            "requests_per_1000_nightscout_entries",
            lambda: nightscout.post_entries(owner, entries(COUNT), repos),
        )

        rates = []
        for run in range(RUNS):
            user = Caller(f"be1{run:07d}", "patient", Via.SESSION)
            target = ingest.create_dataset(user, user.user_id, CLIENT, repos)
            batch = copy.deepcopy(mixed)
            started = time.perf_counter()
            ingest.upload(user, target.id, batch, repos)
            rates.append(len(batch) / (time.perf_counter() - started))
        rate = statistics.median(rates)
        print(f"upload.service_datums_per_s: {rate:.0f} datums/s  # mixed, moto in process")


if __name__ == "__main__":
    main()
