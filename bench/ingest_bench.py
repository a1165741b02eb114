"""Throughput of `prepare` (validate + normalise + link + ids) on one core.

Run: `PYTHONPATH=layers/core python bench/ingest_bench.py`. Prints, per path, the median of
several runs over 1,000 mixed datums (mostly cbg; some smbg, bolus, wizard with an embedded
bolus, basal) as `ingest.prepare_datums_per_s: <value>`.
"""

from __future__ import annotations

import copy
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from tidewater.domain.datums.pipeline import prepare
except ImportError:  # run from the repository root without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core"))
    from tidewater.domain.datums.pipeline import prepare

COUNT = 1000
RUNS = 7
DEVICE = "DexG6-SN1234"
PUMP = "Tandem-TSlimX2-987"
START = datetime(2024, 3, 1, tzinfo=UTC)
NOW = START + timedelta(days=4)


def _stamp(moment: datetime) -> tuple[str, str]:
    utc = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    local = (moment - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S")
    return utc, local


def _base(kind: str, moment: datetime, device: str) -> dict[str, Any]:
    utc, local = _stamp(moment)
    return {
        "type": kind,
        "deviceId": device,
        "time": utc,
        "deviceTime": local,
        "timezoneOffset": -420,
        "clockDriftOffset": 0,
        "conversionOffset": 0,
    }


def mixed_datums(count: int = COUNT, seed: int = 7) -> list[dict[str, Any]]:
    """Mostly CGM readings every 5 minutes, with meter readings and pump events among them."""
    rng = random.Random(seed)
    datums: list[dict[str, Any]] = []
    moment = START
    for i in range(count):
        moment += timedelta(minutes=5)
        roll = i % 20
        if roll == 5:
            d = _base("smbg", moment, "Contour-Next-1")
            d.update(value=rng.randint(60, 300), units="mg/dL", subType="manual")
        elif roll == 10:
            d = _base("bolus", moment, PUMP)
            d.update(subType="normal", normal=round(rng.uniform(0.5, 8), 2))
        elif roll == 15:
            d = _base("wizard", moment, PUMP)
            inner = _base("bolus", moment, PUMP)
            inner.update(subType="normal", normal=3.5)
            d.update(
                units="mg/dL",
                bgInput=rng.randint(70, 250),
                bgTarget={"target": 100, "high": 140},
                carbInput=rng.randint(0, 90),
                insulinCarbRatio=10,
                insulinSensitivity=40,
                insulinOnBoard=1.25,
                recommended={"carb": 3.0, "correction": 0.5, "net": 3.5},
                bolus=inner,
            )
        elif roll == 19:
            d = _base("basal", moment, PUMP)
            d.update(deliveryType="scheduled", rate=0.85, duration=1_800_000, scheduleName="A")
        else:
            d = _base("cbg", moment, DEVICE)
            d.update(value=rng.randint(40, 400), units="mg/dL", sampleInterval=300_000)
        datums.append(d)
    return datums


def bench(legacy: bool, datums: list[dict[str, Any]]) -> float:
    rates = []
    for _ in range(RUNS):
        batch = copy.deepcopy(datums)
        started = time.perf_counter()
        prepare(batch, legacy=legacy, user_id="u1", upload_id="up1", now=NOW)
        rates.append(len(batch) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    datums = mixed_datums()
    prepare(copy.deepcopy(datums), legacy=False, user_id="u1", upload_id="up1", now=NOW)  # warm
    for path, legacy in (("platform", False), ("legacy", True)):
        rate = bench(legacy, datums)
        print(f"ingest.prepare_datums_per_s: {rate:.0f}  # {path} path, {len(datums)} datums")


if __name__ == "__main__":
    main()
