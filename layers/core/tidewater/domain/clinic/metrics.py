"""The metrics a clinic's patient list shows, sorts and filters on: defined once, here.

Each is read from one period of a patient's summary; the store makes an attribute (and, for
the indexed ones, a sparse index) of each from this list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

PERIODS: Final = ("1d", "7d", "14d", "30d")
DEFAULT_PERIOD: Final = "14d"
KINDS: Final = ("cgm", "bgm")
LAST_DATA: Final = "lastData"
FULL_NAME: Final = "fullName"

_RANGES = ("VeryLow", "AnyLow", "Low", "Target", "High", "VeryHigh", "ExtremeHigh", "AnyHigh")


@dataclass(frozen=True)
class PeriodMetric:
    """A Tidepool clinic-API metric (`timeInLowPercent`) and where a summary period holds it
    (`inLow.percent`)."""

    name: str
    path: tuple[str, ...]

    def read(self, period: Mapping[str, Any]) -> float | None:
        value: Any = period
        for key in self.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None


PERIOD_METRICS: Final[tuple[PeriodMetric, ...]] = (
    *(PeriodMetric(f"timeIn{r}Percent", (f"in{r}", "percent")) for r in _RANGES),
    *(
        PeriodMetric(name, (name,))
        for name in (
            "timeCGMUsePercent",
            "averageGlucoseMmol",
            "glucoseManagementIndicator",
            "coefficientOfVariation",
            "standardDeviation",
            "averageDailyRecords",
            "hoursWithData",
            "daysWithData",
        )
    ),
)
_BY_NAME: Final = {m.name: m for m in PERIOD_METRICS}


def metric_value(period: Mapping[str, Any] | None, metric: str) -> float | None:
    """A metric of one period of one kind (`…Delta` reads the period's delta), or None."""
    if not period:
        return None
    source: Any = period
    if metric.endswith("Delta"):
        source, metric = period.get("delta") or {}, metric[: -len("Delta")]
    reader = _BY_NAME.get(metric)
    return reader.read(source) if reader else None


# The metrics that have an index of their own (a table has at most 20 GSIs): a page sorted
# by one of them, or filtered by a range of it, is one Query. Others fall back to reading the
# clinic's partition for the period (see docs/data-model.md).
_INDEXED: Final = (
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
    LAST_DATA,
    FULL_NAME,
)


@dataclass(frozen=True)
class ListMetric:
    """A column of the list: `<kind>.<metric>[Delta]`, lastData or fullName."""

    name: str
    indexed: bool
    text: bool = False  # sorts as a string, not a number
    always_present: bool = False  # every row has it: an index of it lists every patient
    filterable: bool = True  # `<name>=<op><number>`

    @property
    def attribute(self) -> str:
        """The row attribute (and index key) of the metric: `cgm.timeInLowPercent` →
        `cgm_timeInLowPercent`; names sort by their case-folded form, `nameKey`."""
        return "nameKey" if self.name == FULL_NAME else self.name.replace(".", "_")

    @property
    def index(self) -> str:
        return f"by_{self.attribute}"


def _list_metrics() -> dict[str, ListMetric]:
    names = [f"{k}.{m.name}{d}" for k in KINDS for m in PERIOD_METRICS for d in ("", "Delta")]
    found = {name: ListMetric(name, name in _INDEXED) for name in names}
    found[LAST_DATA] = ListMetric(LAST_DATA, True, text=True, filterable=False)
    found[FULL_NAME] = ListMetric(FULL_NAME, True, text=True, always_present=True, filterable=False)
    return found


METRICS: Final[dict[str, ListMetric]] = _list_metrics()
INDEXED_METRICS: Final[tuple[ListMetric, ...]] = tuple(METRICS[name] for name in _INDEXED)


def summary_metric_names() -> list[str]:
    """Every `<kind>.<metric>` read from a summary's periods (lastData, fullName are not)."""
    return [name for name, metric in METRICS.items() if metric.filterable]


@dataclass(frozen=True)
class PatientRow:
    """A patient's row in one of a clinic's lists (one per period): the entry the list shows,
    and the values it sorts and filters on, by ListMetric name."""

    clinic_id: str
    period: str
    user_id: str
    entry: dict[str, Any]
    metrics: dict[str, Any]
