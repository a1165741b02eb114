"""`tidewater summary FILE.json`: the offline entry point to the summary engine."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidewater_local.cli", "summary", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_day_of_readings_in_mgdl_in_any_order(tmp_path: Path) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    # 90.07795 mg/dL is 5.0 mmol/L; the other types in the file are ignored.
    datums = [
        {
            "type": "cbg",
            "units": "mg/dL",
            "value": 90.07795,
            "deviceId": "d",
            "time": (start + timedelta(minutes=5 * n)).isoformat().replace("+00:00", "Z"),
        }
        for n in reversed(range(288))
    ]
    datums.append(
        {
            "type": "bolus",
            "subType": "normal",
            "normal": 1,
            "deviceId": "p",
            "time": "2026-03-01T10:00:00Z",
        }
    )
    path = tmp_path / "datums.json"
    path.write_text(json.dumps(datums))
    done = _run(str(path))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    day = summary["cgm"]["periods"]["1d"]
    assert day["total"]["records"] == 288 and day["timeCGMUsePercent"] == 1.0
    assert day["glucoseManagementIndicator"] == 5.5
    assert day["inTarget"]["percent"] == 1.0
    assert summary["bgm"] == {"dates": {}, "periods": {}}


def test_a_missing_or_malformed_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = _run(str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    (tmp_path / "bad.json").write_text("{not json")
    bad = _run(str(tmp_path / "bad.json"))
    assert bad.returncode == 1 and "not JSON" in bad.stderr and "Traceback" not in bad.stderr
