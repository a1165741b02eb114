"""Reading a user's stored summary (GET /v1/users/{userId}/summary); services/summarizer.py
folds the summaries, domain/summary computes them."""

from __future__ import annotations

from typing import Any

from tidewater.domain.identity import Action, Caller
from tidewater.services.access import require
from tidewater.store.repos import Repositories


def get_summary(caller: Caller, user_id: str, repos: Repositories) -> dict[str, Any]:
    """`{"cgm", "bgm", "dates": {"lastData", "lastUpdatedDate", "outdatedSince"}}`: for the
    owner, or a clinician of one of the patient's clinics."""
    require(caller, Action.READ, user_id, repos)
    return repos.accounts.summary(user_id)
