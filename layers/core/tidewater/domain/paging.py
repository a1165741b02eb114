"""A page of datums read piece by piece, and where the next piece starts."""

from __future__ import annotations

from dataclasses import dataclass

from tidewater.domain.datums.checks import Datum

# Where the next page starts: the type, and the last sort key already returned (never a raw
# LastEvaluatedKey, and no user id). The service signs it into the client's cursor.
Position = tuple[str, str]


@dataclass(frozen=True)
class Page:
    items: list[Datum]
    next: Position | None  # None when there is nothing more
