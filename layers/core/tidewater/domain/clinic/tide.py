"""TIDE triage: a clinic's patients in Tidepool-TIDE's ordered categories, worst first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tidewater.domain.clinic.metrics import metric_value
from tidewater.domain.clinic.query import OPERATORS

TIDE_LIMIT: Final = 100


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    bound: float

    def holds(self, values: Mapping[str, float | None]) -> bool:
        value = values.get(self.metric)
        return value is not None and OPERATORS[self.op](value, self.bound)


@dataclass(frozen=True)
class TideCategory:
    name: str
    metric: str  # the one shown with the patient, and their order in the category
    conditions: tuple[Condition, ...]  # all of them
    # Worst first: low time in target and low use are worst when smallest; the rest largest.
    smallest_first: bool = False

    def holds(self, values: Mapping[str, float | None]) -> bool:
        return all(c.holds(values) for c in self.conditions)


def _one(
    name: str, metric: str, op: str, bound: float, smallest_first: bool = False
) -> TideCategory:
    return TideCategory(name, metric, (Condition(metric, op, bound),), smallest_first)


# Tidepool TIDE's categories, in order; a patient lands in the first that matches.
TIDE_CATEGORIES: Final[tuple[TideCategory, ...]] = (
    _one("timeInVeryLowPercent", "timeInVeryLowPercent", ">", 0.01),
    _one("timeInAnyLowPercent", "timeInAnyLowPercent", ">", 0.04),
    _one("timeInVeryHighPercent", "timeInVeryHighPercent", ">", 0.05),
    _one("timeInAnyHighPercent", "timeInAnyHighPercent", ">", 0.25),
    _one("dropInTimeInTargetPercent", "timeInTargetPercentDelta", "<", -0.15, True),
    _one("timeCGMUsePercentLessThan70", "timeCGMUsePercent", "<", 0.7, True),
    TideCategory(
        "meetingTargets",
        "timeInTargetPercent",
        (Condition("timeInTargetPercent", ">=", 0.7), Condition("timeCGMUsePercent", ">=", 0.7)),
        smallest_first=True,
    ),
)
_TESTED: Final = frozenset(c.metric for cat in TIDE_CATEGORIES for c in cat.conditions)


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
        values = {m: metric_value(period, m) for m in _TESTED}
        for category in TIDE_CATEGORIES:
            if category.holds(values):
                report.categories[category.name].append(
                    {**entry, "metric": category.metric, "value": values[category.metric]}
                )
                break
    for category in TIDE_CATEGORIES:
        rows = report.categories[category.name]
        rows.sort(key=lambda r: r["value"] or 0.0, reverse=not category.smallest_first)
        del rows[TIDE_LIMIT:]
    del report.no_data[TIDE_LIMIT:]
    return report
