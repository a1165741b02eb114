"""`make bench`: every benchmark of the project, one figure per line.

Cold start first: the import time of each handler module in a fresh interpreter
(`python -X importtime`, median of 5), against `import boto3` alone. Then every
`bench/*_bench.py`, each printing its own figures.
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
RUNS = 5
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


def import_ms(module: str) -> float:
    """Cumulative import time of `module` (and all it imports), in a fresh interpreter."""
    samples = []
    for _ in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            env=ENV, cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        top = [
            int(m.group(1))
            for m in re.finditer(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", done.stderr, re.M)
            if m.group(2).strip() == module
        ]
        samples.append(top[-1] / 1000)
    return statistics.median(samples)


def cold_imports() -> None:
    boto3_ms = import_ms("boto3")
    print(f"cold_import.boto3: {boto3_ms:.0f} ms")
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        module = f"functions.{app.parent.name}.app"
        ms = import_ms(module)
        print(f"cold_import.{app.parent.name}: {ms:.0f} ms ({ms / boto3_ms:.2f}x boto3)")


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
    for script in sorted((ROOT / "bench").glob("*_bench.py")):
        sys.stdout.flush()
        subprocess.run([sys.executable, str(script)], env=ENV, cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
