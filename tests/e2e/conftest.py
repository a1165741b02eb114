"""One local stack per test session, started as a user starts it, and driven over HTTP."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Stack:
    url: str
    process: subprocess.Popen[str]

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())


START_SECONDS = 180


def start_stack(data_dir: Path | None = None, *extra: str) -> Stack:
    port = free_port()
    persist = ["--data-dir", str(data_dir)] if data_dir else ["--no-persist"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tidewater_local.cli",
            "local",
            "--port",
            str(port),
            *persist,
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stack = Stack(f"http://127.0.0.1:{port}", process)
    # A demo stack uploads and summarises seven patients' CGM before it answers: on two
    # cores shared with the rest of the suite, that can take more than a minute.
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited: {process.stdout.read()}")  # type: ignore[union-attr]
        try:
            if stack.request("GET", "/status").status == 200:
                return stack
        except OSError:
            time.sleep(0.2)
    stop_stack(stack)
    raise RuntimeError(f"the local stack did not answer within {START_SECONDS} s")


def stop_stack(stack: Stack) -> str:
    """Ctrl-C's equivalent; returns what the stack printed."""
    stack.process.send_signal(signal.SIGINT)
    try:
        output, _ = stack.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        output, _ = stack.process.communicate()
        raise
    return output


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    running = start_stack(None, "--demo", "--no-demo-data")
    yield running
    stop_stack(running)


DEMO_PASSWORD = "Tidewater-demo-1"


@dataclass(frozen=True)
class Session:
    """A signed-in demo user: `headers` carry the session token."""

    email: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Tidepool-Session-Token": self.token}


def login(stack: Stack, email: str, password: str = DEMO_PASSWORD) -> Session:
    basic = base64.b64encode(f"{email}:{password}".encode()).decode()
    reply = stack.request("POST", "/auth/login", headers={"Authorization": f"Basic {basic}"})
    assert reply.status == 200, reply.body
    return Session(email, reply.json()["userId"], reply.headers["X-Tidepool-Session-Token"])


@pytest.fixture(scope="session")
def alice(stack: Stack) -> Session:
    return login(stack, "alice@tidewater.test")


@pytest.fixture(scope="session")
def bob(stack: Stack) -> Session:
    return login(stack, "bob@tidewater.test")


@pytest.fixture(scope="session")
def clinician(stack: Stack) -> Session:
    return login(stack, "carol@tidewater.test")
