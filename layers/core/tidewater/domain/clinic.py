"""Clinic patient lists: the metrics a list sorts and filters on, query parsing, the signed
cursor and TIDE triage. Pure: the store turns these into DynamoDB queries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tidewater.domain.errors import InvalidData, Problem

PERIODS = ("1d", "7d", "14d", "30d")
DEFAULT_PERIOD = "14d"
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
KINDS = ("cgm", "bgm")

_RANGES = ("VeryLow", "AnyLow", "Low", "Target", "High", "VeryHigh", "ExtremeHigh", "AnyHigh")


def _range_percent(name: str) -> Callable[[dict[str, Any]], Any]:
    key = f"in{name}"
    return lambda period: (period.get(key) or {}).get("percent")


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda period: period.get(name)


# Tidepool clinic-API metric name → how to read it from a period of the summary.
BASE_METRICS: dict[str, Callable[[dict[str, Any]], Any]] = {
    **{f"timeIn{r}Percent": _range_percent(r) for r in _RANGES},
    "timeCGMUsePercent": _field("timeCGMUsePercent"),
    "averageGlucoseMmol": _field("averageGlucoseMmol"),
    "glucoseManagementIndicator": _field("glucoseManagementIndicator"),
    "coefficientOfVariation": _field("coefficientOfVariation"),
    "standardDeviation": _field("standardDeviation"),
    "averageDailyRecords": _field("averageDailyRecords"),
    "hoursWithData": _field("hoursWithData"),
    "daysWithData": _field("daysWithData"),
}


def metric_value(period: dict[str, Any] | None, metric: str) -> float | None:
    """A metric of one period of one kind (`…Delta` reads the period's delta), or None."""
    if not period:
        return None
    source, name = period, metric
    if metric.endswith("Delta"):
        source, name = period.get("delta") or {}, metric[: -len("Delta")]
    reader = BASE_METRICS.get(name)
    value = reader(source) if reader else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def all_metric_names() -> list[str]:
    """Every `<kind>.<metric>` a list can filter on (sorting is the same set)."""
    return [f"{kind}.{m}{d}" for kind in KINDS for m in BASE_METRICS for d in ("", "Delta")]


# The metrics that have an index of their own (a table has at most 20 GSIs): a page sorted
# by one of them, or filtered by a range of it, is one Query. Others fall back to reading the
# clinic's partition for the period (see docs/data-model.md).
INDEXED_METRICS: tuple[str, ...] = (
    "cgm.timeInVeryLowPercent",
    "cgm.timeInAnyLowPercent",
    "cgm.timeInLowPercent",
    "cgm.timeInTargetPercent",
    "cgm.timeInHighPercent",
    "cgm.timeInVeryHighPercent",
    "cgm.timeInExtremeHighPercent",
    "cgm.timeInAnyHighPercent",
    "cgm.timeCGMUsePercent",
    "cgm.averageGlucoseMmol",
    "cgm.glucoseManagementIndicator",
    "cgm.coefficientOfVariation",
    "cgm.standardDeviation",
    "cgm.timeInTargetPercentDelta",
    "cgm.timeInVeryLowPercentDelta",
    "bgm.averageGlucoseMmol",
    "bgm.timeInVeryLowPercent",
    "bgm.timeInTargetPercent",
    "lastData",
    "fullName",
)


STRING_METRICS = frozenset({"lastData", "fullName"})
ALWAYS_PRESENT = frozenset({"fullName"})


def attribute_name(metric: str) -> str:
    """The row attribute (and index) of a metric: `cgm.timeInLowPercent` →
    `cgm_timeInLowPercent`; names sort by their case-folded form, `nameKey`."""
    return "nameKey" if metric == "fullName" else metric.replace(".", "_")


def index_name(metric: str) -> str:
    return f"by_{attribute_name(metric)}"


@dataclass(frozen=True)
class Filter:
    metric: str
    op: str
    value: Decimal


@dataclass(frozen=True)
class PatientQuery:
    period: str = DEFAULT_PERIOD
    sort: str = "fullName"
    descending: bool = False
    filters: tuple[Filter, ...] = ()
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def fingerprint(self) -> str:
        """What a cursor is bound to: the same list, the same order, the same filters."""
        parts = [self.period, self.sort, str(self.descending)]
        parts += [f"{f.metric}{f.op}{f.value}" for f in self.filters]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


_FILTER = re.compile(r"^(>=|<=|>|<)(-?\d+(?:\.\d+)?)$")
_RESERVED = {"period", "sort", "limit", "cursor"}


def parse_patient_query(params: dict[str, str]) -> PatientQuery:
    """Query-string parameters → a PatientQuery; every problem at once, pointing at the
    parameter (`source.pointer` `/period`, `/sort`, `/cgm.timeInLowPercent`…)."""
    problems: list[Problem] = []
    known = set(all_metric_names()) | {"lastData", "fullName"}
    period = params.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        problems.append(
            Problem(
                "/period", "value-not-valid", "invalid period", "period is one of 1d, 7d, 14d, 30d"
            )
        )
    sort = params.get("sort", "fullName")
    descending = sort.startswith("-")
    sort_metric = sort.lstrip("+-")
    if sort_metric not in known:
        problems.append(
            Problem(
                "/sort",
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
            Problem(
                "/limit",
                "value-out-of-range",
                "invalid limit",
                f"limit is a whole number from 1 to {MAX_LIMIT}",
            )
        )
    filters = []
    for name, raw in params.items():
        if name in _RESERVED:
            continue
        match = _FILTER.match(raw.strip())
        if name not in known or name in ("lastData", "fullName") or not match:
            problems.append(
                Problem(
                    f"/{name}",
                    "value-not-valid",
                    "invalid filter",
                    "filters are <cgm|bgm>.<metric>=<op><number>, op one of > >= < <=",
                )
            )
            continue
        try:
            filters.append(Filter(name, match.group(1), Decimal(match.group(2))))
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            problems.append(Problem(f"/{name}", "value-not-valid", "invalid filter", "a number"))
    if problems:
        raise InvalidData(problems)
    return PatientQuery(
        period, sort_metric, descending, tuple(filters), limit, params.get("cursor") or None
    )


def matches(value: float | None, flt: Filter) -> bool:
    if value is None:
        return False
    bound = float(flt.value)
    return {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}[
        flt.op
    ]


# --------------------------------------------------------------------- the signed cursor
class BadCursor(Exception):
    pass


def sign_cursor(state: dict[str, Any], key: bytes) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode())
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return (payload + b"." + base64.urlsafe_b64encode(mac)).decode().replace("=", "")


def open_cursor(cursor: str, key: bytes) -> dict[str, Any]:
    """The state a cursor carries; BadCursor if it was not made by us, for this list."""
    try:
        payload_text, mac_text = cursor.split(".", 1)
        payload = _unpad(payload_text)
        mac = base64.urlsafe_b64decode(_unpad(mac_text))
    except (ValueError, TypeError) as error:
        raise BadCursor from error
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        raise BadCursor
    try:
        state: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError as error:
        raise BadCursor from error
    return state


def _unpad(text: str) -> bytes:
    return (text + "=" * (-len(text) % 4)).encode()


# --------------------------------------------------------------------- TIDE
@dataclass(frozen=True)
class TideCategory:
    name: str
    metric: str
    test: Callable[[dict[str, float | None]], bool]


def _gt(metric: str, bound: float) -> Callable[[dict[str, float | None]], bool]:
    return lambda m: (m.get(metric) is not None) and m[metric] > bound  # type: ignore[operator]


def _lt(metric: str, bound: float) -> Callable[[dict[str, float | None]], bool]:
    return lambda m: (m.get(metric) is not None) and m[metric] < bound  # type: ignore[operator]


# Tidepool TIDE's categories, in order; a patient lands in the first that matches.
TIDE_CATEGORIES: tuple[TideCategory, ...] = (
    TideCategory("timeInVeryLowPercent", "timeInVeryLowPercent", _gt("timeInVeryLowPercent", 0.01)),
    TideCategory("timeInAnyLowPercent", "timeInAnyLowPercent", _gt("timeInAnyLowPercent", 0.04)),
    TideCategory(
        "timeInVeryHighPercent", "timeInVeryHighPercent", _gt("timeInVeryHighPercent", 0.05)
    ),
    TideCategory("timeInAnyHighPercent", "timeInAnyHighPercent", _gt("timeInAnyHighPercent", 0.25)),
    TideCategory(
        "dropInTimeInTargetPercent",
        "timeInTargetPercentDelta",
        _lt("timeInTargetPercentDelta", -0.15),
    ),
    TideCategory("timeCGMUsePercentLessThan70", "timeCGMUsePercent", _lt("timeCGMUsePercent", 0.7)),
    TideCategory(
        "meetingTargets",
        "timeInTargetPercent",
        lambda m: (
            (m.get("timeInTargetPercent") or 0) >= 0.7 and (m.get("timeCGMUsePercent") or 0) >= 0.7
        ),
    ),
)
# Worst first: low time in target and low use are worst when smallest; the rest when largest.
_ASCENDING = {"dropInTimeInTargetPercent", "timeCGMUsePercentLessThan70", "meetingTargets"}
TIDE_LIMIT = 100


@dataclass
class TideReport:
    categories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    no_data: list[dict[str, Any]] = field(default_factory=list)


def tide_report(patients: Iterable[tuple[dict[str, Any], dict[str, Any] | None]]) -> TideReport:
    """`patients`: (patient entry, its CGM period or None). Each patient goes into the first
    category it matches, or none (flagged by nothing and not meeting targets), or noData."""
    report = TideReport({c.name: [] for c in TIDE_CATEGORIES})
    for entry, period in patients:
        if not period or not (period.get("total") or {}).get("records"):
            report.no_data.append(entry)
            continue
        names = {c.metric for c in TIDE_CATEGORIES}
        values = {m: metric_value(period, m) for m in names}
        for category in TIDE_CATEGORIES:
            if category.test(values):
                report.categories[category.name].append(
                    {**entry, "metric": category.metric, "value": values[category.metric]}
                )
                break
    for name, rows in report.categories.items():
        rows.sort(key=lambda r: r["value"] or 0.0, reverse=name not in _ASCENDING)
        del rows[TIDE_LIMIT:]
    del report.no_data[TIDE_LIMIT:]
    return report
