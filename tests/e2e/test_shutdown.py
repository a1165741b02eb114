"""A SIGTERM while an upload is under way: the upload is answered, what it stored is in the
snapshot a restart loads, and the process is gone within 10 s."""

from __future__ import annotations

import json
import signal
import socket
import time
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import Stack, login, start_stack, stop_stack
from tidewater.domain.timeutil import format_utc

DATUMS = 600  # enough to be under way a while; few enough for a loaded machine


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """An HTTP head (up to its blank line) and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _until(stack: Stack, text: str) -> None:
    while True:
        line = stack.process.stdout.readline()  # type: ignore[union-attr]
        assert line, f"the stack ended before printing {text!r}"
        if text in line:
            return


def test_sigterm_during_an_upload_answers_it_saves_it_and_exits_within_10_s(tmp_path) -> None:
    first = start_stack(tmp_path, "--demo", "--no-demo-data", "--no-schedules")
    _until(first, "Press Ctrl-C")
    alice = login(first, "alice@tidewater.test")
    created = first.request("POST", f"/v1/users/{alice.user_id}/datasets",
                            {"client": {"name": "org.example.e2e", "version": "1"}},
                            alice.headers)  # fmt: skip
    assert created.status == 201
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)
    body = json.dumps([{"type": "cbg", "units": "mg/dL", "value": 100 + i % 50, "deviceId": "E2E",
                        "time": format_utc(start + timedelta(minutes=5 * i))}
                       for i in range(DATUMS)]).encode()  # fmt: skip
    port = int(first.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        # The head first, with Expect: 100-continue: once the stack says to go on, the
        # request is under way, and the body follows only after the stack has begun to stop.
        sock.sendall(
            f"POST /v1/datasets/{created.json()['data']['id']}/data HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"X-Tidepool-Session-Token: {alice.token}\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        head, rest = _read_head(sock)
        assert head.startswith(b"HTTP/1.1 100"), head
        first.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        _until(first, "Stopping")
        sock.sendall(body)
        head, rest = _read_head(sock)
        assert head.split(b" ")[1] == b"200", head
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))  # fmt: skip
        while len(rest) < length:
            rest += sock.recv(65536)
        assert b"connection: close" in head.lower()
    first.process.wait(timeout=max(0.1, 10 - (time.monotonic() - signalled)))
    assert time.monotonic() - signalled < 10
    assert first.process.returncode == 0

    second = start_stack(tmp_path, "--no-schedules")
    try:
        alice = login(second, "alice@tidewater.test")
        data = second.request("GET", f"/v1/users/{alice.user_id}/data?type=cbg&limit=5000",
                              None, alice.headers)  # fmt: skip
        assert data.status == 200
        assert len(data.json()["data"]) == DATUMS
    finally:
        stop_stack(second)
