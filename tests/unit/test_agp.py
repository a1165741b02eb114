"""The AGP's numbers: percentiles by time of day, checked by hand and against numpy."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidewater.domain import agp

DAY_MS = 86_400_000
MIN_MS = 60_000
T0 = 1_795_132_800_000  # 2026-11-20T00:00:00Z


def _cbg(at_ms: int, mmol: float, offset: int | None = None) -> dict:
    from datetime import UTC, datetime

    from tidewater.domain.timeutil import format_utc

    datum = {
        "type": "cbg",
        "units": "mmol/L",
        "value": mmol,
        "time": format_utc(datetime.fromtimestamp(at_ms / 1000, UTC)),
    }
    if offset is not None:
        datum["timezoneOffset"] = offset
    return datum


def test_percentiles_by_hand() -> None:
    # 1..5: h = 4·p/100 → p25 = 2, p50 = 3, p5 = 1 + 0.2·1 = 1.2, p95 = 4 + 0.8·1 = 4.8.
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [agp.percentile(values, p) for p in (5, 25, 50, 75, 95)] == pytest.approx(
        [1.2, 2.0, 3.0, 4.0, 4.8]
    )
    assert agp.percentile([7.5], 95) == 7.5  # a single reading is every percentile
    with pytest.raises(ValueError):
        agp.percentile([], 50)


@given(st.lists(st.floats(1.1, 33.3, allow_nan=False), min_size=1, max_size=200))
def test_percentiles_match_numpy(values: list[float]) -> None:
    ordered = sorted(values)
    for p in agp.PERCENTILES:
        assert agp.percentile(ordered, p) == pytest.approx(
            float(np.percentile(values, p)), rel=1e-12, abs=1e-12
        )


def test_fourteen_days_fold_onto_one_day_against_numpy() -> None:
    rng = random.Random(7)
    datums, by_bin = [], [[] for _ in range(96)]
    for n in range(14 * 288):
        at = T0 + n * 5 * MIN_MS + rng.randrange(0, 60_000)
        if 3 * 288 <= n < 4 * 288 + 17:
            continue  # a gap of a day and more: its bins simply hold fewer readings
        mmol = round(rng.uniform(3.0, 15.0), 4)
        datums.append(_cbg(at, mmol))
        by_bin[((at // MIN_MS) % 1440) // 15].append(mmol)
    report = agp.report(datums, "s", "e", 14)
    assert report["readings"] == len(datums) and report["binMinutes"] == 15
    assert len(report["bins"]) == 96 and report["bins"][4]["minute"] == 60
    for got, values in zip(report["bins"], by_bin, strict=True):
        assert got["count"] == len(values)
        for p in agp.PERCENTILES:
            assert got[f"p{p}"] == pytest.approx(float(np.percentile(values, p)), rel=1e-12)
    assert report["daysWithData"] == 13  # the fourth day is wholly in the gap


def test_a_single_day_leaves_empty_bins_empty() -> None:
    datums = [_cbg(T0 + 8 * 3_600_000 + i * 5 * MIN_MS, 6.0 + i) for i in range(3)]
    report = agp.report(datums, "s", "e", 1)
    filled = [b for b in report["bins"] if b["count"]]
    assert [(b["minute"], b["count"]) for b in filled] == [(480, 3)]  # 08:00 to 08:15
    assert filled[0]["p50"] == 7.0 and filled[0]["p5"] == pytest.approx(6.1)
    empty = report["bins"][0]
    assert empty["count"] == 0 and all(empty[f"p{p}"] is None for p in agp.PERCENTILES)
    assert report["daily"] == [
        {"date": "2026-11-20", "points": [[480, 6.0], [485, 7.0], [490, 8.0]]}
    ]


def test_time_of_day_is_the_readings_local_time() -> None:
    # 23:30 UTC with timezoneOffset +60 is 00:30 local on the next day.
    report = agp.report([_cbg(T0 + 23 * 3_600_000 + 30 * MIN_MS, 5.5, offset=60)], "s", "e", 1)
    (filled,) = [b for b in report["bins"] if b["count"]]
    assert filled["minute"] == 30
    assert report["daily"][0]["date"] == "2026-11-21"


def test_stored_values_are_mmol_whatever_the_device_sent() -> None:
    # Stored cbg datums hold mmol/L in `value` (the upload converted mg/dL by ÷ 18.01559),
    # whatever `originalUnits` says: the profile reads `value` alone.
    stored = {**_cbg(T0, 180 / 18.01559), "originalUnits": "mg/dL", "originalValue": 180}
    other = _cbg(T0 + MIN_MS, 10.0)
    (filled,) = [b for b in agp.report([stored, other], "s", "e", 1)["bins"] if b["count"]]
    mgdl = 180 / 18.01559  # 9.99134 mmol/L
    assert filled["p5"] == pytest.approx(mgdl + 0.05 * (10.0 - mgdl), abs=1e-12)
    assert filled["p95"] == pytest.approx(mgdl + 0.95 * (10.0 - mgdl), abs=1e-12)


def test_unreadable_rows_are_left_out_not_fatal() -> None:
    rows = [_cbg(T0, 5.0), {"type": "cbg", "time": "nope", "value": 5}, {"time": None}]
    assert agp.report(rows, "s", "e", 1)["readings"] == 1
