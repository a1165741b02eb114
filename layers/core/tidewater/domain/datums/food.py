"""`food`: something eaten, with its carbohydrate (and other nutrition) content."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import base, checks
from tidewater.domain.datums.checks import Datum, Problems

TYPE: Final = "food"
FIELDS: Final = ("name", "nutrition")
CARBOHYDRATE_FIELDS: Final = ("net", "total", "dietaryFiber", "sugars")
CARBOHYDRATE_MAX: Final = 1000.0  # grams
CARBOHYDRATE_UNITS: Final = ("grams",)
NAME_LENGTH_MAX: Final = 100


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    base.validate_base(datum, pointer, problems)
    name = checks.string(datum, "name", pointer, problems)
    if name is not None and len(name) > NAME_LENGTH_MAX:
        checks.problem(
            problems,
            checks.child(pointer, "name"),
            checks.VALUE_NOT_VALID,
            f"`name` must be at most {NAME_LENGTH_MAX} characters",
        )
    nutrition = checks.obj(datum, "nutrition", pointer, problems)
    if nutrition is None:
        return
    at = checks.child(pointer, "nutrition")
    carbohydrate = checks.obj(nutrition, "carbohydrate", at, problems)
    if carbohydrate is None:
        return
    at = checks.child(at, "carbohydrate")
    for key in CARBOHYDRATE_FIELDS:
        checks.number(carbohydrate, key, at, problems, 0, CARBOHYDRATE_MAX, unit="g")
    checks.string(carbohydrate, "units", at, problems, one_of=CARBOHYDRATE_UNITS)


def normalize(datum: Datum) -> Datum:
    return base.normalize_base(datum)
