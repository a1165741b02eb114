"""An account as the use cases see it: the profile, what a clinic's list needs of it, and
the summariser's work on it (the store reads and writes these; services never see an item)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Profile:
    user_id: str
    full_name: str
    role: str
    created_time: str

    def as_dict(self) -> dict[str, str]:
        return {
            "userId": self.user_id,
            "fullName": self.full_name,
            "role": self.role,
            "createdTime": self.created_time,
        }


@dataclass(frozen=True)
class Listing:
    """What a clinic's patient list needs of an account."""

    full_name: str
    summary: dict[str, Any] | None
    clinic_ids: frozenset[str]


@dataclass(frozen=True)
class OutdatedAccount:
    user_id: str
    outdated_since: str


class Finished(Enum):
    """How a summariser's work on an account ended."""

    UP_TO_DATE = "up-to-date"
    STILL_OUTDATED = "still-outdated"  # stored, but marked again meanwhile
    LEASE_LOST = "lease-lost"  # nothing stored


@dataclass(frozen=True)
class SummaryWork:
    """An account the summariser holds the lease of, and what it read of it."""

    user_id: str
    lease: int
    version: int | None
    touched: frozenset[str]
    touched_all: bool
    full_name: str
    clinic_ids: frozenset[str]
