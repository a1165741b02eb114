"""Synthetic summaries for clinic lists, shaped as the summary engine writes them, for
tests and benchmarks (values random, some metrics absent as the presence rules leave them)."""

from __future__ import annotations

import random
from typing import Any

from tidewater.domain import clinic


def random_summary(rng: random.Random) -> dict[str, Any]:
    """A plausible summary with every period; some metrics left out, as the spec's presence
    rules leave them out (little data), so that 'patients without the metric' exist."""

    def period() -> dict[str, Any]:
        p: dict[str, Any] = {
            "total": {"records": 200, "minutes": 1000, "percent": 1.0},
            "delta": {
                "inTarget": {"percent": rng.uniform(-0.3, 0.3)},
                "inVeryLow": {"percent": rng.uniform(-0.05, 0.05)},
            },
        }
        for r in (
            "VeryLow",
            "Low",
            "AnyLow",
            "Target",
            "High",
            "VeryHigh",
            "ExtremeHigh",
            "AnyHigh",
        ):
            p[f"in{r}"] = {"percent": round(rng.random(), 2)}  # rounded: ties happen
        p["timeCGMUsePercent"] = rng.random()
        p["averageGlucoseMmol"] = rng.uniform(4, 15)
        p["standardDeviation"] = rng.uniform(0.5, 4)
        p["coefficientOfVariation"] = rng.uniform(0.1, 0.5)
        if rng.random() < 0.8:
            p["glucoseManagementIndicator"] = round(rng.uniform(5, 11), 1)
        return p

    day = rng.randint(1, 28)
    return {
        "cgm": {
            "dates": {"lastData": f"2026-10-{day:02d}T10:00:00.000Z"},
            "periods": {p: period() for p in clinic.PERIODS},
        },
        "bgm": {
            "dates": {"lastData": f"2026-09-{day:02d}T10:00:00.000Z"},
            "periods": {
                p: {
                    "averageGlucoseMmol": rng.uniform(4, 15),
                    "inVeryLow": {"percent": rng.random()},
                    "inTarget": {"percent": rng.random()},
                }
                for p in clinic.PERIODS
            },
        },
    }
