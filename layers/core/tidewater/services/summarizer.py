"""The batch summariser: every iteration takes up to `summary_batches` batches of the
`summary_batch_size` most out-of-date accounts (oldest first) and brings their summaries up
to date."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.observability import logger
from tidewater.store.repos import Repositories


@dataclass
class IterationResult:
    selected: int = 0
    summarized: int = 0
    failed: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run_iteration(repos: Repositories) -> IterationResult:
    settings = repos.settings
    cap = settings.summary_batch_size * settings.summary_batches
    outdated = repos.accounts.oldest_outdated(cap, format_utc(utcnow()))
    size = settings.summary_batch_size
    result = IterationResult(selected=len(outdated), batches=-(-len(outdated) // size))
    logger.info("summariser iteration", extra=result.as_dict())
    return result
