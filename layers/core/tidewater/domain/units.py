"""Glucose units. Every stored glucose value is mmol/L."""

from __future__ import annotations

MGDL = "mg/dL"
MMOLL = "mmol/L"
# Clients send either spelling; the platform stores the canonical one.
UNIT_ALIASES = {"mg/dL": MGDL, "mg/dl": MGDL, "mmol/L": MMOLL, "mmol/l": MMOLL}
# Molar mass of glucose, 180.1559 g/mol. Divide (never multiply by 1/18.01559):
# only the division reproduces the reference values bit for bit (32 -> 1.7762393571345707).
MGDL_PER_MMOLL = 18.01559


def canonical_units(units: str) -> str | None:
    """The canonical spelling of a glucose unit, or None when it is not one."""
    return UNIT_ALIASES.get(units)


def to_mmol(value: float, units: str) -> float:
    """Normalise a glucose value to mmol/L, the unit every stored value uses."""
    return value / MGDL_PER_MMOLL if canonical_units(units) == MGDL else value
