"""The population view: a person's choice to share with it, and the view itself."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Final

from tidewater.domain import population
from tidewater.domain.datums.checks import required_boolean
from tidewater.domain.identity import Action, Caller
from tidewater.domain.timeutil import format_utc
from tidewater.observability import logger, metrics
from tidewater.services.access import require, require_session
from tidewater.store.repos import Repositories

# People whose CGM is read at once for one view: their Queries overlap.
READERS: Final = 16


def choice(caller: Caller, user_id: str, repos: Repositories) -> dict[str, Any]:
    """Whether the person shares, and since when. Owner only, as for donation."""
    require(caller, Action.WRITE, user_id, repos)
    return population.choice(repos.population.shared_since(user_id))


def set_choice(
    caller: Caller, user_id: str, body: Any, repos: Repositories, now: datetime
) -> dict[str, Any]:
    """Share with the population view, or stop (from the next view on). Apart from
    donation consent: either may be given without the other."""
    require(caller, Action.WRITE, user_id, repos)
    if required_boolean(body, "share"):
        return population.choice(repos.population.share(user_id, format_utc(now)))
    repos.population.unshare(user_id)
    return population.choice(None)


def view(caller: Caller, hours: int | None, repos: Repositories, now: datetime) -> dict[str, Any]:
    """`{"data": [{"hash", "points": [{"time", "glucose"}]}]}` of the `hours` before `now`.
    Signed-in callers only, unless the deployment makes the view public."""
    settings = repos.settings
    if not settings.public_population:
        require_session(caller)
    members = repos.population.members()
    data: list[dict[str, Any]] = []
    if members and len(members) >= settings.population_min_people:
        day = population.day_of(now)
        key = repos.population.day_key(day, population.new_day_key, population.day_key_expiry(day))
        hashes = population.assign_hashes(key, members)
        people = population.chosen(hashes, settings.population_max_people)
        hours = hours or population.DEFAULT_HOURS
        start, end = population.window(now, hours)

        def read(user_id: str) -> list[population.Point]:
            cbg = repos.datums.between(user_id, "cbg", start, end)
            return population.points((str(d["time"]), float(d["value"])) for d in cbg)

        def read_all() -> dict[str, list[population.Point]]:
            repos.datums.client  # noqa: B018 (made here, before the threads share it)
            with ThreadPoolExecutor(
                min(READERS, len(people)), thread_name_prefix="population"
            ) as pool:
                return dict(zip(people, pool.map(read, people), strict=True))

        # Views of the same people in the same minute (a page refreshing, many viewers) are
        # read once; someone who stops sharing changes the people, so is never shown again.
        minute = population.to_minute(format_utc(now))
        series = repos.population.recently_read((hours, minute, day, tuple(people)), read_all)
        data = population.view(series, hashes, settings.population_min_people)
    # Counts only: never who, nor any hash.
    logger.info("population viewed", extra={"members": len(members), "shown": len(data)})
    metrics.add_metric(name="PopulationViews", unit="Count", value=1)
    return {"data": data}
