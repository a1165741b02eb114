"""Peak memory and time of a person's export (GET /v1/users/{userId}/export), against moto.

Run: `python bench/export_bench.py` (or `make bench`). Uploads 2,500 and then 10,000 cbg
datums for one account and exports them as JSON and as CSV through `services.rights`,
measuring the Python heap's peak during the export with `tracemalloc`. The archive goes to
a sink that counts and drops the bytes, so that moto's S3 (which keeps every part in this
process) is not measured; the real upload adds one 8 MiB part (and its copy while it is
sent). Prints `export.<format>_<n>.<figure>: <value> <unit>`: a peak that does not grow with
the history is bounded memory.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "layers" / "core", ROOT / "local", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from tidewater.domain.identity import Caller, Via  # noqa: E402
from tidewater.domain.timeutil import format_utc  # noqa: E402
from tidewater_local.aws import in_process  # noqa: E402
from tidewater_local.cfn import Template  # noqa: E402

SIZES = (2_500, 10_000)  # 4x the history: a bounded peak does not grow with it
CHUNK = 2_500  # datums per upload request (the API takes up to 10,000)
START = datetime(2025, 1, 1, tzinfo=UTC)


class _Drop:
    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is kept."""


@contextmanager
def _dropping(export_id: str, extension: str, content_type: str) -> Iterator[_Drop]:
    yield _Drop()


def _upload(caller: Caller, repos: Any, start: int, count: int) -> None:
    from tidewater.services import ingest

    dataset = ingest.create_dataset(caller, caller.user_id, {"client": {"name": "bench"}}, repos)
    for first in range(start, start + count, CHUNK):
        datums = [{"type": "cbg", "deviceId": "G6-bench", "units": "mg/dL",
                   "value": 60 + i % 200, "time": format_utc(START + timedelta(minutes=5 * i))}
                  for i in range(first, first + CHUNK)]  # fmt: skip
        ingest.upload(caller, dataset.id, datums, repos)


def main() -> None:
    from tidewater.services import auth, rights
    from tidewater.store.repos import repositories

    with in_process(Template(ROOT / "template.yaml")):
        repos = repositories()
        body = {"email": "bench@example.org", "password": "Bench-export-pass-1",
                "fullName": "Bench", "role": "patient"}  # fmt: skip
        user_id = auth.sign_up(body, repos, datetime.now(UTC)).user_id
        caller = Caller(user_id, "patient", Via.SESSION)
        repos.exports.upload = _dropping  # type: ignore[method-assign,assignment]
        repos.exports.presigned_get = lambda *args: "https://example.invalid/"  # type: ignore[method-assign]
        stored = 0
        for size in SIZES:
            _upload(caller, repos, stored, size - stored)
            stored = size
            for chosen in ("json", "csv"):
                tracemalloc.start()
                began = time.perf_counter()
                link = rights.export(caller, user_id, {"format": chosen},
                                     body["email"], repos, datetime.now(UTC))  # fmt: skip
                seconds = time.perf_counter() - began
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                assert link.datums == size
                name = f"export.{chosen}_{size}"
                print(f"{name}.peak_heap: {peak / 2**20:.1f} MiB")
                print(f"{name}.archive: {link.bytes / 2**20:.1f} MiB")
                print(f"{name}.time: {seconds:.1f} s ({size / seconds:,.0f} datums/s, in process)")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
