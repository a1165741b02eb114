"""Speed and memory of the donation export.

Run: `python bench/donation_bench.py` (or `make bench`). Each size runs in a fresh
subprocess against a fresh moto server in a process of its own, so that the child's peak
RSS (`ru_maxrss`) is the export's and its imports' alone, not moto's copy of the slice:

- `export_*`: N donors x 7 days of 5-minute CGM (2,016 readings each) through the whole
  export (donor list Query, anonymisation, spill, sort, gzip, S3 multipart upload, mapping
  and manifest writes), the readings coming from an in-memory source of the same shape as
  stored datums: moto answers a Query of 17,280 items in ~6 s, so 2 M rows through its
  DynamoDB would measure moto. Figures for 100 and 1,000 donors: memory must stay flat.
- `rewrite_*`: a withdrawal applied to the 1,000-donor slice (stream, filter, re-upload).
- `end_to_end_*`: 10 donors x 7 days really stored in moto's DynamoDB and read back by the
  datums repository: the real path, dominated by moto's speed, for scale.

Prints `donation.<name>: <value> <unit>` lines. `DONATION_BENCH_DONORS=1000,2000` picks
other sizes.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT / "local"), str(ROOT)]

DAYS = 7
PER_DAY = 288
NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
TRENDS = ["Flat", "FortyFiveUp", "SingleDown", "NOT COMPUTABLE", None]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _RssSampler:
    """The process's resident set, sampled every 20 ms while a run lasts (ru_maxrss only
    ever shows the highest mark of the whole process)."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current_mb() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self.current_mb())

    def __enter__(self) -> _RssSampler:
        self.peak_mb = self.current_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.current_mb())


def _body(user_id: str, moment: datetime, rng: random.Random, mgdl: int) -> dict[str, Any]:
    """A stored cbg datum's body, as the datums table holds it."""
    return {
        "type": "cbg",
        "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "value": mgdl / 18.01559,
        "units": "mmol/L",
        "originalValue": mgdl,
        "originalUnits": "mg/dL",
        "timezoneOffset": -300 if moment.day % 7 else -240,
        "deviceId": "DexG6-SN-BENCH01",
        "id": f"{rng.getrandbits(128):032x}",
        "uploadId": "upload-bench",
        "userId": user_id,
        "trend": TRENDS[mgdl % len(TRENDS)],
        "noise": mgdl % 5,
        "createdTime": "2026-11-20T12:00:00.000Z",
    }


def readings(user_id: str, start: datetime) -> Iterator[dict[str, Any]]:
    """A donor's week of 5-minute readings: a bounded random walk, the donor's own second."""
    rng = random.Random(user_id)
    moment = start + timedelta(seconds=rng.randrange(300), milliseconds=rng.randrange(1000))
    mgdl = rng.randint(80, 200)
    for _ in range(DAYS * PER_DAY):
        mgdl = min(420, max(30, mgdl + rng.randint(-9, 9)))
        yield _body(user_id, moment, rng, mgdl)
        moment += timedelta(minutes=5)


# ------------------------------------------------------------------ child: one measurement
def _child(donors: int, mode: str) -> dict[str, Any]:
    from tidewater.domain import donation
    from tidewater.domain.timeutil import format_utc
    from tidewater.services import exporter
    from tidewater.store import keys
    from tidewater.store.models import DonationModel
    from tidewater.store.repos import repositories

    repos = repositories()
    imported = _rss_mb()
    window = donation.due_windows(NOW, 7, 30)[-1]
    ids = [f"{i:010x}" for i in range(donors)]
    with DonationModel.batch_write() as batch:  # the donor list, as consent leaves it
        for user_id in ids:
            batch.save(DonationModel(keys.DONATION_DONORS, user_id))
    source: Any = None
    if mode == "end_to_end":
        for user_id in ids:
            items = [{**b, "dedupKey": b["id"][:16]} for b in readings(user_id, window.start)]
            repos.datums.put_many(items)
    else:

        def source(user_id: str, w: donation.Window) -> Iterator[dict[str, Any]]:
            # The newest due window only (a run also decides the 3 before it: empty here).
            return readings(user_id, w.start) if w.index == window.index else iter(())

    figures: dict[str, Any] = {"imports_mb": imported}
    if source is not None:  # what the synthetic source alone costs, to take it out
        sample = ids[:100]
        started = time.perf_counter()
        for user_id in sample:
            for _ in source(user_id, window):
                pass
        figures["source_seconds"] = (time.perf_counter() - started) * len(ids) / len(sample)
    sampler = _RssSampler()
    figures["before_mb"] = sampler.current_mb()
    started = time.perf_counter()
    with sampler:
        result = exporter.run(repos, now=NOW, rng=random.Random(1), source=source)
    figures.update(rows=result.rows, seconds=time.perf_counter() - started,
                   peak_mb=_rss_mb(), run_peak_mb=sampler.peak_mb)  # fmt: skip
    if mode == "export" and donors >= 1000:
        repos.donations.give_consent(ids[0], format_utc(NOW))
        repos.donations.withdraw_consent(ids[0], format_utc(NOW + timedelta(hours=1)))
        started = time.perf_counter()
        rewrite = exporter.run(repos, now=NOW + timedelta(hours=2), rng=random.Random(2))
        figures["rewrite_seconds"] = time.perf_counter() - started
        figures["rewritten"] = rewrite.rewritten
        figures["rewrite_peak_mb"] = _rss_mb()
    return figures


# ------------------------------------------------------------------ parent: small on purpose
# Linux carries ru_maxrss across fork and exec: a child of a big process starts at the
# parent's size. So the parent imports nothing heavy; moto's server runs in a process of its
# own (a fresh one per measurement), and the tables are made by a short-lived setup process.
def _setup(endpoint: str) -> dict[str, str]:
    from tidewater_local import aws
    from tidewater_local.cfn import Template

    aws.point_sdk_at(endpoint)
    template = Template(ROOT / "template.yaml")
    refs = aws.create_resources(template)
    env = {k: os.environ[k] for k in (*aws.LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL")}
    return {**env, **template.environment({"Stage": "bench", **refs})}


def _moto_server() -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("moto's server did not start")


def _run_self(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _measure(donors: int, mode: str) -> dict[str, Any]:
    server, endpoint = _moto_server()
    try:
        quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
        env = {**os.environ, **_run_self("--setup", endpoint), **quiet}
        return _run_self("--child", str(donors), mode, env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    _report()


def _report() -> None:
    sizes = os.environ.get("DONATION_BENCH_DONORS", "100,1000")
    for donors in (int(n) for n in sizes.split(",")):
        got = _measure(donors, "export")
        rows, seconds = got["rows"], got["seconds"]
        pipeline = seconds - got["source_seconds"]
        print(f"donation.export_rows_per_s_{donors}_donors: {rows / seconds:.0f} rows/s"
              f"  # {rows} rows in {seconds:.1f} s, {donors} donors x 7 days of 5-min CGM;"
              f" {rows / pipeline:.0f} rows/s without the synthetic source's"
              f" {got['source_seconds']:.1f} s")  # fmt: skip
        print(f"donation.export_peak_rss_{donors}_donors: {got['peak_mb']:.0f} MB"
              f"  # ru_maxrss; during the run {got['before_mb']:.0f} -> {got['run_peak_mb']:.0f}"
              f" MB; after imports {got['imports_mb']:.0f} MB")  # fmt: skip
        if "rewrite_seconds" in got:
            print(f"donation.rewrite_rows_per_s_{donors}_donors: "
                  f"{got['rows'] / got['rewrite_seconds']:.0f} rows/s  # one withdrawal, "
                  f"{got['rewritten']} slice streamed through; ru_maxrss "
                  f"{got['rewrite_peak_mb']:.0f} MB")  # fmt: skip
        sys.stdout.flush()
    got = _measure(10, "end_to_end")
    rate = got["rows"] / got["seconds"]
    print(f"donation.end_to_end_rows_per_s_10_donors: {rate:.0f} rows/s  # {got['rows']} rows"
          f" read from moto's DynamoDB in {got['seconds']:.1f} s")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        print(json.dumps(_setup(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child":
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        print(json.dumps(_child(int(sys.argv[2]), sys.argv[3])))
    else:
        main()
