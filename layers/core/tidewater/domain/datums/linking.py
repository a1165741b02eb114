"""Linked events: an outer datum that embeds the inner datum it caused.

`wizard.bolus` embeds the bolus the calculator recommended; `deviceEvent` alarm and
reservoirChange embed, in `status`, the pump suspension they caused. On ingestion the inner
datum is stored on its own, with its own id, and the outer keeps only that id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from tidewater.domain.datums import checks
from tidewater.domain.datums.checks import Datum, Problems

# (outer type, outer subType or None) -> (field, inner type, inner subType or None)
LINKS: Final[dict[tuple[str, str | None], tuple[str, str, str | None]]] = {
    ("wizard", None): ("bolus", "bolus", None),
    ("deviceEvent", "alarm"): ("status", "deviceEvent", "status"),
    ("deviceEvent", "reservoirChange"): ("status", "deviceEvent", "status"),
}
_OUTER_TYPES: Final = frozenset(outer for outer, _ in LINKS)


def link_of(datum: Datum) -> tuple[str, str, str | None] | None:
    """(field, inner type, inner subType) when this datum's type can embed another."""
    kind = datum.get("type")
    if kind not in _OUTER_TYPES:
        return None
    return LINKS.get((kind, None)) or LINKS.get((kind, datum.get("subType")))


def validate_embedded(
    datum: Datum,
    pointer: str,
    problems: Problems,
    validate: Callable[[Datum, str, Problems], None],
) -> None:
    """The link field holds either the inner datum (validated in full, at its own pointer)
    or the id of a datum stored before."""
    link = link_of(datum)
    if link is None:
        return
    field, inner_type, inner_sub_type = link
    inner = datum.get(field)
    at = checks.child(pointer, field)
    if inner is None:
        return
    if type(inner) is str:
        if not inner:
            checks.problem(problems, at, checks.VALUE_NOT_VALID, f"`{field}` must not be empty")
        return
    if type(inner) is not dict:
        checks.problem(problems, at, checks.TYPE_NOT_VALID, f"`{field}` must be an object or an id")
        return
    kind = checks.string(inner, "type", at, problems, required=True, one_of=(inner_type,))
    sub_type: str | None = None
    if inner_sub_type is not None:
        sub_type = checks.string(
            inner, "subType", at, problems, required=True, one_of=(inner_sub_type,)
        )
    if kind is not None and (inner_sub_type is None or sub_type is not None):
        validate(inner, at, problems)


def split(datum: Datum, assign: Callable[[Datum, bool], str]) -> None:
    """Give an embedded inner datum its id (via `assign(inner, embedded=True)`) and leave
    only that id on the outer. An id already there is kept as it is."""
    link = link_of(datum)
    if link is None:
        return
    field = link[0]
    inner = datum.get(field)
    if type(inner) is dict:
        datum[field] = assign(inner, True)
