"""Summary engine CPU time on one user's 60 days: 5-minute CGM with gaps and jitter, 4 BGM a day.

Run: `python bench/summary_bench.py`. Prints `summary.<name>: <value> <unit>` lines. Times are
process CPU time, the median of RUNS runs; the cases of one figure run interleaved (one run
of each in turn), so that they share the machine's load, and every figure is printed beside
its anchor as a ratio (anchor ÷ ours: above 1 means ours is faster).

Anchors: a plain numpy version of the same 8 windows (4 current, 4 previous) per type, kept
here; iglu-python (GPL, test-only) on its fastest honest path: a bare Series of the window's
values, cut by `searchsorted` and `iloc` (no boolean masks), computing the same metrics
(mean, time in ranges, SD, GMI, CV). All three agree: the largest relative difference of
means, SDs and range percentages is printed.

Datums are handed to every case that reads datums (ours from datums, numpy, iglu, per_datum)
as the store hands them: each one `json.loads` of its own stored body (`store.datums.between`),
so no two share a string object (equal strings built once and shared would flatter identity
comparisons and hashing that a real read never sees). Ours as the summariser reads (a first
summary, the incremental loader) starts from the bytes of the Query answers of the packed
samples (`store.datums.samples_between`), their reading counted. From datums, every run of
every case starts with the caches emptied (`evict`): the datums do not fit in them, and a
case run right after another that read them would read them warm.
"""

from __future__ import annotations

import base64
import bisect
import functools
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tidewater.domain.summary import (
    BGM,
    CGM,
    HOUR_MS,
    Buckets,
    Sample,
    buckets_from_packed,
    build_buckets,
    compute_periods,
    packed_sample,
    sample_from_datum,
    samples_from_packed,
    summarize,
    summarize_buckets,
    update_buckets,
    vector,
)
from tidewater.domain.summary.fold import accumulate, window_start
from tidewater.domain.summary.periods import MIN_CGM_USE, PERIOD_DAYS
from tidewater.domain.timeutil import format_utc, from_epoch_ms

END = 1_704_067_200_000 + 90 * 24 * HOUR_MS  # the newest reading is in the hour before
DAY_MS = 24 * HOUR_MS
DAYS = 60
FACTOR = 18.01559
RUNS = 7
WINDOWS = [(days, back) for days in PERIOD_DAYS for back in (0, 1)]


def readings(days: int = DAYS) -> tuple[list[Sample], list[Sample]]:
    """5-minute CGM, jittered by up to ±4 s (no reading masked), with a few hours missing."""
    rng = random.Random(42)
    start = END - days * DAY_MS
    cgm, level = [], 140.0
    missing = {rng.randrange(days * 24) for _ in range(days)}
    for i in range(days * 288):
        level = min(400.0, max(40.0, level + rng.gauss(0, 8)))
        if i // 12 in missing and i < days * 288 - 12:
            continue
        v = round(level)
        t = start + i * 300_000 + rng.randint(-4000, 4000)
        cgm.append(Sample(t, v / FACTOR, "mg/dL", v, 5, "DexG6-1", CGM))
    bgm = []
    for day in range(days):
        for hour in (7, 12, 18, 22):
            v = rng.randint(50, 350)
            t = start + (day * 24 + hour) * HOUR_MS + rng.randint(0, 3_000_000)
            bgm.append(Sample(t, v / FACTOR, "mg/dL", v, 0, "meter", BGM))
    return cgm, bgm


def stored(s: Sample, i: int) -> dict[str, Any]:
    """A datum as the store keeps it: mmol/L in `value`, the reading as sent beside it."""
    return {
        "id": f"{i:032x}",
        "uploadId": "0" * 32,
        "type": "cbg" if s.kind == CGM else "smbg",
        "units": "mmol/L",
        "value": s.mmol,
        "originalUnits": s.units,
        "originalValue": s.value,
        "time": format_utc(from_epoch_ms(s.time_ms)),
        "deviceId": s.device_id,
        "createdTime": "2024-04-01T00:00:00.000Z",
    }


def sample_items(samples: list[Sample]) -> list[str]:
    """The samples' datum items as a Query that reads the packed sample answers them
    (`sample` alone, base64 on the wire), one JSON text each, in the store's order."""
    items = []
    for i, s in sorted(enumerate(samples), key=lambda pair: pair[1].time_ms):
        sample = base64.b64encode(packed_sample(stored(s, i)) or b"").decode()
        items.append(json.dumps({"sample": {"B": sample}}, separators=(",", ":")))
    return items


def answers(items: list[str]) -> list[bytes]:
    """Query answers of those items, 1,000 a page (`QUERY_PAGE_MAX`), as the wire sends them."""
    from tidewater.store.datums import QUERY_PAGE_MAX

    pages = [items[i : i + QUERY_PAGE_MAX] for i in range(0, len(items), QUERY_PAGE_MAX)]
    # Every page but the last says where the next starts.
    last = json.dumps({"userId": {"S": "0" * 32}, "sk": {"S": "cbg#" + "0" * 41}})
    more = f',"LastEvaluatedKey":{last}'
    return [
        f'{{"Count":{len(p)},"Items":[{",".join(p)}],"ScannedCount":{len(p)}'
        f"{more if n < len(pages) - 1 else ''}}}".encode()
        for n, p in enumerate(pages)
    ]


def from_answers(pages: list[bytes], kind: str) -> Buckets:
    """The summariser's first summary of one type, from the wire's bytes: the Query answers
    read as the store reads them (`samples_between`: `sample_page`, the values decoded at
    once), then the buckets (`buckets_from_packed`)."""
    from tidewater.store.datums import _decoded, sample_page

    found: list[bytes] = []
    for answer in pages:
        page = sample_page(answer)
        assert page is not None
        found.append(page.text)
    packed = _decoded(found)
    assert packed is not None
    built = buckets_from_packed(packed, kind)
    assert built is not None
    return built


def as_read(samples: list[Sample]) -> list[dict[str, Any]]:
    """The samples' stored datums as a read of the store returns them: each body decoded on
    its own (distinct objects, as in production)."""
    bodies = [json.dumps(stored(s, i), separators=(",", ":")) for i, s in enumerate(samples)]
    return [json.loads(body) for body in bodies]


def cpu_ms(
    cases: Mapping[str, Callable[[], object] | tuple[Callable[[], Any], Callable[[Any], object]]],
    runs: int = RUNS,
    flush: bool = False,
) -> dict[str, float]:
    """Median CPU ms of each case, the cases interleaved run by run; with `flush`, each run
    starts with the caches emptied (of data larger than them: see `evict`). A case given as
    (prepare, run) is handed what `prepare` made afresh for that run, untimed."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            prepare, run = case if isinstance(case, tuple) else (None, case)
            made = () if prepare is None else (prepare(),)
            if flush:
                evict()
            begin = time.process_time()
            run(*made)
            times[name].append(time.process_time() - begin)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


_EVICTION = np.ones(64 << 20, np.uint8)


def evict() -> None:
    """Read 64 MB, more than the caches hold. A 60-day history's datums are some 30 MB of
    objects: interleaved without this, a case run right after another that read them finds
    them in the cache (numpy after ours ran some 40 % faster than after iglu)."""
    _EVICTION.sum()


def show(name: str, ms: float, anchors: dict[str, float]) -> None:
    ratios = ", ".join(f"{a} {v:.2f} ms = {v / ms:.2f}x" for a, v in anchors.items())
    print(f"summary.{name}: {ms:.3f} ms ({ratios})")


# --- anchors ---------------------------------------------------------------------------------


def numpy_reference(datums: list[dict[str, Any]]) -> dict[str, list[dict[str, float]]]:
    """Plain numpy: the 8 windows of each type from the stored datums, every reading counted
    (5 minutes each for CGM), as one would write it without the engine's generality."""
    out = {}
    for datum_type, kind in (("cbg", CGM), ("smbg", BGM)):
        rows = [d for d in datums if d["type"] == datum_type]
        times = np.array([d["time"][:-1] for d in rows], dtype="datetime64[ms]").astype(np.int64)
        order = np.argsort(times, kind="stable")
        times = times[order]
        mmol = np.array([d["value"] for d in rows])[order]
        mgdl = np.array([d["originalValue"] for d in rows])[order]
        out[kind] = numpy_windows(times, mmol, mgdl, kind == CGM)
    return out


def numpy_windows(
    times: np.ndarray, mmol: np.ndarray, mgdl: np.ndarray, cgm: bool
) -> list[dict[str, float]]:
    end = int(times[-1]) - int(times[-1]) % HOUR_MS + HOUR_MS
    found = []
    for days, back in WINDOWS:
        stop = end - back * days * DAY_MS
        i, j = np.searchsorted(times, [stop - days * DAY_MS, stop])
        x, v = mmol[i:j], mgdl[i:j]
        n = j - i
        mean = x.mean()
        sd = x.std()
        window = {
            "mean": mean,
            "sd": sd,
            "cv": sd / mean,
            "inVeryLow": np.count_nonzero(v < 54) / n,
            "inTarget": np.count_nonzero((v >= 70) & (v <= 180)) / n,
            "inAnyHigh": np.count_nonzero(v > 180) / n,
            "inExtremeHigh": np.count_nonzero(v >= 350) / n,
        }
        if cgm and 5 * n / (days * 1440) > MIN_CGM_USE:
            window["gmi"] = round(0.09148 * (12.71 + 4.70587 * mean) + 2.152, 1)
        found.append(window)
    return found


def iglu_from_datums(iglu: Any, pd: Any, datums: list[dict[str, Any]]) -> None:
    """iglu's fastest honest path from the same dicts: times parsed by pandas, each window a
    Series cut with searchsorted/iloc."""
    for datum_type in ("cbg", "smbg"):
        rows = [d for d in datums if d["type"] == datum_type]
        times = pd.to_datetime([d["time"] for d in rows], format="ISO8601")
        series = pd.Series([d["originalValue"] for d in rows], dtype=float)
        iglu_windows(iglu, pd, times, series)


def iglu_windows(iglu: Any, pd: Any, times: Any, series: Any) -> list[dict[str, float]]:
    newest = times[-1].floor("h") + pd.Timedelta(hours=1)
    found = []
    for days, back in WINDOWS:
        stop = newest - pd.Timedelta(days=back * days)
        i, j = times.searchsorted([stop - pd.Timedelta(days=days), stop])
        gl = series.iloc[i:j]
        n = j - i
        below = iglu.below_percent(gl, targets_below=[54, 70])
        in_range = iglu.in_range_percent(gl, target_ranges=[[70, 180]])
        above = iglu.above_percent(gl, targets_above=[180, 250, 349])
        mean = float(iglu.mean_glu(gl)) / FACTOR
        # iglu's SD is the sample SD: x sqrt((n - 1) / n) is the population SD
        sd = float(iglu.sd_glu(gl)) / FACTOR * ((n - 1) / n) ** 0.5
        iglu.gmi(gl)
        iglu.cv_glu(gl)
        found.append(
            {
                "mean": mean,
                "sd": sd,
                "inVeryLow": float(below["below_54"]) / 100,
                "inTarget": float(in_range["in_range_70_180"]) / 100,
                "inAnyHigh": float(above["above_180"]) / 100,
                "inExtremeHigh": float(above["above_349"]) / 100,
            }
        )
    return found


def ours_windows(buckets: Buckets) -> list[dict[str, float]]:
    periods = compute_periods(buckets)
    found = []
    for days, back in WINDOWS:
        if back:  # a previous period: its own numbers are current minus delta
            p, d = periods[f"{days}d"], periods[f"{days}d"]["delta"]
            mean = p["averageGlucoseMmol"] - d["averageGlucoseMmol"]
            sd = p["standardDeviation"] - d["standardDeviation"]
            ranges = {k: p[k]["percent"] - d[k]["percent"] for k in RANGE_KEYS}
        else:
            p = periods[f"{days}d"]
            mean, sd = p["averageGlucoseMmol"], p["standardDeviation"]
            ranges = {k: p[k]["percent"] for k in RANGE_KEYS}
        found.append({"mean": mean, "sd": sd, **ranges})
    return found


RANGE_KEYS = ("inVeryLow", "inTarget", "inAnyHigh", "inExtremeHigh")


def largest_difference(*sets: list[dict[str, float]]) -> float:
    worst = 0.0
    for windows in zip(*sets, strict=True):
        for key in ("mean", "sd", *RANGE_KEYS):
            values = [w[key] for w in windows]
            scale = max(abs(v) for v in values) or 1.0
            worst = max(worst, (max(values) - min(values)) / scale)
    return worst


# --- figures ---------------------------------------------------------------------------------


def from_datums(cgm: list[Sample], bgm: list[Sample]) -> float:
    """A first summary of the 60 days. Ours as the summariser makes it: from the Query
    answers of the packed samples as they come off the wire (bytes: their reading counted),
    to the buckets and the summary. Ours from the datums (`summarize`) and the anchors are
    handed the datums decoded (their decoding not counted: `decode_stored_bodies_60d`)."""
    datums = as_read(cgm + bgm)
    wire = [(answers(sample_items(group)), kind) for group, kind in ((cgm, CGM), (bgm, BGM))]

    def from_samples() -> dict[str, Any]:
        return {kind: summarize_buckets(from_answers(pages, kind)) for pages, kind in wire}

    assert from_samples() == summarize(datums)
    # The inputs of every case (the datums above all, 17,000 dicts) are not the collector's
    # to walk again and again, as no summariser holds them all: they are frozen out of it.
    gc.collect()
    gc.freeze()
    cases: dict[str, Callable[[], object]] = {
        "ours": lambda: summarize(datums),
        "ours_from_samples": from_samples,
        "numpy": lambda: numpy_reference(datums),
        # The per-datum path (every datum parsed alone, the sample-by-sample fold): what the
        # engine costs without numpy's columns; numpy's import is repaid against it.
        "per_datum": lambda: per_datum_summary(datums),
    }
    iglu, pd = optional_iglu()
    if iglu is not None:
        cases["iglu_series"] = lambda: iglu_from_datums(iglu, pd, datums)
    ms = cpu_ms(cases, flush=True)
    ours = ms.pop("ours")
    show("from_stored_samples_60d", ms.pop("ours_from_samples"), ms)
    show("from_stored_datums_60d", ours, ms)
    gc.unfreeze()
    return ms["per_datum"] - ours


def decoding(cgm: list[Sample], bgm: list[Sample]) -> None:
    """The stored bodies of the 60 days decoded as the datums store decodes a Query page
    (`store.datums._bodies`: the page's bodies in one `json.loads`), against a call per
    body, 1,000 a page as the store reads them."""
    from tidewater.store.datums import QUERY_PAGE_MAX, _bodies

    items = [
        {"body": {"S": json.dumps(stored(s, i), separators=(",", ":"))}}
        for i, s in enumerate(cgm + bgm)
    ]
    pages = [items[i : i + QUERY_PAGE_MAX] for i in range(0, len(items), QUERY_PAGE_MAX)]
    assert [d for p in pages for d in _bodies(p)] == [json.loads(i["body"]["S"]) for i in items]
    ms = cpu_ms({
        "ours": lambda: [_bodies(p) for p in pages],
        "one_call_per_body": lambda: [[json.loads(i["body"]["S"]) for i in p] for p in pages],
    })  # fmt: skip
    show("decode_stored_bodies_60d", ms.pop("ours"), ms)


def per_datum_summary(datums: list[dict[str, Any]]) -> None:
    samples = [s for s in map(sample_from_datum, datums) if s is not None]
    for kind in (CGM, BGM):
        ordered = sorted(s for s in samples if s.kind == kind)
        first = bisect.bisect_left(ordered, window_start(ordered[-1].time_ms), key=_time)
        made, _ = accumulate(ordered[first:], -(1 << 62))
        buckets = Buckets(kind, {b.date: b for b in made}, ordered[-1].time_ms)
        compute_periods(buckets)


def _time(s: Sample) -> int:
    return s.time_ms


def from_buckets(cgm: list[Sample], bgm: list[Sample]) -> None:
    built = [build_buckets(cgm, CGM), build_buckets(bgm, BGM)]

    def periods(fresh: bool) -> None:
        for b in built:
            # The buckets' columns, their segments summed afresh each run (not those the
            # run before left with them). Fresh: Bucket objects alone (no columns yet).
            if fresh:
                compute_periods(Buckets(b.kind, b.hours, b.last_ms))
            else:
                assert b.columns is not None
                b.columns.sums = None
                compute_periods(b)

    prepared = [
        (np.array([s.time_ms for s in group]), np.array([s.mmol for s in group]),
         np.array([s.value for s in group]), group is cgm)
        for group in (cgm, bgm)
    ]  # fmt: skip
    cases: dict[str, Callable[[], object]] = {
        "ours": lambda: periods(False),
        "ours_fresh": lambda: periods(True),
        "numpy": lambda: [numpy_windows(*p) for p in prepared],
    }
    iglu, pd = optional_iglu()
    if iglu is not None:
        series = [
            (pd.to_datetime([s.time_ms for s in g], unit="ms"), pd.Series([s.value for s in g]))
            for g in (cgm, bgm)
        ]
        cases["iglu_series"] = lambda: [iglu_windows(iglu, pd, t, s) for t, s in series]
        agreement = [
            largest_difference(ours_windows(b), numpy_windows(*p), iglu_windows(iglu, pd, *s))
            for b, p, s in zip(built, prepared, series, strict=True)
        ]
        print(
            f"summary.agreement_ours_numpy_iglu: {max(agreement):.1e} (largest relative difference)"
        )
    ms = cpu_ms(cases)
    fresh = ms.pop("ours_fresh")
    show("from_buckets_8_windows_cgm_bgm", ms.pop("ours"), ms)
    show("from_fresh_buckets_8_windows_cgm_bgm", fresh, ms)


def incremental() -> None:
    """One new hour appended to 1, 7, 14, 30 and 60 days of history: update + periods, against
    a full summary of the same history. Both read what the summariser reads: the Query
    answers of the packed samples (the update's loader, decoded from the wire's bytes as the
    store decodes them), the full one all of the window's.

    The update starts from the buckets as the store hands them (`store.buckets.stored_kind`
    of the previous summary's days and `meta`: arrays with room for the hours appended, the
    window's segment sums, every day unread until its rows are), made afresh for each run,
    untimed: the update reads (decompresses) the days it needs, timed.
    - `incremental_one_hour`: interleaved with the full summary, which has read the
      history's samples and so emptied the caches of more the longer the history;
    - `_own_loop`: in its own loop, the caches holding what the case itself last read (the
      store's reading of the days: a summariser updating account after account);
    - `_engine`: the engine alone: the buckets as read, every day read, updated run after
      run (their spare rows handed back), so the caches hold what the update reads;
    - `_in_memory`: the Buckets object of the previous summary held in memory (its arrays
      have no spare rows: the update copies them);
    - `store_read_and_one_hour`: the store's reading of the days and `meta` timed too, with
      the days read when needed, against every day read up front (as before `meta` held
      which hours have a bucket).

    The hour appended is the last of a UTC day. The last two lines append 12:00-13:00
    instead (the history ends at noon): every period's edges cut days in two.
    """
    figures = [one_hour(days) for days in (1, 7, 14, 30, 60)]
    names = ("", "_own_loop", "_engine", "_in_memory")
    for k, name in enumerate(names):
        print(f"summary.incremental_one_hour{name}: {' | '.join(f[k] for f in figures)}")
    print(f"summary.store_read_and_one_hour: {' | '.join(f[4] for f in figures)}")
    noon = [one_hour(days, 11) for days in (1, 7, 14, 30, 60)]
    print(f"summary.incremental_one_hour_at_noon_own_loop: {' | '.join(f[1] for f in noon)}")
    print(f"summary.incremental_one_hour_at_noon_engine: {' | '.join(f[2] for f in noon)}")


def one_hour(days: int, short: int = 0) -> tuple[str, ...]:
    """The figures of one history (see `incremental`), its `short` last hours left out."""
    from tidewater.store.buckets import packed_kind, stored_kind
    from tidewater.store.datums import _decoded, sample_page

    cgm, _ = readings(days)
    cgm = [s for s in cgm if s.time_ms < END - short * HOUR_MS]
    items = sample_items(cgm)
    pages = answers(items)
    times = [s.time_ms for s in cgm]
    hour = window_start(times[-1]) + 1439 * HOUR_MS
    before = build_buckets([s for s in cgm if s.time_ms < hour], CGM)
    # The periods of the history were computed before (the previous summary): its columns
    # and segment sums are made, and the update moves them on.
    compute_periods(before)
    # The previous summary's days and `meta` as the store keeps them (`save`).
    kept = packed_kind(before)

    def as_stored() -> Buckets:
        return stored_kind(CGM, kept)

    def every_day_read() -> Buckets:
        stored = as_stored()
        assert stored.columns is not None and stored.columns.ints is not None
        return stored

    @functools.cache
    def answer(i: int, j: int) -> bytes:  # (the store's answer, made once: not ours to time)
        (made,) = answers(items[i:j])
        return made

    def load(a: int, b: int) -> list[Sample]:
        # The loader's contract: the stored samples with a <= time < b, here as the
        # summariser's loader reads them (`summarizer._samples`): one Query answer's bytes.
        page = sample_page(answer(bisect.bisect_left(times, a), bisect.bisect_left(times, b)))
        assert page is not None
        found = samples_from_packed(_decoded([page.text]) or b"", CGM)
        assert found is not None
        return found

    def full() -> None:
        summarize_buckets(from_answers(pages, CGM))

    def update(stored: Buckets) -> None:
        compute_periods(update_buckets(stored, [(hour, hour + HOUR_MS)], load))

    read = every_day_read()
    cols = read.columns
    assert read == before and cols is not None and cols.room is not None
    room, used = cols.room, cols.room.used

    def again() -> Buckets:
        """The buckets read, as they were before the update appended into their room."""
        room.used = used
        same = vector.BucketColumns(cols.hour, cols.ints, cols.floats, cols.sums, room, cols.stop)
        return Buckets(CGM, None, before.last_ms, same)

    assert update_buckets(as_stored(), [(hour, hour + HOUR_MS)], load) == build_buckets(cgm, CGM)
    assert update_buckets(again(), [(hour, hour + HOUR_MS)], load) == build_buckets(cgm, CGM)
    assert update_buckets(before, [(hour, hour + HOUR_MS)], load) == build_buckets(cgm, CGM)

    def figure(ms: dict[str, float]) -> str:
        return f"{days}d {ms['ours']:.3f} ms ({ms['full'] / ms['ours']:.1f}x full)"

    # The history's samples, items and answers are the bench's (the store's, in production):
    # frozen out of the collector, as in the figures from datums.
    gc.collect()
    gc.freeze()
    interleaved = cpu_ms({"ours": (as_stored, update), "full": full}, runs=41)
    alone = {**cpu_ms({"ours": (as_stored, update)}, runs=41), **cpu_ms({"full": full})}
    engine = {**alone, **cpu_ms({"ours": (again, update)}, runs=41)}
    in_memory = {**alone, **cpu_ms({"ours": lambda: update(before)}, runs=41)}
    reads = cpu_ms(
        {
            "ours": lambda: update(as_stored()),
            "every_day": lambda: update(every_day_read()),
        },
        runs=41,
    )
    gc.unfreeze()
    store = (
        f"{days}d {reads['ours']:.3f} ms ({reads['every_day'] / reads['ours']:.1f}x every day read)"
    )
    return figure(interleaved), figure(alone), figure(engine), figure(in_memory), store


def numpy_import(saved_ms: float) -> None:
    cold = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import numpy"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        line = [x for x in done.stderr.splitlines() if x.rstrip().endswith("| numpy")][-1]
        cold.append(int(line.split("|")[1]) / 1000)
    ms = statistics.median(cold)
    repaid = f"{ms / saved_ms:.0f} summaries" if saved_ms > 0 else "never"
    print(f"summary.numpy_import: {ms:.0f} ms, repaid after {repaid} from datums "
          f"({saved_ms:.1f} ms saved each)")  # fmt: skip


def optional_iglu() -> tuple[Any, Any]:
    try:
        import iglu_python as iglu
        import pandas as pd
    except ImportError:
        return None, None
    return iglu, pd


def main() -> None:
    cgm, bgm = readings()
    if optional_iglu()[0] is None:
        print("summary.iglu: not installed, its anchors skipped")
    saved = from_datums(cgm, bgm)
    decoding(cgm, bgm)
    from_buckets(cgm, bgm)
    incremental()
    numpy_import(saved)


if __name__ == "__main__":
    main()
