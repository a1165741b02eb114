"""The ambulatory glucose profile (AGP): a period's CGM readings folded onto one day.

The readings of the period are put in bins by local time of day (`BIN_MINUTES` wide: 96 bins
for a day); each bin gives the 5th, 25th, 50th, 75th and 95th percentiles of its glucose, the
curves the standard AGP report draws, with the target range 3.9-10.0 mmol/L (70-180 mg/dL)
shaded. Percentiles are exact: linear interpolation between the closest ranks (Hyndman and
Fan's definition 7, numpy's default), over every reading in the bin, in mmol/L as stored.

Local time of day is the reading's own: `time` plus the `timezoneOffset` (minutes) the
device reported with it, else UTC. A day of the daily overlay is a local calendar day too.
Pure: the readings come in, the numbers go out; the page only draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tidewater.domain.limits import AGP_MAX_DAYS
from tidewater.domain.samples import parse_time_ms

BIN_MINUTES: Final = 15
PERCENTILES: Final = (5, 25, 50, 75, 95)
TARGET_MMOL: Final = (3.9, 10.0)  # 70-180 mg/dL, the consensus target range
DAY_MINUTES: Final = 24 * 60
MINUTE_MS: Final = 60_000
DEFAULT_DAYS: Final = 14
MAX_DAYS: Final = AGP_MAX_DAYS


@dataclass(frozen=True, slots=True)
class Reading:
    """One CGM reading at its local time: the minute of the day and the local date."""

    local_ms: int  # epoch ms shifted by the reading's timezoneOffset
    mmol: float

    @property
    def minute(self) -> int:
        return (self.local_ms // MINUTE_MS) % DAY_MINUTES

    @property
    def date(self) -> str:
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=self.local_ms)).strftime(
            "%Y-%m-%d"
        )


def reading_of(datum: Mapping[str, Any]) -> Reading | None:
    """The Reading of a stored cbg datum (mmol/L in `value`); None for anything unreadable,
    which the profile leaves out rather than fail a report over one bad row."""
    try:
        at = parse_time_ms(datum.get("time"))
        value = datum.get("value")
        if type(value) not in (int, float):
            return None
        offset = datum.get("timezoneOffset", 0)
        shift = int(offset) * MINUTE_MS if type(offset) in (int, float) else 0
    except (TypeError, ValueError):
        return None
    return Reading(at + shift, float(value))  # type: ignore[arg-type]


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile (0-100) of values sorted ascending: linear interpolation between
    the closest ranks, h = (n - 1)·p/100 (numpy's default)."""
    if not ordered:
        raise ValueError("no values")
    h = (len(ordered) - 1) * p / 100
    below = int(h)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (h - below) * (ordered[above] - ordered[below])


@dataclass(frozen=True)
class Bin:
    minute: int  # first minute of the day the bin holds
    count: int
    percentiles: dict[int, float]  # empty when the bin has no reading

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"minute": self.minute, "count": self.count}
        for p in PERCENTILES:
            out[f"p{p}"] = self.percentiles.get(p)
        return out


def profile(readings: Iterable[Reading], bin_minutes: int = BIN_MINUTES) -> list[Bin]:
    """Every bin of the day in order, each with its percentiles (none where it is empty)."""
    if bin_minutes <= 0 or DAY_MINUTES % bin_minutes:
        raise ValueError("bins must divide the day")
    binned: list[list[float]] = [[] for _ in range(DAY_MINUTES // bin_minutes)]
    for reading in readings:
        binned[reading.minute // bin_minutes].append(reading.mmol)
    bins = []
    for i, values in enumerate(binned):
        values.sort()
        found = {p: percentile(values, p) for p in PERCENTILES} if values else {}
        bins.append(Bin(i * bin_minutes, len(values), found))
    return bins


def daily(readings: Iterable[Reading]) -> list[dict[str, Any]]:
    """The daily overlay: each local day with readings, oldest first, its readings as
    [minute of day, mmol/L] in time order."""
    days: dict[str, list[tuple[int, float]]] = {}
    for reading in sorted(readings, key=lambda r: r.local_ms):
        days.setdefault(reading.date, []).append((reading.minute, reading.mmol))
    return [
        {"date": date, "points": [[minute, mmol] for minute, mmol in points]}
        for date, points in sorted(days.items())
    ]


def report(datums: Iterable[Mapping[str, Any]], start: str, end: str, days: int) -> dict[str, Any]:
    """The AGP of the cbg datums of the window [start, end]: bins, daily overlay, counts."""
    readings = [r for r in map(reading_of, datums) if r is not None]
    overlay = daily(readings)
    return {
        "days": days,
        "start": start,
        "end": end,
        "units": "mmol/L",
        "binMinutes": BIN_MINUTES,
        "target": {"low": TARGET_MMOL[0], "high": TARGET_MMOL[1]},
        "readings": len(readings),
        "daysWithData": len(overlay),
        "bins": [b.as_dict() for b in profile(readings)],
        "daily": overlay,
    }
