"""The summariser at scale: one iteration over 1,000 outdated accounts against moto, every
DynamoDB request delayed by a seeded uniform 5-10 ms (what a request to DynamoDB costs from
Lambda), one account at a time and with the thread pool.

Each account has `HISTORY_DAYS` of CGM (5-minute) and BGM (4 a day) in its stored buckets
and one new hour of CGM uploaded; 5 % are first summaries (no buckets yet: the history is
in their datums). Two sets are seeded alike, one per run, so that both runs do the same
work. Prints wall time, DynamoDB requests per account, accounts per second, and the CPU
time of the process (moto's included: it runs here), against the 25 s the function has.

moto answers in this process, so its CPU (most of the process's) holds the interpreter lock
that the summariser's threads need: against moto the threaded run measures the harness. So
the threaded run's answers are recorded, as moto gave them (status, headers, body), and the
same iteration (same accounts, same clock) is run again with each request answered from
the record after its 5-10 ms: every byte is still serialised, signed, sent, parsed and
summarised here, as in Lambda, while DynamoDB's own work is done elsewhere, as in AWS. A
request the record does not hold fails the run.
Run: `python bench/summarizer_scale_bench.py` (SCALE_BENCH_ACCOUNTS, SCALE_BENCH_HISTORY_DAYS).
"""

from __future__ import annotations

import functools
import gc
import os
import random
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.client

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = int(os.environ.get("SCALE_BENCH_ACCOUNTS", "1000"))
HISTORY_DAYS = int(os.environ.get("SCALE_BENCH_HISTORY_DAYS", "14"))
FIRST_SHARE = 0.05
BUDGET_S = 25.0
LATENCY_MS = (5.0, 10.0)
# The newest history hour ends 3 hours ago: each run's new hour is before now.
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)

_real_call = botocore.client.BaseClient._make_api_call


class Latency:
    """Every DynamoDB API call waits a seeded uniform 5-10 ms first, and is counted."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.on = False

    def __call__(self, client: Any, operation: str, params: Any) -> Any:
        if self.on and client.meta.service_model.service_name == "dynamodb":
            with self.lock:
                self.calls[operation] += 1
                wait = self.rng.uniform(*LATENCY_MS) / 1000
            time.sleep(wait)
        return _real_call(client, operation, params)


LATENCY = Latency()


class _Partition:
    """A moto table seen through one partition: what its Query reads."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table, self._hash_key = table, hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        return list(self._table.items.get(self._hash_key, {}).values())


class MotoClock:
    """The CPU time spent in moto (it answers in the calling thread): the harness's share of
    the process's CPU, which DynamoDB would spend on its own machines."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.lock = threading.Lock()

    def install(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        real = BotocoreStubber.__call__

        def timed(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return real(stubber, *args, **kwargs)
            finally:
                spent = time.thread_time() - began
                with self.lock:
                    self.seconds += spent

        BotocoreStubber.__call__ = timed  # type: ignore[method-assign,assignment]


MOTO = MotoClock()


class Record:
    """moto's answers by request (its operation and body), in the order they were given;
    replaying answers each request with the next answer recorded for it, moto not asked."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, bytes], list[Any]] = {}
        self.lock = threading.Lock()
        self.mode = "off"  # "record", "replay" or "off"

    def install(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        real = BotocoreStubber.process_request

        def answer(stubber: Any, request: Any) -> Any:
            if self.mode == "off":
                return real(stubber, request)
            body = request.body if isinstance(request.body, bytes) else (request.body or b"")
            key = (request.headers.get("X-Amz-Target", b""), bytes(body))
            if self.mode == "replay":
                with self.lock:
                    return self.answers[key].pop(0)
            found = real(stubber, request)
            with self.lock:
                self.answers.setdefault(key, []).append(found)
            return found

        BotocoreStubber.process_request = answer  # type: ignore[method-assign,assignment]


RECORD = Record()


def partition_queries() -> None:
    """moto answers a table's Query by sorting every item of the table (5.x `all_items`);
    DynamoDB reads the one partition. Seeded with 2,000 accounts, that harness cost would
    grow with the seed, so the bench's moto reads the partition (index queries as before)."""
    from moto.dynamodb.models.table import Table

    real = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index or not self.range_key_attr:
            return real(self, hash_key, *args, **kwargs)
        return real(_Partition(self, hash_key), hash_key, *args, **kwargs)  # type: ignore[arg-type]

    Table.query = query  # type: ignore[method-assign]


def main() -> int:
    from tidewater_local.aws import in_process
    from tidewater_local.cfn import Template

    partition_queries()
    MOTO.install()
    RECORD.install()
    with in_process(Template(ROOT / "template.yaml"), stage="bench"):
        botocore.client.BaseClient._make_api_call = lambda c, o, p: LATENCY(c, o, p)
        try:
            run()
        finally:
            botocore.client.BaseClient._make_api_call = _real_call
    return 0


def cgm(at: datetime, hours: int, level: float) -> list[dict[str, Any]]:
    return [
        {
            "type": "cbg",
            "units": "mg/dL",
            "value": round(level + 60 * ((n * 7919) % 100) / 100),
            "deviceId": "DexG6-1",
            "time": (at + timedelta(minutes=5 * n, seconds=n % 7)).isoformat()[:19] + ".000Z",
        }
        for n in range(12 * hours)
    ]


def bgm(at: datetime, days: int, level: float) -> list[dict[str, Any]]:
    return [
        {
            "type": "smbg",
            "units": "mg/dL",
            "value": level + (n * 13) % 60,
            "deviceId": "meter",
            "time": (at + timedelta(hours=6 * n, minutes=3)).isoformat()[:19] + ".000Z",
        }
        for n in range(4 * days)
    ]


class World:
    """One set of accounts: most with stored buckets, a few whose history is still to be
    uploaded (their first summary reads it from the datums)."""

    def __init__(self, name: str) -> None:
        from tidewater.domain.accounts import Profile
        from tidewater.domain.identity import Caller, Via
        from tidewater.domain.timeutil import format_utc
        from tidewater.services import ingest
        from tidewater.store.repos import repositories

        repos = repositories()
        self.start = END - timedelta(days=HISTORY_DAYS)
        self.first = round(ACCOUNTS * FIRST_SHARE)
        self.callers: list[Any] = []
        self.datasets: list[str] = []
        for n in range(ACCOUNTS):
            user_id = f"{name}{n:06d}"
            repos.accounts.create(Profile(user_id, f"P {n}", "patient", format_utc(self.start)))
            caller = Caller(user_id, "patient", Via.SESSION)
            dataset = ingest.create_dataset(caller, user_id, {"client": {"name": "b"}}, repos)
            if n >= self.first:
                for buckets in history_buckets(self.start, level(n)):
                    repos.buckets.save(user_id, buckets, {})
            self.callers.append(caller)
            self.datasets.append(dataset.id)

    def new_hour(self, hour: int) -> None:
        """One new hour of CGM for every account (the upload marks it outdated), with the
        history of the first-summary ones."""
        from tidewater.services import ingest
        from tidewater.store.repos import repositories

        at = END + timedelta(hours=hour)
        for n, (caller, dataset) in enumerate(zip(self.callers, self.datasets, strict=True)):
            datums = cgm(at, 1, level(n))
            if n < self.first:
                datums = history(self.start, level(n)) + datums
            for i in range(0, len(datums), 1000):
                ingest.upload(caller, dataset, datums[i : i + 1000], repositories())


def level(n: int) -> float:
    return 90.0 + n % 40


def history(start: datetime, mgdl: float) -> list[dict[str, Any]]:
    return cgm(start, 24 * HISTORY_DAYS, mgdl) + bgm(start, HISTORY_DAYS, mgdl)


@functools.cache
def history_buckets(start: datetime, mgdl: float) -> tuple[Any, ...]:
    """The buckets of a history (the same for every account of one level: made once)."""
    from tidewater.domain.summary import BGM, CGM, build_buckets, sample_from_datum

    samples = [s for s in map(sample_from_datum, history(start, mgdl)) if s is not None]
    return tuple(build_buckets(samples, kind) for kind in (CGM, BGM))


def iteration(label: str, workers: int, clock: Any = time.time) -> tuple[float, float]:
    """Wall time and the CPU time that was not moto's."""
    from tidewater.services import summarizer
    from tidewater.store.repos import repositories

    # moto holds the worlds' tables in this process: millions of objects that a Lambda's
    # collector never walks (DynamoDB holds them elsewhere). Frozen out of the collector,
    # they no longer cost ours: its full collections walked them all (from_row, which makes
    # the Bucket objects, took 10 us a bucket with 60-day worlds, 1 us with small ones).
    gc.collect()
    gc.freeze()
    LATENCY.calls.clear()
    LATENCY.on = True
    MOTO.seconds = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    result = summarizer.run_iteration(repositories(), clock=clock, workers=workers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    LATENCY.on = False
    done = max(result.summarized, 1)
    requests = sum(LATENCY.calls.values())
    top = ", ".join(f"{op} {count}" for op, count in LATENCY.calls.most_common(6))
    print(
        f"summarizer_scale.{label}: {wall:.1f} s wall for {result.summarized} accounts "
        f"({result.summarized / wall:.0f} accounts/s, {wall / BUDGET_S:.2f}x the "
        f"{BUDGET_S:.0f} s budget), {requests / done:.1f} requests per account ({top}); "
        f"CPU {cpu:.1f} s, of which moto {MOTO.seconds:.1f} s: ours "
        f"{(cpu - MOTO.seconds) / done * 1000:.1f} ms per account"
    )
    assert (result.summarized, result.failed) == (ACCOUNTS, 0), result
    return wall, cpu - MOTO.seconds


def run() -> None:
    from tidewater.settings import current

    workers = current().summary_workers
    began = time.perf_counter()
    worlds = [World("serial-"), World("thread-")]
    print(
        f"summarizer_scale.seed: 2 x {ACCOUNTS} accounts, {HISTORY_DAYS} days of history, "
        f"{FIRST_SHARE:.0%} first summaries, in {time.perf_counter() - began:.0f} s"
    )
    # The first-summary accounts of a world take the new hour with their history.
    worlds[0].new_hour(0)
    serial, _ = iteration("serial_1_worker", 1)
    worlds[1].new_hour(0)
    at = time.time()  # both runs of the threaded iteration read the same clock

    def clock() -> float:
        return at

    RECORD.mode = "record"
    threaded, _ = iteration(f"threads_{workers}_workers", workers, clock)
    print(f"summarizer_scale.speedup: {serial / threaded:.1f}x ({workers} workers vs 1)")
    RECORD.mode = "replay"
    replayed, _ = iteration(f"threads_{workers}_workers_dynamodb_elsewhere", workers, clock)
    RECORD.mode = "off"
    left = sum(map(len, RECORD.answers.values()))
    assert left == 0, f"{left} recorded answers were not asked for"
    print(
        f"summarizer_scale.budget_dynamodb_elsewhere: {replayed:.1f} s of the {BUDGET_S:.0f} s "
        f"({replayed / BUDGET_S:.2f}x), moto's answers replayed after the same latency"
    )


if __name__ == "__main__":
    sys.exit(main())
