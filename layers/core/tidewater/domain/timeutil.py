"""Time parsing and the one canonical, lexically sortable UTC format every key uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a zone; ValueError otherwise."""
    m = _RFC3339.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError("not an RFC 3339 time with a zone")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    zone = m.group(8)
    base = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        base -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return base


def format_utc(moment: datetime) -> str:
    """`2016-06-14T17:52:45.845Z`: fixed width, millisecond precision, sorts as it reads."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_ms(moment: datetime) -> int:
    """Exact integer milliseconds since the epoch (no float rounding)."""
    since = moment - EPOCH  # normalised: only `days` can be negative
    return (since.days * 86_400 + since.seconds) * 1000 + since.microseconds // 1000


def from_epoch_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def utcnow() -> datetime:
    return datetime.now(UTC)
