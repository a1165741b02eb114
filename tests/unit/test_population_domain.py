"""The population view's pure part: units, minutes, k, and the daily colour hashes."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

import pytest

from tidewater.domain import population
from tidewater.domain.population import Point

KEY = bytes(range(32))


def test_glucose_is_whole_mg_dl_rounded_half_up() -> None:
    # Stored values are mg/dL / 18.01559: the device's integer comes back exactly.
    for mgdl in (39, 40, 70, 100, 158, 180, 181, 400):
        assert population.to_mgdl(mgdl / 18.01559) == mgdl
    assert population.to_mgdl(5.5) == 99  # 99.085745
    assert population.to_mgdl(10.0) == 180  # 180.1559
    assert population.to_mgdl(100.51 / 18.01559) == 101
    assert population.to_mgdl(100.49 / 18.01559) == 100


def test_times_are_cut_to_the_minute_in_canonical_utc() -> None:
    assert population.to_minute("2026-12-03T08:46:59.999Z") == "2026-12-03T08:46:00.000Z"
    assert population.to_minute("2026-12-03T09:46:05+01:00") == "2026-12-03T08:46:00.000Z"


def test_points_are_one_a_minute_in_time_order() -> None:
    readings = [
        ("2026-12-03T08:50:10.000Z", 100 / 18.01559),
        ("2026-12-03T08:45:30.000Z", 120 / 18.01559),
        ("2026-12-03T08:50:40.000Z", 110 / 18.01559),  # a second device, same minute
    ]
    assert population.points(readings) == [
        Point("2026-12-03T08:45:00.000Z", 120),
        Point("2026-12-03T08:50:00.000Z", 105),
    ]


def _people(n: int) -> dict[str, list[Point]]:
    return {f"user{i}": [Point("2026-12-03T08:45:00.000Z", 100 + i)] for i in range(n)}


def test_fewer_than_k_people_with_data_show_nothing() -> None:
    people = {**_people(4), "silent": []}
    hashes = population.assign_hashes(KEY, people)
    assert population.view(people, hashes, 5) == []
    five = _people(5)
    shown = population.view(five, population.assign_hashes(KEY, five), 5)
    assert len(shown) == 5


def test_the_view_holds_hash_time_and_glucose_in_hash_order() -> None:
    people = _people(6)
    hashes = population.assign_hashes(KEY, people)
    shown = population.view(people, hashes, 5)
    assert [s["hash"] for s in shown] == sorted(hashes.values())
    for series in shown:
        assert set(series) == {"hash", "points"}
        assert all(set(p) == {"time", "glucose"} for p in series["points"])
    by_hash = {h: u for u, h in hashes.items()}
    assert all(people[by_hash[s["hash"]]][0].glucose == s["points"][0]["glucose"] for s in shown)


def test_hashes_are_six_hex_digits_of_the_keyed_hmac() -> None:
    hashes = population.assign_hashes(KEY, ["a", "b"])
    # An independent computation of the definition: HMAC-SHA256(key, userId), first 6 hex.
    expected = hmac.new(KEY, b"a", hashlib.sha256).hexdigest()[:6]
    assert hashes["a"] == expected
    assert all(len(h) == 6 and int(h, 16) >= 0 for h in hashes.values())


def test_hashes_do_not_depend_on_the_order_people_come_in() -> None:
    ids = [f"{random.getrandbits(64):016x}" for _ in range(50)]
    first = population.assign_hashes(KEY, ids)
    assert population.assign_hashes(KEY, list(reversed(ids))) == first


def _key_on(day: str, store: dict[str, bytes]) -> bytes:
    return store.setdefault(day, population.new_day_key())


def test_a_hash_holds_within_a_day_and_changes_across_days() -> None:
    store: dict[str, bytes] = {}
    ids = ["0a1b2c3d4e", "5f6e7d8c9b", "c1c1c1c1c1"]
    morning = datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC)
    evening = datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC)
    tomorrow = evening + timedelta(seconds=2)
    assert population.day_of(morning) == population.day_of(evening) == "2026-12-03"
    assert population.day_of(tomorrow) == "2026-12-04"
    today = population.assign_hashes(_key_on(population.day_of(morning), store), ids)
    later = population.assign_hashes(_key_on(population.day_of(evening), store), ids)
    next_day = population.assign_hashes(_key_on(population.day_of(tomorrow), store), ids)
    assert today == later
    assert all(today[u] != next_day[u] for u in ids)


def test_a_day_key_is_random_and_outlives_its_day() -> None:
    assert population.new_day_key() != population.new_day_key()
    assert len(population.new_day_key()) == population.DAY_KEY_BYTES
    end_of_day = datetime(2026, 12, 4, tzinfo=UTC).timestamp()
    assert population.day_key_expiry("2026-12-03") == end_of_day + 2 * 86_400


def _colliding_pair() -> tuple[str, str]:
    """Two ids whose HMACs under KEY share their first six hex digits (a birthday search)."""
    seen: dict[str, str] = {}
    for n in range(200_000):
        user_id = f"u{n}"
        cut = hmac.new(KEY, user_id.encode(), hashlib.sha256).hexdigest()[:6]
        if cut in seen:
            return seen[cut], user_id
        seen[cut] = user_id
    raise AssertionError("no collision found")


def test_colliding_hashes_are_told_apart_the_same_way_every_time() -> None:
    a, b = _colliding_pair()
    hashes = population.assign_hashes(KEY, [a, b, "other"])
    assert len(set(hashes.values())) == 3
    # One of the two keeps the shared cut; the other takes its next candidate.
    cut = hmac.new(KEY, a.encode(), hashlib.sha256).hexdigest()[:6]
    assert cut in (hashes[a], hashes[b])
    assert population.assign_hashes(KEY, ["other", b, a]) == hashes


def test_many_people_in_few_hashes_all_differ() -> None:
    ids = [f"p{n}" for n in range(200)]
    hashes = population.assign_hashes(KEY, ids, digits=2)  # 256 hashes for 200 people
    assert len(set(hashes.values())) == 200
    with pytest.raises(ValueError):
        population.assign_hashes(KEY, [f"p{n}" for n in range(257)], digits=2)


def test_a_view_reads_at_most_the_cap_chosen_by_hash() -> None:
    hashes = population.assign_hashes(KEY, [f"p{n}" for n in range(150)])
    chosen = population.chosen(hashes, cap=100)
    assert len(chosen) == 100
    assert [hashes[u] for u in chosen] == sorted(hashes.values())[:100]


def test_the_window_ends_now() -> None:
    now = datetime(2026, 12, 3, 8, 46, 30, tzinfo=UTC)
    assert population.window(now, 3) == ("2026-12-03T05:46:30.000Z", "2026-12-03T08:46:30.000Z")


def test_a_choice_shows_since_when_only_when_sharing() -> None:
    assert population.choice(None) == {"share": False}
    assert population.choice("2026-12-03T08:00:00.000Z") == {
        "share": True,
        "sharedTime": "2026-12-03T08:00:00.000Z",
    }
