"""A patient list's query: period, sort, filters and page size from the query string."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from tidewater.domain.clinic.metrics import DEFAULT_PERIOD, FULL_NAME, METRICS, PERIODS
from tidewater.domain.cursor import scope
from tidewater.domain.errors import InvalidData, Problem

DEFAULT_LIMIT, MAX_LIMIT = 50, 100
# Tidepool's `offset` is served by reading `offset + limit` rows of the index and dropping
# the first `offset`: a Query still, whose cost grows with the offset (the cursor's does not).
MAX_OFFSET = 10_000
MAX_SEARCH = 100

# The comparisons a filter may use, in memory and (store/clinics.py) as key conditions.
OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Filter:
    metric: str
    op: str
    value: Decimal


@dataclass(frozen=True)
class PatientQuery:
    period: str = DEFAULT_PERIOD
    sort: str = FULL_NAME
    descending: bool = False
    filters: tuple[Filter, ...] = ()
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    search: str | None = None  # case-folded; the patients whose full name contains it
    offset: int = 0

    def cursor_scope(self, clinic_id: str) -> str:
        """What a cursor is bound to: the same clinic's list, order, filters and search."""
        filters = [f"{f.metric}{f.op}{f.value}" for f in self.filters]
        return scope(
            "patients",
            clinic_id,
            self.period,
            self.sort,
            str(self.descending),
            self.search or "",
            *filters,
        )


_FILTER = re.compile(r"^(>=|<=|>|<)(-?\d+(?:\.\d+)?)$")
_RESERVED = {"period", "sort", "sortType", "limit", "cursor", "offset", "search"}
_SORT_TYPES = ("cgm", "bgm")
_BAD_PERIOD = "period is one of " + ", ".join(PERIODS)


def parse_period(params: Mapping[str, str], problems: list[Problem]) -> str:
    """`period` (default 14d); a problem at the parameter `period` when it is not one."""
    period = params.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        problems.append(Problem.query("period", "value-not-valid", "invalid period", _BAD_PERIOD))
    return period


def parse_patient_query(params: Mapping[str, str]) -> PatientQuery:
    """Query-string parameters → a PatientQuery; every problem at once, pointing at the
    parameter (`source.parameter`: `period`, `sort`, `cgm.timeInLowPercent`…)."""
    problems: list[Problem] = []
    period = parse_period(params, problems)
    sort = params.get("sort", FULL_NAME)
    descending = sort.startswith("-")
    sort_metric = sort.lstrip("+-")
    # Tidepool's form: `sort=-timeInVeryLowPercent&sortType=cgm`; ours: `-cgm.timeIn…`.
    sort_type = params.get("sortType")
    if sort_type is not None and sort_type not in _SORT_TYPES:
        problems.append(
            Problem.query(
                "sortType", "value-not-valid", "invalid sortType", "sortType is cgm or bgm"
            )
        )
    elif "." not in sort_metric and f"{sort_type or 'cgm'}.{sort_metric}" in METRICS:
        sort_metric = f"{sort_type or 'cgm'}.{sort_metric}"
    if sort_metric not in METRICS:
        problems.append(
            Problem.query(
                "sort",
                "value-not-valid",
                "invalid sort",
                "sort is ±<cgm|bgm>.<metric>, lastData or fullName",
            )
        )
    limit = DEFAULT_LIMIT
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        problems.append(
            Problem.query(
                "limit",
                "value-out-of-range",
                "invalid limit",
                f"limit is a whole number from 1 to {MAX_LIMIT}",
            )
        )
    offset = 0
    try:
        offset = int(params.get("offset", 0))
        if not 0 <= offset <= MAX_OFFSET:
            raise ValueError
    except ValueError:
        problems.append(
            Problem.query(
                "offset",
                "value-out-of-range",
                "invalid offset",
                f"offset is a whole number from 0 to {MAX_OFFSET}",
            )
        )
    if offset and params.get("cursor"):
        problems.append(
            Problem.query("offset", "value-not-valid", "invalid offset", "send offset or cursor")
        )
    search = (params.get("search") or "").strip().casefold() or None
    if search and len(search) > MAX_SEARCH:
        problems.append(
            Problem.query(
                "search",
                "value-not-valid",
                "invalid search",
                f"search is at most {MAX_SEARCH} characters",
            )
        )
    filters = []
    for name, raw in params.items():
        if name in _RESERVED:
            continue
        match = _FILTER.match(raw.strip())
        metric = METRICS.get(name)
        if metric is None or not metric.filterable or not match:
            problems.append(
                Problem.query(
                    name,
                    "value-not-valid",
                    "invalid filter",
                    "filters are <cgm|bgm>.<metric>=<op><number>, op one of > >= < <=",
                )
            )
            continue
        filters.append(Filter(name, match.group(1), Decimal(match.group(2))))
    if problems:
        raise InvalidData(problems)
    return PatientQuery(
        period,
        sort_metric,
        descending,
        tuple(filters),
        limit,
        params.get("cursor") or None,
        search,
        offset,
    )


def matches(value: float | None, flt: Filter) -> bool:
    return value is not None and OPERATORS[flt.op](value, float(flt.value))
