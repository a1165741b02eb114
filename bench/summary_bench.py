"""Summary engine CPU time on one user's 60 days: 5-min CGM (17,280 readings) + 4 BGM a day.

Run: `python bench/summary_bench.py`. Prints `summary.<name>: <value> <unit>` lines; times are
process CPU time, the median of 5 runs. iglu-python (GPL, test-only) computes the same metrics
(mean, time in ranges, SD, GMI, CV) over the same 8 windows (4 current, 4 previous) per type,
for comparison, when it is installed; it has no incremental mode, so the incremental ratio
sets our one-hour update (CGM) against iglu's 8 CGM windows.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from tidewater.domain.summary import (
    BGM,
    CGM,
    HOUR_MS,
    Sample,
    build_buckets,
    compute_periods,
    summarize,
    update_buckets,
)
from tidewater.domain.timeutil import format_utc, from_epoch_ms

END = 1_704_067_200_000 + 90 * 24 * HOUR_MS  # a whole hour: the newest reading ends it
DAYS = 60
FACTOR = 18.01559
RUNS = 5


def readings() -> tuple[list[Sample], list[Sample]]:
    rng = random.Random(42)
    start = END - DAYS * 24 * HOUR_MS
    cgm, level = [], 140.0
    for i in range(DAYS * 288):
        level = min(400.0, max(40.0, level + rng.gauss(0, 8)))
        v = round(level)
        cgm.append(Sample(start + i * 300_000, v / FACTOR, "mg/dL", v, 5, "DexG6-1", CGM))
    bgm = []
    for day in range(DAYS):
        for hour in (7, 12, 18, 22):
            v = rng.randint(50, 350)
            t = start + (day * 24 + hour) * HOUR_MS + rng.randint(0, 3_000_000)
            bgm.append(Sample(t, v / FACTOR, "mg/dL", v, 0, "meter", BGM))
    return cgm, bgm


def cpu_ms(run: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        begin = time.process_time()
        run()
        times.append(time.process_time() - begin)
    return statistics.median(times) * 1000


def as_datum(s: Sample) -> dict[str, Any]:
    kind = "cbg" if s.kind == CGM else "smbg"
    time_ = format_utc(from_epoch_ms(s.time_ms))
    return {
        "type": kind,
        "units": s.units,
        "value": s.value,
        "time": time_,
        "deviceId": s.device_id,
    }


def main() -> None:
    cgm, bgm = readings()
    samples = cgm + bgm

    def full() -> None:
        for kind in (CGM, BGM):
            compute_periods(build_buckets(samples, kind))

    full_ms = cpu_ms(full)
    print(f"summary.full_recompute_60d: {full_ms:.2f} ms")
    datums = [as_datum(s) for s in samples]
    print(f"summary.full_from_datums_60d: {cpu_ms(lambda: summarize(datums)):.2f} ms")

    new_hour = cgm[-12:]
    stored = build_buckets(cgm[:-12], CGM)

    def incremental() -> None:
        first, last = new_hour[0].time_ms, new_hour[-1].time_ms + 1
        compute_periods(update_buckets(stored, [(first, last)], lambda a, b: new_hour))

    incremental_ms = cpu_ms(incremental)
    print(f"summary.incremental_one_hour: {incremental_ms:.3f} ms")

    try:
        import iglu_python as iglu
        import pandas as pd
    except ImportError:
        print("summary.iglu: not installed, skipped")
        return
    windows = {}
    for kind, group in ((CGM, cgm), (BGM, bgm)):
        frame = pd.DataFrame(
            {
                "id": "user",
                "time": pd.to_datetime([s.time_ms for s in group], unit="ms"),
                "gl": [float(s.value) for s in group],
            }
        )
        end = group[-1].time_ms - group[-1].time_ms % HOUR_MS + HOUR_MS
        windows[kind] = (frame, end)

    def with_iglu(kind: str, as_series: bool) -> Callable[[], None]:
        frame, end = windows[kind]

        def run() -> None:
            for days in (1, 7, 14, 30):
                for back in (0, 1):
                    stop = pd.Timestamp(end - back * days * 24 * HOUR_MS, unit="ms")
                    begin = stop - pd.Timedelta(days=days)
                    window = frame[(frame.time >= begin) & (frame.time < stop)]
                    data = window["gl"] if as_series else window
                    iglu.mean_glu(data)
                    iglu.below_percent(data, targets_below=[54, 70])
                    iglu.in_range_percent(data, target_ranges=[[70, 180]])
                    iglu.above_percent(data, targets_above=[180, 250, 349])
                    iglu.sd_glu(data)
                    iglu.gmi(data)
                    iglu.cv_glu(data)

        return run

    # iglu's documented input is a DataFrame (id, time, gl); a bare Series is its fast path.
    for label, as_series in (("dataframe", False), ("series", True)):
        cgm_ms = cpu_ms(with_iglu(CGM, as_series))
        both_ms = cgm_ms + cpu_ms(with_iglu(BGM, as_series))
        print(f"summary.iglu_{label}_8_windows_cgm_bgm: {both_ms:.2f} ms")
        print(f"summary.iglu_{label}_over_full: {both_ms / full_ms:.1f} x")
        print(f"summary.iglu_{label}_cgm_over_incremental: {cgm_ms / incremental_ms:.1f} x")


if __name__ == "__main__":
    main()
