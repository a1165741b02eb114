"""The poller at scale: 1,000 due Nightscout sites on one local server, polled by
`services.sources.poll_due` with its real caps (400 sites a run, 16 threads, 35 s budget)
against moto, every DynamoDB request delayed by a seeded 5-10 ms (bench/summarizer_scale_bench).

Each of `SITES` accounts links its own site on one `tests/nightscout_site.py` server: most
with `ENTRIES` five-minute sgv entries (3 hours), a few with more than a page of 1,000 to
show paging (`HEAVY`: the largest needs more than the 5 pages a run allows). Runs follow one
another, each a second after the last on the clock (a site still catching up is due a second
on), until every site is polled and none is catching up. Then the same twice, each when
every site's slot has come round: with nothing new, and with one new entry a site (the
steady state: a CGM reading every five minutes).

Prints `poll.<name>: <value> <unit>` for each of the three: wall time per run against the
35 s budget, sites per second, HTTP requests per site (counted at the server), DynamoDB
requests and writes per site by operation, the items written against the floor (new entries
/ 25 per BatchWriteItem), and the CPU time (moto's, which DynamoDB would spend elsewhere,
apart). The anchor, in the same run before each: the same sites' pages fetched by a plain
`urllib` loop on 16 threads with no DynamoDB (the network floor).
Run: `PYTHONPATH=layers/core:local:. python bench/poll_bench.py` (POLL_BENCH_SITES).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "layers" / "core", ROOT / "local", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import botocore.client  # noqa: E402

from bench.summarizer_scale_bench import MOTO, Latency, _real_call  # noqa: E402
from tests.nightscout_site import NightscoutSites, Site, nightscout_sites, sgv_entries  # noqa: E402
from tidewater.domain.sources import BACKFILL, Cursor, entries_path, query_string  # noqa: E402
from tidewater.domain.timeutil import format_utc, to_epoch_ms  # noqa: E402
from tidewater_local.aws import in_process  # noqa: E402
from tidewater_local.cfn import Template  # noqa: E402

SITES = int(os.environ.get("POLL_BENCH_SITES", "1000"))
ENTRIES = 36  # 3 hours of five-minute sgv
HEAVY = [2500, 2500, 2500, 2500, 6000]  # entries of the few sites with more than a page
WORKERS = 16
BATCH_WRITE = 25
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
T0 = datetime.now(UTC).replace(microsecond=0)


class Counted(Latency):
    """The latency hook, also counting the items each BatchWriteItem carries."""

    def __init__(self) -> None:
        super().__init__()
        self.items = 0  # carried by BatchWriteItem
        self.read = 0  # returned by Query (the due index)

    def __call__(self, client: Any, operation: str, params: Any) -> Any:
        if self.on and operation == "BatchWriteItem":
            with self.lock:
                self.items += sum(len(writes) for writes in params["RequestItems"].values())
        answer = super().__call__(client, operation, params)
        if self.on and operation == "Query":
            with self.lock:
                self.read += int(answer.get("Count", 0))
        return answer


DYNAMODB = Counted()


def token(n: int) -> str:
    return f"bench-{n:016x}"  # Nightscout's access-token form: sent as `?token=`


def sizes() -> list[int]:
    return [HEAVY[n] if n < len(HEAVY) else ENTRIES for n in range(SITES)]


def seed(server: NightscoutSites) -> None:
    """The accounts, their sites on the server, and the links (all due at T0)."""
    from tidewater.domain.accounts import Profile
    from tidewater.domain.identity import Caller, Via
    from tidewater.services import sources
    from tidewater.store.repos import repositories

    repos = repositories()
    newest = to_epoch_ms(T0) - 60_000
    for n, count in enumerate(sizes()):
        user_id = f"poll{n:06d}"
        repos.accounts.create(Profile(user_id, f"P {n}", "patient", format_utc(T0)))
        server.add(user_id, Site(entries=sgv_entries(newest, count), token=token(n)))
        body = {"url": server.url(user_id), "token": token(n)}
        sources.link(Caller(user_id, "patient", Via.SESSION), user_id, body, repos, T0)


def fetch_all(server: NightscoutSites, watermark: int) -> tuple[float, float]:
    """The floor: every site's pages read by plain urllib on `WORKERS` threads, paged as
    the poller pages (domain Cursor), nothing stored. Wall and CPU seconds (the server's
    included: it runs here)."""

    def one(n: int) -> None:
        cursor = Cursor(watermark)
        while True:
            query = [*cursor.query(), ("token", token(n))]
            url = f"{entries_path(server.url(f'poll{n:06d}'))}?{query_string(query)}"
            with urllib.request.urlopen(url, timeout=10) as answer:
                page = json.loads(answer.read())
            cursor = cursor.after([int(entry["date"]) for entry in page])
            if cursor.done:
                return

    wall, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, range(SITES)))
    return time.perf_counter() - wall, time.process_time() - cpu


def requests_at(server: NightscoutSites) -> int:
    return sum(len(site.requests) for site in server.sites.values())


def clear(server: NightscoutSites) -> None:
    for site in server.sites.values():
        site.requests.clear()


def per_site(calls: Counter[str], sites: int, only: tuple[str, ...] | None = None) -> str:
    chosen = [(op, n) for op, n in calls.most_common() if only is None or op in only]
    total = sum(n for _, n in chosen)
    detail = ", ".join(f"{op} {n / sites:.2f}" for op, n in chosen)
    return f"{total / sites:.2f} per site ({detail})"


def fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def backlog_left(server: NightscoutSites) -> bool:
    """Is a site not asked yet, or one still catching up (only the heavy ones can be)?"""
    from tidewater.store.repos import repositories

    if any(not site.requests for site in server.sites.values()):
        return True
    repos = repositories()
    found = [repos.sources.get(f"poll{n:06d}") for n in range(min(len(HEAVY), SITES))]
    return any(source is not None and not source.cursor.done for source in found)


def drain(
    label: str, server: NightscoutSites, start: datetime, watermark: int, new: list[int]
) -> None:
    """The anchor (the sites' new entries, from `watermark`, by urllib), then runs one after
    another, a second apart on the clock, until every site has been polled and none is still
    catching up; prints the figures. `new`: each site's new entries, for the write floor.
    (Once drained, sites keep coming due at their slots, about SITES / 300 a second: the
    schedule's steady state, not the backlog, so the runs stop there.)"""
    from tidewater.services import sources
    from tidewater.store.repos import repositories

    clear(server)
    anchor, anchor_cpu = fetch_all(server, watermark)
    print(
        f"poll.{label}_anchor: {anchor:.1f} s wall for {requests_at(server)} GET by urllib on "
        f"{WORKERS} threads, nothing stored ({SITES / anchor:.0f} sites/s)"
    )
    clear(server)
    DYNAMODB.calls.clear()
    DYNAMODB.items = DYNAMODB.read = 0
    DYNAMODB.on = True
    MOTO.seconds = 0.0
    walls: list[float] = []
    budget = sources.BUDGET_SECONDS
    polled = imported = late = failed = 0
    cpu = time.process_time()
    while True:
        at = start + timedelta(seconds=len(walls))
        repos = repositories()
        began = time.perf_counter()
        run = sources.poll_due(repos, sources.fetcher(repos), fixed(at))
        wall = time.perf_counter() - began
        if run.due == 0:
            break
        walls.append(wall)
        polled, imported = polled + run.polled, imported + run.imported
        late, failed = late + run.late, failed + run.failed
        print(
            f"poll.{label}_run_{len(walls)}: {wall:.1f} s wall ({wall / budget:.2f}x "
            f"the {budget:.0f} s budget) for {run.polled} of {run.due} due, "
            f"{run.pages} pages, {run.imported} entries stored, {run.late} late"
        )
        DYNAMODB.on = False
        left = backlog_left(server)
        DYNAMODB.on = True
        if not left:
            break
    DYNAMODB.on = False
    cpu = time.process_time() - cpu
    total = sum(walls)
    http = requests_at(server)
    calls = DYNAMODB.calls
    done = SITES  # per site: a site polled twice (catching up, or its slot came) counts once
    print(
        f"poll.{label}_runs: {len(walls)} runs, {total:.1f} s wall in all, longest "
        f"{max(walls):.1f} s; {polled} polls of {SITES} sites ({polled - SITES} again: catching "
        f"up, or a slot that came meanwhile), {failed} failed, {late} late; the due index: "
        f"{calls['Query']} Query returning {DYNAMODB.read} items"
    )
    print(
        f"poll.{label}_sites_per_s: {SITES / total:.0f} sites/s ({total / anchor:.1f}x the "
        f"urllib floor's wall)"
    )
    print(f"poll.{label}_http_requests_per_site: {http / done:.2f} GET ({http} at the server)")
    print(f"poll.{label}_dynamodb_requests_per_site: {per_site(calls, done)}")
    print(f"poll.{label}_dynamodb_writes_per_site: {per_site(calls, done, WRITES)}")
    floor = sum(math.ceil(count / BATCH_WRITE) for count in new)
    print(
        f"poll.{label}_items_written_per_site: {DYNAMODB.items / done:.2f} items in "
        f"{calls['BatchWriteItem'] / done:.2f} BatchWriteItem for {imported / done:.2f} "
        f"entries stored (floor {floor / SITES:.2f} BatchWriteItem: new entries / 25)"
    )
    ours = cpu - MOTO.seconds - anchor_cpu
    print(
        f"poll.{label}_cpu: {cpu:.1f} s of the process, of which moto {MOTO.seconds:.1f} s and "
        f"the urllib floor's {anchor_cpu:.1f} s: the poller's own {ours / done * 1000:.1f} ms "
        f"per site beyond the floor"
    )


def run() -> None:
    os.environ["POWERTOOLS_LOG_LEVEL"] = os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    MOTO.install()
    began = time.perf_counter()
    with nightscout_sites() as server, in_process(Template(ROOT / "template.yaml"), "bench"):
        # socketserver listens with a backlog of 5: 16 threads connecting at once would see
        # SYNs dropped and retried a second later, the harness's delay and not the poller's.
        server.server.socket.listen(128)
        seed(server)
        entries, heavy = sum(sizes()), ", ".join(map(str, HEAVY))
        print(
            f"poll.seed: {SITES} accounts and sites, {entries} sgv entries ({ENTRIES} each; "
            f"{len(HEAVY)} with {heavy}), in {time.perf_counter() - began:.0f} s"
        )
        backfill = to_epoch_ms(T0 - BACKFILL)
        newest = to_epoch_ms(T0) - 60_000
        botocore.client.BaseClient._make_api_call = lambda c, o, p: DYNAMODB(c, o, p)
        try:
            drain("first", server, T0 + timedelta(seconds=1), backfill, sizes())
            # Every site's slot comes once in five minutes: by then all are due again.
            drain("again", server, T0 + timedelta(minutes=5, seconds=10), newest, [0] * SITES)
            # The steady state: one new entry each (five minutes on), one slot later.
            added = newest + 6 * 60_000
            for n, site in enumerate(server.sites.values()):
                site.entries[:0] = sgv_entries(added, 1, start_mgdl=100 + n % 50)
            drain("one_new", server, T0 + timedelta(minutes=10, seconds=20), newest, [1] * SITES)
        finally:
            botocore.client.BaseClient._make_api_call = _real_call
    print(f"poll.bench_wall: {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    run()
