"""`food`: something eaten, with its carbohydrate (and other nutrition) content."""

from __future__ import annotations

from typing import Final

from tidewater.domain.datums import common
from tidewater.domain.datums.common import Datum, Problems

TYPE: Final = "food"
CARBOHYDRATE_FIELDS: Final = ("net", "total", "dietaryFiber", "sugars")
CARBOHYDRATE_MAX: Final = 1000.0  # grams
CARBOHYDRATE_UNITS: Final = ("grams",)
NAME_LENGTH_MAX: Final = 100


def validate(datum: Datum, pointer: str, problems: Problems) -> None:
    common.validate_base(datum, pointer, problems)
    name = common.string(datum, "name", pointer, problems)
    if name is not None and len(name) > NAME_LENGTH_MAX:
        common.problem(
            problems,
            common.child(pointer, "name"),
            common.VALUE_NOT_VALID,
            f"`name` must be at most {NAME_LENGTH_MAX} characters",
        )
    nutrition = common.obj(datum, "nutrition", pointer, problems)
    if nutrition is None:
        return
    at = common.child(pointer, "nutrition")
    carbohydrate = common.obj(nutrition, "carbohydrate", at, problems)
    if carbohydrate is None:
        return
    at = common.child(at, "carbohydrate")
    for key in CARBOHYDRATE_FIELDS:
        common.number(carbohydrate, key, at, problems, 0, CARBOHYDRATE_MAX, unit="g")
    common.string(carbohydrate, "units", at, problems, one_of=CARBOHYDRATE_UNITS)


def normalize(datum: Datum) -> Datum:
    return common.normalize_base(datum)
