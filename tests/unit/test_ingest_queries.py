"""Query parameters of `GET /v1/users/{userId}/data` and of Nightscout's entries."""

from __future__ import annotations

import pytest

from tidewater.domain.datums import TYPES
from tidewater.domain.errors import BadRequest
from tidewater.services.ingest import END_OF_TIME, parse_data_query
from tidewater.services.nightscout import DEFAULT_COUNT, parse_entries_query

DATE = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def test_data_query_defaults_to_everything() -> None:
    query = parse_data_query({})
    assert query.types == sorted(TYPES) and query.start == "" and query.end == END_OF_TIME
    assert query.limit == 1000 and query.cursor is None


def test_data_query_normalises_times_and_types() -> None:
    query = parse_data_query({"startDate": "2026-11-21T08:00:00+02:00", "type": "smbg, cbg,cbg",
                              "endDate": "2026-11-21T07:00:00Z", "limit": "50"})  # fmt: skip
    assert query.start == "2026-11-21T06:00:00.000Z" and query.end == "2026-11-21T07:00:00.000Z"
    assert query.types == ["cbg", "smbg"] and query.limit == 50


@pytest.mark.parametrize(
    "params",
    [{"startDate": "2026-11-21"}, {"type": "cgm"}, {"limit": "-1"}, {"limit": "5001"},
     {"startDate": "2026-11-22T00:00:00Z", "endDate": "2026-11-21T00:00:00Z"}],
)  # fmt: skip
def test_bad_data_queries(params) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_data_query(params)
    assert caught.value.status == 400 and "2026" not in caught.value.detail


def test_entries_query_defaults() -> None:
    query = parse_entries_query({})
    assert query.types == ("sgv", "mbg", "cal") and query.count == DEFAULT_COUNT
    assert parse_entries_query({}, "current").count == 1
    assert parse_entries_query({}, "sgv").types == ("sgv",)


def test_entries_query_date_bounds() -> None:
    query = parse_entries_query({"find[date][$gte]": str(DATE), "find[date][$lt]": str(DATE + 1000),
                                 "count": "10000"})  # fmt: skip
    assert query.start == "2023-11-14T22:13:20.000Z" and query.end == "2023-11-14T22:13:20.999Z"
    strict = parse_entries_query({"find[date][$gt]": str(DATE)})
    assert strict.start == "2023-11-14T22:13:20.001Z"
    text = parse_entries_query({"find[dateString][$lte]": "2023-11-14T23:13:20+01:00"})
    assert text.end == "2023-11-14T22:13:20.000Z"
    assert parse_entries_query({"find[type]": "mbg"}).types == ("mbg",)
    assert parse_entries_query({"find[type]": "mbg"}, "sgv").types == ()
    empty = parse_entries_query({"find[date][$gt]": str(DATE), "find[date][$lt]": str(DATE)})
    assert empty.types == ()


def test_other_parameters_are_ignored_but_other_finds_refused() -> None:
    assert parse_entries_query({"token": "abc", "_": "123"}).count == DEFAULT_COUNT
    for name in ("find[sgv][$gte]", "find[date][$ne]", "find[date]", "find[date][$gte][x]"):
        with pytest.raises(BadRequest):
            parse_entries_query({name: "1"})
