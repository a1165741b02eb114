"""Anonymisation rules of the donation export (domain.donation), pure and deterministic."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tidewater.domain import donation


class ScriptedRng:
    """Answers getrandbits from a script: to force hash collisions."""

    def __init__(self, bits: list[int]) -> None:
        self.bits = list(bits)

    def getrandbits(self, k: int) -> int:
        return self.bits.pop(0)

    def randint(self, a: int, b: int) -> int:
        return a


def test_header_is_exactly_the_five_columns_in_order() -> None:
    assert donation.HEADER == "hash,datetime,glucose,trend,noise\n"
    assert donation.COLUMNS == ("hash", "datetime", "glucose", "trend", "noise")


@pytest.mark.parametrize(
    ("mgdl", "exported"),
    [(1, 39), (20, 39), (39, 39), (39.5, 40), (40, 40), (100, 100), (400, 400), (401, 401),
     (450, 401), (999, 401)],
)  # fmt: skip
def test_glucose_is_whole_mgdl_with_sentinels_collapsed(mgdl: float, exported: int) -> None:
    assert donation.glucose_mgdl(mgdl / 18.01559) == exported


def test_glucose_from_mmol_rounds_half_up() -> None:
    assert donation.glucose_mgdl(5.5) == 99  # 99.085745
    assert donation.glucose_mgdl(10.0) == 180  # 180.1559


def test_hashes_are_six_lowercase_hex_digits_unique_within_a_slice() -> None:
    rng = ScriptedRng([0xABCDEF, 0xABCDEF, 0x00002A])
    taken: set[int] = set()
    first = donation.draw_hash(rng, taken)
    second = donation.draw_hash(rng, taken)  # the collision is drawn again
    assert [donation.format_hash(first), donation.format_hash(second)] == ["abcdef", "00002a"]


def test_hash_draws_cover_the_whole_space() -> None:
    rng = random.Random(1)
    taken: set[int] = set()
    hashes = [donation.format_hash(donation.draw_hash(rng, taken)) for _ in range(2000)]
    assert len(set(hashes)) == 2000
    assert all(len(h) == 6 and h == h.lower() and int(h, 16) >= 0 for h in hashes)


def test_slice_ids_are_random_hex_and_never_repeat() -> None:
    rng = random.Random(3)
    ids = {donation.draw_slice_id(rng) for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 32 for i in ids)


def test_shift_is_whole_weeks_ten_to_twenty_years_back() -> None:
    rng = random.Random(5)
    moment = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
    for _ in range(500):
        weeks = donation.draw_shift_weeks(rng)
        shifted = moment - timedelta(weeks=weeks)
        assert shifted.weekday() == moment.weekday()
        assert shifted.time() == moment.time()
        assert 10 <= (moment - shifted).days / 365.25 <= 20
    assert (donation.SHIFT_WEEKS_MIN, donation.SHIFT_WEEKS_MAX) == (522, 1043)


def test_median_offset_is_an_observed_value_and_zero_without_any() -> None:
    assert donation.median_offset([-300, -300, -240, None]) == -300
    assert donation.median_offset([-300, -240]) == -300  # the lower middle, never -270
    assert donation.median_offset([None, None]) == 0
    assert donation.median_offset([]) == 0


def test_local_time_truncates_seconds_unless_kept() -> None:
    utc = int(datetime(2026, 1, 5, 10, 3, 38, tzinfo=UTC).timestamp())
    truncated = donation.local_seconds(utc, -300, keep_seconds=False)
    kept = donation.local_seconds(utc, -300, keep_seconds=True)
    assert donation.format_datetime(truncated) == "2026-01-05T05:03:00"
    assert donation.format_datetime(kept) == "2026-01-05T05:03:38"


@pytest.mark.parametrize(
    ("trend", "exported"),
    [("Flat", "Flat"), ("DoubleDown", "DoubleDown"), ("NOT COMPUTABLE", "NOT COMPUTABLE"),
     ("constant", "Flat"), ("rapidRise", "DoubleUp"), (None, "None"), (3, "None"),
     ("loop://Jane's iPhone", "None"), ("flat", "None")],
)  # fmt: skip
def test_trend_is_a_nightscout_direction_name_or_none(trend: object, exported: str) -> None:
    assert donation.TRENDS[donation.trend_index(trend)] == exported


@pytest.mark.parametrize(
    ("noise", "exported"),
    [(0, 0), (1, 1), (4, 4), (2.0, 2), (5, -1), (-1, -1), (1.5, -1), ("2", -1), (True, -1),
     (None, -1)],
)  # fmt: skip
def test_noise_is_zero_to_four_or_empty(noise: object, exported: int) -> None:
    assert donation.noise_value(noise) == exported


def test_a_row_carries_only_the_five_columns() -> None:
    seconds = int(datetime(2009, 6, 1, 7, 5, tzinfo=UTC).timestamp())
    trend = donation.trend_index("SingleUp")
    assert donation.format_row(0x0A1B2C, seconds, 128, trend, 3) == (
        "0a1b2c,2009-06-01T07:05:00,128,SingleUp,3\n"
    )
    assert donation.format_row(0xFFFFFF, seconds, 39, 0, donation.NO_NOISE) == (
        "ffffff,2009-06-01T07:05:00,39,None,\n"
    )


def test_reading_ignores_everything_but_time_value_offset_trend_and_noise() -> None:
    body = {"type": "cbg", "time": "2026-01-05T10:03:38.845Z", "value": 7.0, "units": "mmol/L",
            "timezoneOffset": -300, "deviceId": "DexG6-SN123", "trend": "Flat", "noise": 1,
            "id": "abc", "uploadId": "up", "annotations": [{"code": "x"}]}  # fmt: skip
    got = donation.reading(body)
    assert got == donation.Reading(
        int(datetime(2026, 1, 5, 10, 3, 38, tzinfo=UTC).timestamp()), -300, 126,
        donation.trend_index("Flat"), 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [{"time": "2026-01-05T10:03:38.845Z"}, {"value": 5.0}, {"value": "5", "time": "x"},
     {"value": 5.0, "time": "yesterday"}, {"value": True, "time": "2026-01-05T10:03:38.845Z"}],
)  # fmt: skip
def test_a_datum_without_a_usable_time_or_value_gives_no_reading(body: dict) -> None:
    assert donation.reading(body) is None


def test_utc_seconds_reads_canonical_and_other_rfc3339_times_alike() -> None:
    canonical = donation.utc_seconds("2026-01-05T10:03:38.845Z")
    assert canonical == donation.utc_seconds("2026-01-05T05:03:38-05:00")
    assert canonical == int(datetime(2026, 1, 5, 10, 3, 38, tzinfo=UTC).timestamp())


def test_windows_are_aligned_weeks_and_due_only_after_the_embargo() -> None:
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    due = donation.due_windows(now, 7, 30)
    assert all(w.start.weekday() == 0 and w.start.hour == 0 for w in due)  # Mondays, 00:00 UTC
    assert all(w.end <= now - timedelta(days=30) for w in due)
    newest = due[-1]
    assert newest.end > now - timedelta(days=37)  # nothing due is left out
    # The same window has the same number whenever it is computed.
    later = donation.due_windows(now + timedelta(days=3), 7, 30)
    assert {w.index for w in due} & {w.index for w in later}
    assert donation.window(newest.index, 7) == newest


def test_a_window_becomes_due_exactly_when_its_embargo_ends() -> None:
    w = donation.window(2900, 7)
    just_before = w.end + timedelta(days=30) - timedelta(seconds=1)
    assert w.index not in {x.index for x in donation.due_windows(just_before, 7, 30)}
    assert w.index in {x.index for x in donation.due_windows(w.end + timedelta(days=30), 7, 30)}


def test_only_the_last_four_weeks_of_due_windows_are_caught_up() -> None:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    assert len(donation.due_windows(now, 7, 30)) == 4
    assert len(donation.due_windows(now, 1, 30)) == 28


def test_window_bounds_are_inclusive_milliseconds() -> None:
    w = donation.window(0, 7)
    assert w.first_time == "1970-01-05T00:00:00.000Z"
    assert w.last_time == "1970-01-11T23:59:59.999Z"


def test_manifest_lists_slices_in_random_id_order_with_the_schema() -> None:
    document = donation.manifest([{"id": "f0"}, {"id": "0a"}, {"id": "7c"}])
    assert [s["id"] for s in document["slices"]] == ["0a", "7c", "f0"]
    assert document["schemaVersion"] == donation.SCHEMA_VERSION
    assert document["columns"] == list(donation.COLUMNS)


def test_consent_renders_only_the_times_it_has() -> None:
    assert donation.Consent(False).as_dict() == {"consent": False}
    assert donation.Consent(True, "2026-01-01T00:00:00.000Z").as_dict() == {
        "consent": True, "consentedTime": "2026-01-01T00:00:00.000Z"}  # fmt: skip


def test_a_withdrawal_covers_its_consent_and_earlier_ones_never_a_later_one() -> None:
    withdrawal = donation.Withdrawal("u1", "2026-11-21T00:00:00.000Z", generation=2)
    slices = [donation.SliceMembership(n, f"s{n}", "abcdef", generation=g) for n, g in
              ((1, 1), (2, 2), (3, 3))]  # fmt: skip
    assert [withdrawal.covers(m) for m in slices] == [True, True, False]
