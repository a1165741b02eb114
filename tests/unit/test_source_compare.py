"""Comparing two CGM sources: pairing within ±2.5 minutes and the figures, worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidewater.domain import source_compare as sc
from tidewater.domain.source_compare import Reading
from tidewater.domain.timeutil import format_utc, from_epoch_ms

T0 = 1_795_132_800_000  # 2026-11-20T00:00:00Z
S = 1000
MIN = 60 * S


def cbg(device: str, at_ms: int, mgdl: float) -> dict:
    """A cbg datum as the platform stores a mg/dL reading."""
    return {"type": "cbg", "units": "mmol/L", "value": mgdl / 18.01559, "originalUnits": "mg/dL",
            "originalValue": mgdl, "deviceId": device,
            "time": format_utc(from_epoch_ms(at_ms))}  # fmt: skip


# Four pairs, the first source's reading first (f, s, in mg/dL), and how each was worked:
#   f    s    f-s  |d|/s          |d|/f          15/15, s the reference   15/15, f the reference
#   90   80   +10  10/80  = .125   10/90  = .1111  80 < 100: 10 <= 15 yes   90 < 100: 10 <= 15 yes
#   138  120  +18  18/120 = .15    18/138 = .1304  15% of 120 = 18: yes    15% of 138 = 20.7: yes
#   200  250  -50  50/250 = .2     50/200 = .25    15% of 250 = 37.5: no   15% of 200 = 30: no
#   99   115  -16  16/115 = .1391  16/99  = .1616  15% of 115 = 17.25: yes 99 < 100: 16 > 15 no
# MARD f->s = (.125 + .15 + .2 + .13913)/4 = .15353; s->f = (.11111 + .13043 + .25 + .16162)/4
# = .16329; bias = (10 + 18 - 50 - 16)/4 = -9.5 mg/dL; within 15/15: 3/4 and 2/4.
FIRST = [(0, 90), (5 * MIN, 138), (10 * MIN, 200), (15 * MIN, 99), (30 * MIN, 150)]
# Gaps to the first source's readings: +60 s, -150 s (the window's edge, included), +30 s,
# 0 s; the last reading is 10 minutes from any of the first's and stays unpaired.
SECOND = [(1 * MIN, 80), (5 * MIN - 150 * S, 120), (10 * MIN + 30 * S, 250), (15 * MIN, 115),
          (40 * MIN, 140)]  # fmt: skip


def readings(points: list[tuple[int, float]]) -> list[Reading]:
    return [Reading(T0 + at, mgdl) for at, mgdl in points]


def test_hand_worked_pairs() -> None:
    (figures,) = sc.compare({"dev-a": readings(FIRST), "dev-b": readings(SECOND)})
    assert (figures.first, figures.second, figures.pairs) == ("dev-a", "dev-b", 4)
    assert figures.mard_first_to_second == pytest.approx(
        (10 / 80 + 18 / 120 + 50 / 250 + 16 / 115) / 4
    )
    assert figures.mard_first_to_second == pytest.approx(0.153533, abs=1e-6)
    assert figures.mard_second_to_first == pytest.approx(
        (10 / 90 + 18 / 138 + 50 / 200 + 16 / 99) / 4
    )
    assert figures.mard_second_to_first == pytest.approx(0.163290, abs=1e-6)
    assert figures.bias == -9.5
    assert figures.within15_first_to_second == 0.75
    assert figures.within15_second_to_first == 0.5
    # The paired readings span 00:00:00 (the first's) to 00:15:00 (both).
    assert figures.overlap_start == "2026-11-20T00:00:00.000Z"
    assert figures.overlap_end == "2026-11-20T00:15:00.000Z"


def test_the_report_from_stored_datums() -> None:
    datums = [cbg("dev-b", T0 + at, v) for at, v in SECOND] + [
        cbg("dev-a", T0 + at, v) for at, v in FIRST
    ]
    report = sc.report(datums, "s", "e", 14)
    assert [(s["deviceId"], s["readings"]) for s in report["sources"]] == [
        ("dev-a", 5),
        ("dev-b", 5),
    ]
    assert report["sources"][0]["points"][1] == ["2026-11-20T00:05:00.000Z", 138]
    assert report["sources"][1]["points"][1] == ["2026-11-20T00:02:30.000Z", 120]
    (pair,) = report["pairs"]
    assert pair["pairs"] == 4 and pair["bias"] == -9.5  # the originals: exact in mg/dL
    assert pair["within15FirstToSecond"] == 0.75 and pair["within15SecondToFirst"] == 0.5
    assert report["units"] == "mg/dL" and report["windowSeconds"] == 150


def test_no_overlap_is_no_pair() -> None:
    # Each of the second's readings 151 s from the nearest of the first's: just outside.
    first = readings([(0, 100), (10 * MIN, 100)])
    second = readings([(151 * S, 100), (10 * MIN - 151 * S, 100), (10 * MIN + 151 * S, 100)])
    assert sc.pair_readings(first, second) == []
    assert sc.compare({"a": first, "b": second}) == []


def test_one_source_only_is_an_empty_list() -> None:
    assert sc.compare({"a": readings(FIRST)}) == []
    assert sc.compare({}) == []
    assert sc.report([cbg("a", T0, 100)], "s", "e", 1)["pairs"] == []


def test_a_tie_takes_the_earlier_reading() -> None:
    # One reading of the first, two of the second 60 s either side: equal gaps, the earlier
    # second reading is taken and the later one stays free.
    first = readings([(10 * MIN, 100)])
    second = readings([(9 * MIN, 90), (11 * MIN, 110)])
    assert sc.pair_readings(first, second) == [(first[0], second[0])]
    # And the other way round: two of the first tie for one of the second; the earlier wins.
    assert sc.pair_readings(second, first) == [(second[0], first[0])]


def test_a_reading_that_could_pair_with_two_pairs_with_the_nearer() -> None:
    # b at 120 s is 120 s from a1 (0 s) and 80 s from a2 (200 s): nearest first gives (a2, b),
    # a1 has nothing left. In time order a1 would have taken it.
    a1, a2 = readings([(0, 100), (200 * S, 104)])
    (b,) = readings([(120 * S, 102)])
    assert sc.pair_readings([a1, a2], [b]) == [(a2, b)]


def test_one_to_one_leaves_a_reading_free_for_its_own_neighbour() -> None:
    # Gaps: a2-b2 60 s (taken), a2-b1 110 s (a2 is taken), a1-b1 130 s (taken): both pair,
    # in the first source's time order.
    a1, a2 = readings([(0, 100), (240 * S, 100)])
    b1, b2 = readings([(130 * S, 100), (300 * S, 100)])
    assert sc.pair_readings([a1, a2], [b1, b2]) == [(a1, b1), (a2, b2)]


def test_every_two_sources_in_device_order_and_only_with_overlap() -> None:
    at = readings([(0, 100), (5 * MIN, 120)])
    later = readings([(2 * 60 * MIN, 100)])  # two hours on: overlaps neither
    found = sc.compare({"c": at, "a": at, "b": later})
    assert [(f.first, f.second, f.pairs) for f in found] == [("a", "c", 2)]
    assert found[0].bias == 0 and found[0].mard_first_to_second == 0
    assert found[0].within15_first_to_second == 1


def test_a_readings_mg_dl() -> None:
    device, reading = sc.reading_of(cbg("d", T0, 123)) or ("", None)
    assert device == "d" and reading == Reading(T0, 123.0)
    # Reported in mmol/L: 5.5 mmol/L x 18.01559 = 99.085745 mg/dL.
    mmol = {"type": "cbg", "units": "mmol/L", "value": 5.5, "originalUnits": "mmol/L",
            "originalValue": 5.5, "deviceId": "d",
            "time": format_utc(from_epoch_ms(T0))}  # fmt: skip
    assert sc.reading_of(mmol) == ("d", Reading(T0, pytest.approx(99.085745)))
    assert sc.reading_of({**mmol, "deviceId": ""}) is None
    assert sc.reading_of({k: v for k, v in mmol.items() if k != "deviceId"}) is None
    assert sc.reading_of({**mmol, "time": "yesterday"}) is None
    assert sc.reading_of({**mmol, "value": 0, "originalValue": 0}) is None


@given(
    st.lists(st.integers(0, 3_600), max_size=30),
    st.lists(st.integers(0, 3_600), max_size=30),
)
def test_pairs_are_one_to_one_within_the_window_and_none_is_left_out(
    first_s: list[int], second_s: list[int]
) -> None:
    first = readings([(t * S, 100) for t in sorted(first_s)])
    second = readings([(t * S, 100) for t in sorted(second_s)])
    pairs = sc.pair_readings(first, second)
    used_a = [id(a) for a, _ in pairs]
    used_b = [id(b) for _, b in pairs]
    assert len(set(used_a)) == len(pairs) and len(set(used_b)) == len(pairs)
    assert all(abs(a.at_ms - b.at_ms) <= sc.WINDOW_MS for a, b in pairs)
    # Maximal: no unpaired reading of one source has an unpaired one of the other in reach.
    free_a = [a for a in first if id(a) not in set(used_a)]
    free_b = [b for b in second if id(b) not in set(used_b)]
    assert not any(abs(a.at_ms - b.at_ms) <= sc.WINDOW_MS for a in free_a for b in free_b)
    assert [a.at_ms for a, _ in pairs] == sorted(a.at_ms for a, _ in pairs)
