"""numpy is the summary engine's alone: importing any other function's handler, in a fresh
interpreter as a cold Lambda would, must not load it; computing a summary does."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

NO_NUMPY = ("ingest", "clinic", "auth", "authorizer", "donations", "rights", "export", "summarize")
CHECK = "import sys, functions.{name}.app\n{then}print('numpy' in sys.modules)"
SUMMARY = (
    "from tidewater.domain.summary import summarize\n"
    "summarize([{'type': 'cbg', 'units': 'mg/dL', 'value': 120,"
    " 'time': '2024-01-01T00:00:00.000Z'}])\n"
)
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/core", "local", ".")),
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def numpy_loaded(scripts: dict[str, str]) -> dict[str, bool]:
    """Each script in its own fresh interpreter, all at once: did it load numpy?"""
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", script], env=ENV, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for name, script in scripts.items()
    }
    out = {}
    for name, process in running.items():
        stdout, _ = process.communicate(timeout=120)
        assert process.returncode == 0, name
        out[name] = stdout.strip().splitlines()[-1] == "True"
    return out


def test_no_handler_imports_numpy_until_a_summary_is_computed() -> None:
    scripts = {name: CHECK.format(name=name, then="") for name in NO_NUMPY}
    scripts["summarize, after a summary"] = CHECK.format(name="summarize", then=SUMMARY)
    loaded = numpy_loaded(scripts)
    assert loaded == {**{name: False for name in NO_NUMPY}, "summarize, after a summary": True}
