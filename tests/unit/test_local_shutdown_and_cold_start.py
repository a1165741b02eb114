"""The local stack's front and function loader under concurrency: concurrent first requests
to a cold function all get its answer, and a stop answers the requests under way first."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidewater_local.cfn import Template
from tidewater_local.front import Gateway, HttpFront
from tidewater_local.runtime import Functions, HttpRequest, HttpResponse

# A handler module that takes a while to import (as boto3 and Powertools do) and counts how
# often its body runs. The sleep only widens the window in which a half-imported module
# used to be visible to another request.
SLOW_MODULE = """
import json
import sys
import time
from pathlib import Path

_RUNS = Path(__file__).with_name("runs")
_RUNS.write_text(_RUNS.read_text() + "x" if _RUNS.exists() else "x")
if Path(__file__).with_name("fail-once").exists():
    Path(__file__).with_name("fail-once").unlink()
    raise RuntimeError("the first import fails")
time.sleep(0.3)
ANSWER = {"cold": "no more", "visibleWhileImporting": __name__ in sys.modules}


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(ANSWER)}
"""


@pytest.fixture
def cold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Template, Path]]:
    name = f"cold{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "functions" / name
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(SLOW_MODULE)
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  ColdFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        f"      CodeUri: functions/{name}/\n"
        "      Handler: app.handler\n"
        "      Events:\n"
        "        Get: {Type: HttpApi, Properties: {Path: /cold, Method: get}}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield Template(tmp_path / "template.yaml"), folder
    for module in [m for m in sys.modules if name in m]:
        del sys.modules[module]


def _get(gateway: Gateway) -> HttpResponse:
    return gateway.handle(HttpRequest("GET", "/cold", "", [], b"", "127.0.0.1", "127.0.0.1"))


def _all_at_once(gateway: Gateway, count: int) -> list[HttpResponse]:
    start = threading.Barrier(count)
    answers: list[HttpResponse] = []

    def one() -> None:
        start.wait()
        answers.append(_get(gateway))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def test_twenty_concurrent_first_requests_to_a_cold_function_all_get_its_answer(cold) -> None:
    template, folder = cold
    answers = _all_at_once(Gateway(Functions(template), {}), 20)
    expected = {"cold": "no more", "visibleWhileImporting": False}
    assert [(a.status, json.loads(a.body)) for a in answers] == [(200, expected)] * 20
    assert (folder / "runs").read_text() == "x"  # imported once


def test_a_module_that_failed_to_import_is_not_left_half_made(cold) -> None:
    template, folder = cold
    (folder / "fail-once").write_text("")
    gateway = Gateway(Functions(template), {})
    assert _get(gateway).status == 500  # API Gateway's answer to a function that fails
    assert not [m for m in sys.modules if folder.name in m and m.endswith(".app")]
    assert _get(gateway).status == 200  # the next request imports it afresh, whole
    assert (folder / "runs").read_text() == "xx"


class _Held:
    """A gateway whose /slow request is held until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/slow":
            self.entered.set()
            self.release.wait(10)
        body = json.dumps({"path": request.path, "bytes": len(request.body)}).encode()
        return HttpResponse(200, [("Content-Type", "application/json")], body)


def test_a_stop_answers_the_request_under_way_and_closes_idle_connections() -> None:
    held = _Held()
    front = HttpFront(held, 0, quiet=True)  # type: ignore[arg-type]
    front.start()
    idle = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    idle.request("GET", "/quick")
    assert idle.getresponse().read()  # kept alive, waiting for a next request
    busy = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    busy.request("POST", "/slow", body=b"x" * 1000)
    assert held.entered.wait(10)
    stopped: list[int] = []
    stopper = threading.Thread(target=lambda: stopped.append(front.stop(time.monotonic() + 8)))
    stopper.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the front stops accepting first
        try:
            socket.create_connection(("127.0.0.1", front.port), timeout=1).close()
        except OSError:
            break
    else:
        raise AssertionError("the front kept accepting connections while stopping")
    assert stopper.is_alive()  # ... and waits for the request under way
    held.release.set()
    answer = busy.getresponse()
    assert (answer.status, json.loads(answer.read())) == (200, {"path": "/slow", "bytes": 1000})
    assert answer.getheader("Connection") == "close"
    stopper.join(5)
    assert stopped == [0]  # nothing was still running
    assert idle.sock is not None and idle.sock.recv(1) == b""  # closed by the front


def test_a_request_past_the_deadline_is_counted_not_waited_for() -> None:
    held = _Held()
    front = HttpFront(held, 0, quiet=True)  # type: ignore[arg-type]
    front.start()
    busy = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    busy.request("GET", "/slow")
    assert held.entered.wait(10)
    started = time.monotonic()
    assert front.stop(time.monotonic() + 0.3) == 1
    assert time.monotonic() - started < 2
    held.release.set()
    assert busy.getresponse().status == 200  # it goes on to its end, past the stop
