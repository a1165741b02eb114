"""The donation export: consenting donors' CGM data as anonymised, time-shifted CSV slices."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tidewater.observability import logger
from tidewater.store.repos import Repositories


@dataclass
class ExportResult:
    slices: int = 0
    rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run(repos: Repositories) -> ExportResult:
    result = ExportResult()
    logger.info("donation export", extra=result.as_dict())
    return result
