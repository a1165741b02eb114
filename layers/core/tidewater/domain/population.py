"""The population view: glucose across the people who share, and nothing about who they are.

Each person who shares is shown under a six-hex-digit colour hash that only the view knows:
HMAC-SHA256 of their user id under a random key of the UTC day, cut to six hex digits. A new
day has a new key, so yesterday's colours say nothing about today's; the key is random and
kept by the aggregator, so a hash cannot be recomputed from a user id, and it is unrelated to
the donation hash (drawn per slice by the export). A view shows the hash, minute times and
mg/dL integers only, and nothing at all when fewer than k people have data in it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tidewater.domain.limits import POPULATION_MAX_HOURS
from tidewater.domain.timeutil import format_utc, parse_rfc3339

DEFAULT_HOURS: Final = 3
MAX_HOURS: Final = POPULATION_MAX_HOURS
HASH_DIGITS: Final = 6
DAY_KEY_BYTES: Final = 32
# A day's key outlives its day by this much (the TTL), so that a view computed at midnight
# from a key read just before still finds it; it is never used for another day.
DAY_KEY_KEPT: Final = timedelta(days=2)
MGDL_PER_MMOL: Final = 18.01559  # molar mass of glucose: 180.1559 g/mol


@dataclass(frozen=True)
class Point:
    time: str  # canonical UTC, to the minute (seconds and milliseconds zero)
    glucose: int  # mg/dL

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time, "glucose": self.glucose}


def choice(shared_since: str | None) -> dict[str, Any]:
    """A person's choice as they see it (and as their rights export lists it)."""
    return {"share": True, "sharedTime": shared_since} if shared_since else {"share": False}


def day_of(now: datetime) -> str:
    """The UTC day a moment is in, `2026-12-03`: the day key's name."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def day_key_expiry(day: str) -> int:
    """The TTL (epoch seconds) of a day's key."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return int((start + timedelta(days=1) + DAY_KEY_KEPT).timestamp())


def new_day_key() -> bytes:
    return secrets.token_bytes(DAY_KEY_BYTES)


def window(now: datetime, hours: int) -> tuple[str, str]:
    """The view's window: the `hours` before `now`, as the store's canonical times."""
    return format_utc(now - timedelta(hours=hours)), format_utc(now)


def _digest(key: bytes, user_id: str, attempt: int) -> str:
    message = user_id if attempt == 0 else f"{user_id}#{attempt}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def assign_hashes(key: bytes, user_ids: Iterable[str], digits: int = HASH_DIGITS) -> dict[str, str]:
    """Each person's colour hash under a day's key, unique among `user_ids`.

    A person takes the first of their candidates (HMAC of the id, then of `id#1`, `id#2`, ...)
    that nobody before them has; people go in the order of their full first digest, which
    follows the secret key, not the ids. The same people and key give the same hashes,
    whatever order they come in.
    """
    people = sorted(set(user_ids), key=lambda user_id: _digest(key, user_id, 0))
    if len(people) > 16**digits:
        raise ValueError("more people than hashes")
    taken: set[str] = set()
    hashes: dict[str, str] = {}
    for user_id in people:
        attempt = 0
        while (candidate := _digest(key, user_id, attempt)[:digits]) in taken:
            attempt += 1
        taken.add(candidate)
        hashes[user_id] = candidate
    return hashes


def chosen(hashes: Mapping[str, str], cap: int) -> list[str]:
    """The people one view reads (each is one Query of their CGM in the window): the first
    `cap` in hash order, so that which ones says nothing about user ids either."""
    return sorted(hashes, key=hashes.__getitem__)[:cap]


def to_mgdl(mmol: float) -> int:
    """Stored mmol/L to whole mg/dL, halves away from zero (glucose is never negative)."""
    return int(mmol * MGDL_PER_MMOL + 0.5)


def to_minute(time: str) -> str:
    """A stored time cut down to its minute: `2026-12-03T08:46:00.000Z`."""
    moment = parse_rfc3339(time)
    return format_utc(moment.replace(second=0, microsecond=0))


def points(readings: Iterable[tuple[str, float]]) -> list[Point]:
    """A person's readings (time, mmol/L) as the view's points: one per minute, in time
    order; two readings of one minute (two devices) become their mean."""
    minutes: dict[str, list[float]] = {}
    for time, mmol in readings:
        minutes.setdefault(to_minute(time), []).append(mmol)
    return [Point(minute, to_mgdl(sum(values) / len(values)))
            for minute, values in sorted(minutes.items())]  # fmt: skip


def view(
    people: Mapping[str, Sequence[Point]], hashes: Mapping[str, str], min_people: int
) -> list[dict[str, Any]]:
    """The answer's `data`: each person with points under their hash, in hash order; empty
    when fewer than `min_people` have any point (a few people alone are identifiable)."""
    shown = sorted((hashes[user_id], series) for user_id, series in people.items() if series)
    if len(shown) < max(1, min_people):
        return []
    return [{"hash": hash_, "points": [p.as_dict() for p in series]} for hash_, series in shown]
