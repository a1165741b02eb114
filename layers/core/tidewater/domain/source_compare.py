"""Comparing one person's CGM sources: how far apart two devices read the same glucose.

A source is a `deviceId` of the person's cbg readings (a sensor's own app, a receiver, a DIY
uploader). For every two sources, readings are paired when they are at most `WINDOW_MS`
(2.5 minutes) apart, **one to one, nearest first**: every candidate pair within the window
is ranked by its time gap, ties by the earlier first reading and then the earlier second
reading, and taken in that order unless one of its readings is already paired. So a reading
that could pair with two readings of the other source pairs with the nearer one, and the
other stays free for its own nearest neighbour.

Of the pairs (first f, second s, in mg/dL):
- MARD with the second source as reference, mean |f - s| / s, and the other way round;
- bias, the mean difference f - s in mg/dL;
- the "15/15" agreement: the share of pairs within ±15 mg/dL of the reference when the
  reference is below 100 mg/dL, else within ±15 % of it (edges included), both ways.
Shares and MARD are fractions in [0, 1]. Sources are ordered by deviceId, and a pair of
sources is listed only when it has at least one pair of readings.

A reading's mg/dL is what the device reported when it reported mg/dL (`originalValue`), else
the stored mmol/L times 18.01559: a comparison of two mg/dL devices is then exact.
Pure: the stored datums come in, the figures go out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tidewater.domain.limits import COMPARE_MAX_DAYS
from tidewater.domain.samples import parse_time_ms
from tidewater.domain.timeutil import format_utc, from_epoch_ms
from tidewater.domain.units import MGDL, MGDL_PER_MMOLL, canonical_units

WINDOW_MS: Final = 150_000  # ±2.5 minutes, half a 5-minute CGM interval
AGREEMENT_MGDL: Final = 15  # the absolute limit below AGREEMENT_SWITCH_MGDL
AGREEMENT_PERCENT: Final = 15  # the relative limit from AGREEMENT_SWITCH_MGDL up
AGREEMENT_SWITCH_MGDL: Final = 100
DEFAULT_DAYS: Final = 14
MAX_DAYS: Final = COMPARE_MAX_DAYS


@dataclass(frozen=True, slots=True)
class Reading:
    at_ms: int
    mgdl: float


def reading_of(datum: Mapping[str, Any]) -> tuple[str, Reading] | None:
    """(deviceId, Reading) of a stored cbg datum; None for one without a device, a time or
    a positive glucose (a reference of 0 has no relative difference)."""
    device = datum.get("deviceId")
    if not isinstance(device, str) or not device:
        return None
    try:
        at = parse_time_ms(datum.get("time"))
    except (TypeError, ValueError):
        return None
    original = datum.get("originalValue")
    units = datum.get("originalUnits")
    if isinstance(units, str) and canonical_units(units) == MGDL and _is_number(original):
        mgdl = float(original)  # type: ignore[arg-type]
    elif _is_number(datum.get("value")):
        mgdl = float(datum["value"]) * MGDL_PER_MMOLL
    else:
        return None
    return (device, Reading(at, mgdl)) if mgdl > 0 else None


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def by_source(datums: Iterable[Mapping[str, Any]]) -> dict[str, list[Reading]]:
    """Each source's readings in time order, the sources in deviceId order."""
    found: dict[str, list[Reading]] = {}
    for item in map(reading_of, datums):
        if item is not None:
            found.setdefault(item[0], []).append(item[1])
    return {device: sorted(found[device], key=lambda r: r.at_ms) for device in sorted(found)}


def pair_readings(
    first: Sequence[Reading], second: Sequence[Reading], window_ms: int = WINDOW_MS
) -> list[tuple[Reading, Reading]]:
    """The one-to-one, nearest-first pairs of two sources' readings (each in time order),
    in the first source's time order."""
    candidates: list[tuple[int, int, int, int, int]] = []  # gap, at1, at2, i, j
    lo = 0
    for i, a in enumerate(first):
        while lo < len(second) and second[lo].at_ms < a.at_ms - window_ms:
            lo += 1
        j = lo
        while j < len(second) and second[j].at_ms <= a.at_ms + window_ms:
            b = second[j]
            candidates.append((abs(a.at_ms - b.at_ms), a.at_ms, b.at_ms, i, j))
            j += 1
    candidates.sort()
    used_first: set[int] = set()
    used_second: set[int] = set()
    chosen: list[tuple[int, int]] = []
    for _gap, _at1, _at2, i, j in candidates:
        if i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            chosen.append((i, j))
    chosen.sort()
    return [(first[i], second[j]) for i, j in chosen]


def agrees(value: float, reference: float) -> bool:
    """Within ±15 mg/dL of a reference below 100 mg/dL, else within ±15 % of it. Compared
    as |d|·100 <= 15·ref so that an edge (138 against 120) is not lost to 0.15's binary."""
    gap = abs(value - reference)
    if reference < AGREEMENT_SWITCH_MGDL:
        return gap <= AGREEMENT_MGDL
    return gap * 100 <= AGREEMENT_PERCENT * reference


@dataclass(frozen=True)
class Agreement:
    first: str
    second: str
    pairs: int
    mard_first_to_second: float  # mean |f - s| / s: the second source is the reference
    mard_second_to_first: float  # mean |s - f| / f
    bias: float  # mean f - s, mg/dL
    within15_first_to_second: float
    within15_second_to_first: float
    overlap_start: str
    overlap_end: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "pairs": self.pairs,
            "mardFirstToSecond": self.mard_first_to_second,
            "mardSecondToFirst": self.mard_second_to_first,
            "bias": self.bias,
            "within15FirstToSecond": self.within15_first_to_second,
            "within15SecondToFirst": self.within15_second_to_first,
            "overlapStart": self.overlap_start,
            "overlapEnd": self.overlap_end,
        }


def agreement(
    first: str, second: str, pairs: Sequence[tuple[Reading, Reading]]
) -> Agreement | None:
    """The figures of two sources' paired readings; None when there is no pair."""
    if not pairs:
        return None
    n = len(pairs)
    times = [r.at_ms for pair in pairs for r in pair]
    return Agreement(
        first=first,
        second=second,
        pairs=n,
        mard_first_to_second=sum(abs(f.mgdl - s.mgdl) / s.mgdl for f, s in pairs) / n,
        mard_second_to_first=sum(abs(s.mgdl - f.mgdl) / f.mgdl for f, s in pairs) / n,
        bias=sum(f.mgdl - s.mgdl for f, s in pairs) / n,
        within15_first_to_second=sum(agrees(f.mgdl, s.mgdl) for f, s in pairs) / n,
        within15_second_to_first=sum(agrees(s.mgdl, f.mgdl) for f, s in pairs) / n,
        overlap_start=format_utc(from_epoch_ms(min(times))),
        overlap_end=format_utc(from_epoch_ms(max(times))),
    )


def compare(sources: Mapping[str, Sequence[Reading]]) -> list[Agreement]:
    """Every two sources (in deviceId order, the earlier one first) that have a pair."""
    devices = sorted(sources)
    found = []
    for k, first in enumerate(devices):
        for second in devices[k + 1 :]:
            figures = agreement(first, second, pair_readings(sources[first], sources[second]))
            if figures is not None:
                found.append(figures)
    return found


def report(datums: Iterable[Mapping[str, Any]], start: str, end: str, days: int) -> dict[str, Any]:
    """The comparison of the cbg datums of the window [start, end], and each source's
    readings as [time, mg/dL to 0.1] for an overlay of the sources."""
    sources = by_source(datums)
    return {
        "days": days,
        "start": start,
        "end": end,
        "units": "mg/dL",
        "windowSeconds": WINDOW_MS // 1000,
        "sources": [
            {
                "deviceId": device,
                "readings": len(readings),
                "points": [
                    [format_utc(from_epoch_ms(r.at_ms)), round(r.mgdl, 1)] for r in readings
                ],
            }
            for device, readings in sources.items()
        ],
        "pairs": [a.as_dict() for a in compare(sources)],
    }
