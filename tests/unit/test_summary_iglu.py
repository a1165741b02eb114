"""iglu-python, an independent implementation, as an oracle on evenly spaced CGM data.

iglu is GPL and only a test dependency: results are compared, nothing of it is used.
Intended differences: iglu's SD is the sample SD (n - 1), ours the population SD (DESIGN);
iglu's GMI is 3.31 + 0.02392 x mean mg/dL, unrounded, ours the Jaeb/NGSP form of the same
regression, 0.09148 x (12.71 + 4.70587 x mean mmol/L) + 2.152, rounded to 0.1.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from tidewater.domain.summary import summarize
from tidewater.domain.timeutil import format_utc, from_epoch_ms

iglu = pytest.importorskip("iglu_python")
pd = pytest.importorskip("pandas")

T0 = 1_704_067_200_000
F = 18.01559


def day_of_readings(seed: int) -> list[int]:
    rng = random.Random(seed)
    level = 140.0
    out = []
    for _ in range(288):
        level = min(420.0, max(40.0, level + rng.gauss(0, 12)))
        out.append(round(level))
    # Every published boundary once: iglu's <, <=, > agree with the spec's table on integers.
    out[:10] = [53, 54, 69, 70, 180, 181, 250, 251, 349, 350]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_day_agrees_with_iglu(seed: int) -> None:
    values = day_of_readings(seed)
    datums: list[dict[str, Any]] = [
        {
            "type": "cbg",
            "units": "mg/dL",
            "value": v,
            "time": format_utc(from_epoch_ms(T0 + i * 300_000)),
            "deviceId": "DexG6-1",
        }
        for i, v in enumerate(values)
    ]
    day = summarize(datums)["cgm"]["periods"]["1d"]
    gl = pd.Series(values, dtype=float)
    n = len(values)

    assert math.isclose(day["averageGlucoseMmol"] * F, iglu.mean_glu(gl), rel_tol=1e-12)

    below = iglu.below_percent(gl, targets_below=[54, 70])
    above = iglu.above_percent(gl, targets_above=[180, 250, 349])
    in_range = iglu.in_range_percent(gl, target_ranges=[[70, 180]])
    expected = {
        "inVeryLow": below["below_54"],
        "inLow": below["below_70"] - below["below_54"],
        "inAnyLow": below["below_70"],
        "inTarget": in_range["in_range_70_180"],
        "inHigh": above["above_180"] - above["above_250"],
        "inVeryHigh": above["above_250"],
        "inExtremeHigh": above["above_349"],
        "inAnyHigh": above["above_180"],
    }
    for name, percent in expected.items():
        assert math.isclose(day[name]["percent"] * 100, percent, abs_tol=1e-9), name

    # One regression in two published forms: they differ by < 0.006 for means of 40-400 mg/dL.
    mean = day["averageGlucoseMmol"]
    unrounded = 0.09148 * (12.71 + 4.70587 * mean) + 2.152
    assert abs(unrounded - iglu.gmi(gl)) < 0.006
    assert abs(day["glucoseManagementIndicator"] - iglu.gmi(gl)) <= 0.05 + 0.006

    # Population SD (ours) x sqrt(n / (n - 1)) is the sample SD (iglu's).
    ratio = iglu.sd_glu(gl) / (day["standardDeviation"] * F)
    assert math.isclose(ratio, math.sqrt(n / (n - 1)), rel_tol=1e-9)
    cv_ratio = iglu.cv_glu(gl) / (day["coefficientOfVariation"] * 100)
    assert math.isclose(cv_ratio, math.sqrt(n / (n - 1)), rel_tol=1e-9)
