"""A page of a list a client reads piece by piece, and where the next piece starts."""

from __future__ import annotations

from dataclasses import dataclass

from tidewater.domain.datums.common import Datum


@dataclass(frozen=True)
class Page:
    items: list[Datum]
    cursor: str | None  # opaque; None when there is nothing more
