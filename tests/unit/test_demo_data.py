"""The demo's patients look the same whatever hour the demo is started at."""

from datetime import UTC, datetime, timedelta

import pytest

from tidewater_local.demo import _PROFILES, _cgm

ALICE, BOB = "de00000001", "de00000002"


@pytest.mark.parametrize("hour", range(24))
def test_a_patient_without_lows_never_reads_very_low(hour: int) -> None:
    start = datetime(2026, 11, 1, hour, tzinfo=UTC) + timedelta(minutes=7 * hour)
    readings = _cgm(ALICE, start, 288 * 14, _PROFILES[ALICE])
    assert min(int(str(r["value"])) for r in readings) >= 54


def test_a_patient_with_lows_reads_very_low_for_about_their_share() -> None:
    readings = _cgm(BOB, datetime(2026, 11, 1, tzinfo=UTC), 288 * 14, _PROFILES[BOB])
    very_low = sum(1 for r in readings if int(str(r["value"])) < 54) / len(readings)
    assert 0.02 < very_low < 0.06
