"""Defect 7: a sample dated more than a day ahead made the summary depend on upload order
(lastData 2026-11-29 when the data came in pieces, 2026-12-05 when it came at once). Such a
datum is now refused, 400 `value-out-of-range` at its `time` (Tidepool refuses device times
too far ahead), and everything accepted is summarised the same in pieces or at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.ingest_support import ALICE, WIZARD, Api, cbg, smbg
from tidewater.domain.accounts import Profile
from tidewater.domain.identity import Caller
from tidewater.domain.timeutil import format_utc, utcnow
from tidewater.services import summarizer
from tidewater.services.summaries import get_summary
from tidewater.store.repos import repositories

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
BOB = Caller("b0b0b0b0b0", "patient", ALICE.via)


@pytest.fixture
def api(aws: None, lambda_context: Any) -> Api:
    for caller in (ALICE, BOB):
        profile = Profile(caller.user_id, caller.user_id, "patient", format_utc(NOW))
        repositories().accounts.create(profile)
    return Api(lambda_context)


def at(**offset: float) -> str:
    """A time `offset` from the server's clock now (not at import: the suite takes minutes)."""
    return format_utc(utcnow().replace(second=0, microsecond=0) + timedelta(**offset))


def test_a_datum_more_than_a_day_ahead_is_refused_at_its_time(api: Api) -> None:
    dataset_id = api.new_dataset()
    datums = [cbg(at(minutes=-5)), cbg(at(days=2)), smbg(at(hours=23))]
    status, body = api.upload(dataset_id, datums)
    assert status == 400
    assert [(e["code"], e["source"]["pointer"]) for e in body["errors"]] == [
        ("value-out-of-range", "/1/time")
    ]
    assert api.read_all() == []  # all or nothing
    assert api.upload(dataset_id, [datums[0], datums[2]])[0] == 200  # 23 hours ahead is fine
    assert sorted(d["time"] for d in api.read_all()) == [datums[0]["time"], datums[2]["time"]]


def test_the_legacy_path_refuses_it_too(api: Api) -> None:
    status, body = api.legacy([cbg(at(days=1, minutes=2))])
    assert status == 400 and body["errors"][0]["source"]["pointer"] == "/0/time"


def test_a_wizards_embedded_bolus_is_held_to_the_same_limit(api: Api) -> None:
    # The bolus is stored on its own: a time of its own two days ahead is refused at its
    # pointer, and nothing of the upload is kept.
    bolus = {**WIZARD["bolus"], "time": at(days=2)}
    wizard = {**WIZARD, "time": at(minutes=-5), "bolus": bolus}
    status, body = api.upload(api.new_dataset(), [wizard])
    assert status == 400
    assert [e["source"]["pointer"] for e in body["errors"]] == ["/0/bolus/time"]
    assert api.read_all() == []


def _cgm(hours_back: float, count: int, mmol: float) -> list[dict[str, Any]]:
    return [
        {"type": "cbg", "units": "mmol/L", "value": mmol, "deviceId": "G7-1",
         "time": at(hours=-hours_back, minutes=15 * n)}
        for n in range(count)
    ]  # fmt: skip


def test_the_summary_is_the_same_in_pieces_or_at_once(api: Api) -> None:
    older = _cgm(48, 48, 6.0)  # 12 hours at 6.0, two days back
    ahead = _cgm(-20, 8, 12.0)  # 2 hours at 12.0, from 20 hours ahead (a clock a bit fast)
    middle = [*_cgm(24, 40, 9.0), smbg(at(hours=-3), 7.0)]
    pieces = [older, ahead, middle]
    for piece in pieces:  # Alice's device sends them one by one, summarised in between
        assert api.upload(api.new_dataset(ALICE), piece, ALICE)[0] == 200
        summarizer.run_iteration(repositories())
    everything = [datum for piece in pieces for datum in piece]
    assert api.upload(api.new_dataset(BOB), everything, BOB)[0] == 200
    summarizer.run_iteration(repositories())

    alice = get_summary(ALICE, ALICE.user_id, repositories())
    bob = get_summary(BOB, BOB.user_id, repositories())
    assert alice["cgm"] == bob["cgm"] and alice["bgm"] == bob["bgm"]
    assert alice["dates"]["lastData"] == bob["dates"]["lastData"] == ahead[-1]["time"]
    # 48 readings at 6.0, 40 at 9.0 and 8 at 12.0, 15 minutes apart, all within 30 days:
    # (48*6 + 40*9 + 8*12) / 96 = 7.75
    assert alice["cgm"]["periods"]["30d"]["averageGlucoseMmol"] == pytest.approx(7.75)
