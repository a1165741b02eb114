"""Clinic patient lists: a 10,000-patient clinic in moto, one page of 50 for every sort key.

Prints, per sort key, the DynamoDB Query requests one page costs and the items they read
(ScannedCount, counted with a botocore hook), for every sort key: the indexed ones read the
page, the others are refused in a list this large after reading one row more than the cap
(store/clinics.py, UNINDEXED_SORT_MAX).
"""

from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PATIENTS = int(os.environ.get("CLINIC_BENCH_PATIENTS", "10000"))


def main() -> int:
    from tidewater_local.aws import in_process
    from tidewater_local.cfn import Template

    with in_process(Template(ROOT / "template.yaml"), stage="bench"):
        run()
    return 0


def run() -> None:
    from tests.synthetic import random_summary
    from tidewater.domain import clinic
    from tidewater.services.clinics import patient_rows
    from tidewater.store.models import ClinicPatientModel
    from tidewater.store.repos import repositories

    repos = repositories()
    rng = random.Random(1)
    started = time.perf_counter()
    rows = []
    for n in range(PATIENTS):
        rows += [
            r
            for r in patient_rows("bench-clinic", f"{n:010x}", f"Patient {n}", random_summary(rng))
            if r.period == "14d"
        ]
    repos.clinics.put_rows(rows)
    print(f"clinic.seed_patients: {PATIENTS} patients in {time.perf_counter() - started:.0f} s")

    counts = {"queries": 0, "items": 0}

    def count(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        counts["queries"] += 1
        counts["items"] += int(parsed.get("ScannedCount", 0))

    client = ClinicPatientModel._get_connection().connection.client
    client.meta.events.register("after-call.dynamodb.Query", count)
    worst = {"queries": 0, "items": 0}
    for metric in (m.name for m in clinic.INDEXED_METRICS):
        for sign in "+-":
            counts.update(queries=0, items=0)
            query = clinic.parse_patient_query({"sort": sign + metric, "limit": "50"})
            page, _ = repos.clinics.page("bench-clinic", query, None)
            assert len(page) == 50
            print(
                f"clinic.page50.{sign}{metric}: {counts['queries']} queries, "
                f"{counts['items']} items read"
            )
            worst = {k: max(worst[k], counts[k]) for k in worst}
    print(
        f"clinic.page50.indexed_worst: {worst['queries']} queries, {worst['items']} items read "
        "(target <= 2 queries, <= 100 items)"
    )
    # Tidepool's offset paging: the same Query, reading offset + limit rows; the signed
    # cursor of the page before reads the page alone.
    for offset in (0, 1000, 5000):
        counts.update(queries=0, items=0)
        params = {"sort": "-cgm.timeInVeryLowPercent", "limit": "50", "offset": str(offset)}
        page, _ = repos.clinics.page("bench-clinic", clinic.parse_patient_query(params), None)
        assert len(page) == 50
        print(
            f"clinic.page50.offset{offset}: {counts['queries']} queries, "
            f"{counts['items']} items read"
        )
    before = clinic.parse_patient_query({"sort": "-cgm.timeInVeryLowPercent", "limit": "50"})
    _, state = repos.clinics.page("bench-clinic", replace(before, limit=1000), None)
    counts.update(queries=0, items=0)
    repos.clinics.page("bench-clinic", before, state)
    print(
        f"clinic.page50.cursor_after1000: {counts['queries']} queries, {counts['items']} items read"
    )
    # Every sort key without an index: in a list this large it is refused (400
    # sort-not-indexed, pointing at `sort`) after reading one row more than the cap.
    from tidewater.domain.errors import BadRequest
    from tidewater.store.clinics import UNINDEXED_SORT_MAX

    for metric in (m.name for m in clinic.METRICS.values() if not m.indexed):
        counts.update(queries=0, items=0)
        try:
            repos.clinics.page(
                "bench-clinic", clinic.parse_patient_query({"sort": "-" + metric}), None
            )
            outcome = "answered"
        except BadRequest:
            outcome = f"refused (more than {UNINDEXED_SORT_MAX} patients)"
        print(
            f"clinic.page50.-{metric}: {outcome}, {counts['queries']} queries, "
            f"{counts['items']} items read"
        )
    for params in (
        {"sort": "-cgm.timeInVeryLowPercent", "cgm.timeInVeryLowPercent": ">0.5"},
        {"sort": "-cgm.timeInVeryLowPercent", "cgm.timeCGMUsePercent": "<0.1"},
    ):
        counts.update(queries=0, items=0)
        started = time.perf_counter()
        repos.clinics.page(
            "bench-clinic", clinic.parse_patient_query({**params, "limit": "50"}), None
        )
        label = "&".join(f"{k}={v}" for k, v in params.items())
        print(
            f"clinic.page50.{label}: {counts['queries']} queries, {counts['items']} items read, "
            f"{(time.perf_counter() - started) * 1000:.0f} ms in moto"
        )


if __name__ == "__main__":
    sys.exit(main())
