"""`make bench`: every benchmark of the project, one figure per line.

Cold start first: the import time of each handler module in a fresh interpreter
(`python -X importtime`, median of 7), against `import boto3` alone measured in turn with it;
then the time a cold function takes to make its DynamoDB clients, one per table, against one
`boto3.client`.
Then every `bench/*_bench.py`, each printing its own figures.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "core"), str(ROOT / "local"), str(ROOT)]),
    "AWS_DEFAULT_REGION": "us-east-1",
    "PYTHONDONTWRITEBYTECODE": "",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    # Compiled caches go outside the tree: unchecked-hash .pyc files are never re-validated
    # against their source, so left in the tree they would run stale code after an edit.
    "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "tidewater-bench-pycache"),
}


def _import_ms(module: str) -> float:
    """Cumulative import time of `module` (and all it imports), in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=ENV, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    top = [
        int(m.group(1))
        for m in re.finditer(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", done.stderr, re.M)
        if m.group(2).strip() == module
    ]
    return top[-1] / 1000


def import_ms(module: str, anchor: str = "boto3") -> tuple[float, float]:
    """Median import milliseconds of `module` and of `anchor`, the two measured in turn (a
    fresh interpreter each, RUNS of each): what slows the machine slows both alike."""
    pairs = [(_import_ms(module), _import_ms(anchor)) for _ in range(RUNS)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def cold_imports() -> None:
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        ms, boto3_ms = import_ms(f"functions.{app.parent.name}.app")
        print(f"cold_import.{app.parent.name}: {ms:.0f} ms ({ms / boto3_ms:.2f}x boto3, "
              f"{boto3_ms:.0f} ms in the same run)")  # fmt: skip


# A fresh interpreter makes the clients a function's first request to each table needs.
CLIENTS = """
import time, boto3
from tidewater.store import models
models.bind(type("S", (), {**{f: "t" for f in models.TABLE_SETTINGS.values()},
                           "region": "us-east-1"})())
began = time.perf_counter()
if {anchor}:
    boto3.client("dynamodb")
else:
    for model in models.MODELS:
        model._get_connection().connection.client
print((time.perf_counter() - began) * 1000, len(models.MODELS))
"""


def clients_ms(anchor: bool) -> tuple[float, int]:
    """Median milliseconds, and how many models the clients were made for."""
    samples, count = [], 0
    for _ in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-c", CLIENTS.replace("{anchor}", str(anchor))],
            env={**ENV, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"},
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        ms, models = done.stdout.split()
        samples.append(float(ms))
        count = int(models)
    return statistics.median(samples), count


def cold_clients() -> None:
    one, _ = clients_ms(anchor=True)
    every, count = clients_ms(anchor=False)
    print(f"cold_clients.boto3_dynamodb: {one:.0f} ms")
    print(f"cold_clients.every_model: {every:.0f} ms for {count} models "
          f"({every / one:.2f}x one boto3 client)")  # fmt: skip


def main() -> int:
    # Compile first, as a deployment should (`compileall`): without .pyc imports are ~3x slower.
    prefix = ENV["PYTHONPYCACHEPREFIX"]
    sources = [str(ROOT / "layers" / "core"), str(ROOT / "functions")]
    subprocess.run(
        [sys.executable, "-X", f"pycache_prefix={prefix}", "-m", "compileall", "-q",
         "--invalidation-mode", "unchecked-hash", *sources],
        check=True,
    )  # fmt: skip
    cold_imports()
    cold_clients()
    for script in sorted((ROOT / "bench").glob("*_bench.py")):
        sys.stdout.flush()
        subprocess.run([sys.executable, str(script)], env=ENV, cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
