"""Anonymisation of donated CGM data: pure, exact and testable with an injected RNG.

A slice is one aligned time window of all consenting donors' CGM readings. Each donor gets
a random 6-hex hash per slice; every reading becomes one CSV row
`hash,datetime,glucose,trend,noise` in the donor's local clock time (UTC plus the donor's
median offset over the slice), shifted back by the slice's random whole number of weeks.
Nothing else of a datum is ever read into a row: no ids, devices, free text or zones.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple, Protocol

from tidewater.domain.timeutil import format_utc, parse_rfc3339
from tidewater.domain.units import MGDL_PER_MMOLL

SCHEMA_VERSION: Final = 1
COLUMNS: Final = ("hash", "datetime", "glucose", "trend", "noise")
HEADER: Final = ",".join(COLUMNS) + "\n"
HASH_BITS: Final = 24  # 6 lowercase hex digits
SLICE_ID_BITS: Final = 128

# CGMs report "below 40" and "above 400" as sentinels (Dexcom's LOW/HIGH, Nightscout's
# 39/401, error codes below 20); their exact values identify a device, so all collapse.
GLUCOSE_MIN: Final = 40
GLUCOSE_MAX: Final = 400
GLUCOSE_BELOW: Final = 39
GLUCOSE_ABOVE: Final = 401

# 10 to 20 years back, in whole weeks (a week keeps the weekday and the time of day).
WEEK_SECONDS: Final = 7 * 86_400
SHIFT_WEEKS_MIN: Final = math.ceil(10 * 365.25 / 7)  # 522
SHIFT_WEEKS_MAX: Final = math.floor(20 * 365.25 / 7)  # 1043

# Windows are aligned to this Monday, 00:00 UTC: window n is
# [EPOCH + n * days, EPOCH + (n + 1) * days), the same n for every run, hence idempotence.
WINDOW_EPOCH: Final = datetime(1970, 1, 5, tzinfo=UTC)
# A run decides every window whose embargo ended in the last CATCH_UP_DAYS (missed runs are
# caught up); older windows are never exported, so the first run does not publish history.
CATCH_UP_DAYS: Final = 28

NOISE_MIN: Final = 0
NOISE_MAX: Final = 4
NO_TREND: Final = "None"
# Nightscout's direction names, exported as they are; Tidepool's trend names map onto them.
# Anything else (a client may send any string) becomes `None`: free text never leaves.
TRENDS: Final = (
    NO_TREND, "NONE", "DoubleUp", "SingleUp", "FortyFiveUp", "Flat", "FortyFiveDown",
    "SingleDown", "DoubleDown", "NOT COMPUTABLE", "RATE OUT OF RANGE",
)  # fmt: skip
TIDEPOOL_TRENDS: Final = {
    "constant": "Flat",
    "slowRise": "FortyFiveUp",
    "slowFall": "FortyFiveDown",
    "moderateRise": "SingleUp",
    "moderateFall": "SingleDown",
    "rapidRise": "DoubleUp",
    "rapidFall": "DoubleDown",
}
_TREND_INDEX: Final = {name: i for i, name in enumerate(TRENDS)}
NO_NOISE: Final = -1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Rng(Protocol):
    """What the anonymisation draws from: `random.SystemRandom()` in production (a CSPRNG),
    a seeded `random.Random` in tests."""

    def getrandbits(self, k: int, /) -> int: ...

    def randint(self, a: int, b: int, /) -> int: ...


# --------------------------------------------------------------------- random draws
def draw_hash(rng: Rng, taken: set[int]) -> int:
    """A fresh donor hash for one slice, unique within it (`taken` is updated)."""
    while True:
        value = rng.getrandbits(HASH_BITS)
        if value not in taken:
            taken.add(value)
            return value


def format_hash(value: int) -> str:
    return f"{value:06x}"


def draw_shift_weeks(rng: Rng) -> int:
    return rng.randint(SHIFT_WEEKS_MIN, SHIFT_WEEKS_MAX)


def draw_slice_id(rng: Rng) -> str:
    """A slice's public name: 32 random hex digits, derived from nothing."""
    return f"{rng.getrandbits(SLICE_ID_BITS):032x}"


# --------------------------------------------------------------------- windows
@dataclass(frozen=True)
class Window:
    index: int
    start: datetime
    end: datetime  # exclusive

    @property
    def first_time(self) -> str:
        """The window's first millisecond, canonical UTC."""
        return format_utc(self.start)

    @property
    def last_time(self) -> str:
        """The window's last millisecond, canonical UTC (key ranges are inclusive)."""
        return format_utc(self.end - timedelta(milliseconds=1))

    @property
    def start_seconds(self) -> int:
        return int((self.start - _EPOCH).total_seconds())


def window(index: int, days: int) -> Window:
    start = WINDOW_EPOCH + timedelta(days=index * days)
    return Window(index, start, start + timedelta(days=days))


def due_windows(now: datetime, days: int, embargo_days: int) -> list[Window]:
    """Windows whose end is older than the embargo, oldest first, those whose embargo ended
    within the last CATCH_UP_DAYS only."""
    if days < 1 or embargo_days < 0:
        raise ValueError("slice days must be >= 1 and the embargo >= 0")
    horizon = now - timedelta(days=embargo_days)
    length = timedelta(days=days)
    newest = (horizon - WINDOW_EPOCH) // length - 1  # the newest window ending <= horizon
    oldest = (horizon - timedelta(days=CATCH_UP_DAYS) - WINDOW_EPOCH) // length
    return [window(n, days) for n in range(max(oldest, 0), newest + 1)]


# --------------------------------------------------------------------- readings
class Reading(NamedTuple):
    """What a row is made of, and nothing else: UTC epoch seconds (milliseconds dropped),
    the device's offset to local time, glucose in whole mg/dL (clamped), trend, noise."""

    utc_seconds: int
    offset_minutes: int | None
    glucose: int
    trend: int  # an index into TRENDS
    noise: int  # 0-4, or NO_NOISE


def glucose_mgdl(value_mmol: float) -> int:
    """Whole mg/dL (half up), values beyond the sensor range collapsed to 39 / 401."""
    mgdl = math.floor(value_mmol * MGDL_PER_MMOLL + 0.5)
    if mgdl < GLUCOSE_MIN:
        return GLUCOSE_BELOW
    if mgdl > GLUCOSE_MAX:
        return GLUCOSE_ABOVE
    return mgdl


def trend_index(value: object) -> int:
    if not isinstance(value, str):
        return 0
    name = TIDEPOOL_TRENDS.get(value, value)
    return _TREND_INDEX.get(name, 0)


def noise_value(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NO_NOISE
    if isinstance(value, float) and not value.is_integer():
        return NO_NOISE
    level = int(value)
    return level if NOISE_MIN <= level <= NOISE_MAX else NO_NOISE


@lru_cache(maxsize=4096)
def _day_seconds(day: str) -> int:
    return int((datetime.fromisoformat(day).replace(tzinfo=UTC) - _EPOCH).total_seconds())


def utc_seconds(time: str) -> int:
    """Epoch seconds of a stored datum's time (canonical `YYYY-MM-DDTHH:MM:SS.sssZ`, or
    any RFC 3339 time with a zone); fractions of a second are dropped."""
    if len(time) == 24 and time[10] == "T" and time[23] == "Z":
        hour, minute, second = int(time[11:13]), int(time[14:16]), int(time[17:19])
        return _day_seconds(time[:10]) + hour * 3600 + minute * 60 + second
    return math.floor((parse_rfc3339(time) - _EPOCH).total_seconds())


def reading(body: Mapping[str, Any]) -> Reading | None:
    """The reading of a stored cbg datum; None when it has no usable time or value."""
    value, time = _number(body.get("value")), body.get("time")
    if value is None or not isinstance(time, str):
        return None
    try:
        seconds = utc_seconds(time)
    except ValueError:
        return None
    offset = _number(body.get("timezoneOffset"))
    return Reading(
        seconds,
        None if offset is None else int(offset),
        glucose_mgdl(value),
        trend_index(body.get("trend")),
        noise_value(body.get("noise")),
    )


def _number(value: object) -> float | None:
    """A finite JSON number (never a boolean), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def median_offset(offsets: Iterable[int | None]) -> int:
    """One offset per donor and slice: the median (an observed value, the lower of the two
    middle ones) of those readings that carry one; 0 (UTC) when none does. A single offset
    makes a DST change invisible, where it would otherwise date the data."""
    known = [o for o in offsets if o is not None]
    return int(statistics.median_low(known)) if known else 0


def local_seconds(utc: int, offset_minutes: int, *, keep_seconds: bool) -> int:
    """Local clock time (epoch seconds), truncated to the minute unless `keep_seconds`:
    the second a device reads at is constant for a sensor session, a fingerprint."""
    local = utc + offset_minutes * 60
    return local if keep_seconds else local - local % 60


# --------------------------------------------------------------------- rows
@lru_cache(maxsize=8192)
def _day_text(day_index: int) -> str:
    return (_EPOCH + timedelta(days=day_index)).strftime("%Y-%m-%d")


def format_datetime(seconds: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS`, no zone, from epoch seconds."""
    day, rest = divmod(seconds, 86_400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day_text(day)}T{hour:02d}:{minute:02d}:{second:02d}"


def format_row(hash_value: int, shifted_seconds: int, glucose: int, trend: int, noise: int) -> str:
    noise_text = "" if noise == NO_NOISE else str(noise)
    return (
        f"{hash_value:06x},{format_datetime(shifted_seconds)},{glucose},"
        f"{TRENDS[trend]},{noise_text}\n"
    )


def row_hash(line: str) -> str:
    """The hash column of a CSV row."""
    return line[: HASH_BITS // 4]


def row_datetime(line: str) -> str:
    return line[HASH_BITS // 4 + 1 : HASH_BITS // 4 + 20]


# --------------------------------------------------------------------- records
@dataclass(frozen=True)
class Consent:
    consent: bool
    consented_time: str | None = None
    withdrawn_time: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"consent": self.consent}
        if self.consented_time:
            out["consentedTime"] = self.consented_time
        if self.withdrawn_time:
            out["withdrawnTime"] = self.withdrawn_time
        return out


EXPORTING: Final = "exporting"  # claimed by a run that has not finished (or died)
PUBLISHED: Final = "published"
WITHHELD: Final = "withheld"  # fewer than k donors at export time: never published
DROPPED: Final = "dropped"  # published, then withdrawals left fewer than k donors


@dataclass(frozen=True)
class SliceRecord:
    """The export's decision on one window. `start`/`end` are the first and last shifted
    datetimes in the file; nothing here but `index` and `claimed_time` is a real time, and
    neither is ever published."""

    index: int
    slice_id: str
    state: str
    claimed_time: str
    rows: int = 0
    donors: int = 0
    start: str = ""
    end: str = ""

    def manifest_entry(self, key: str) -> dict[str, Any]:
        return {"id": self.slice_id, "key": key, "start": self.start, "end": self.end,
                "rows": self.rows, "donors": self.donors}  # fmt: skip


@dataclass(frozen=True)
class SliceMembership:
    """A donor's hash in one slice (the secret mapping), and the generation of the consent
    the donor was exported under."""

    index: int
    slice_id: str
    hash: str
    generation: int


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal of the donor's consent of `generation` (and of every earlier one)."""

    user_id: str
    requested_time: str
    generation: int

    def covers(self, membership: SliceMembership) -> bool:
        return membership.generation <= self.generation


# Why a manifest lists no slice: the only thing it says then, and nothing of who.
NO_EXPORT_YET: Final = "no-export-yet"
NO_WINDOW_PAST_EMBARGO: Final = "no-window-past-embargo"  # no donated data that old yet
WITHHELD_BELOW_K: Final = "withheld-below-k"  # every window so far had fewer than k donors


def manifest(entries: Iterable[dict[str, Any]], reason: str | None = None) -> dict[str, Any]:
    """The public index of slices, in slice-id order: random, so that the order says
    nothing of which window came first. `reason` says why it lists none."""
    document: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "columns": list(COLUMNS),
        "slices": sorted(entries, key=lambda e: str(e["id"])),
    }
    if reason and not document["slices"]:
        document["reason"] = reason
    return document
