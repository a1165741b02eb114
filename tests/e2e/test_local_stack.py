"""The local stack over real HTTP, as `make run` starts it."""

from __future__ import annotations

import socket

from tests.e2e.conftest import start_stack, stop_stack


def test_status_over_http(stack) -> None:
    reply = stack.request("GET", "/status")
    assert reply.status == 200
    assert reply.json()["status"] == "ok"
    assert reply.headers["Content-Type"] == "application/json"


def test_an_undeclared_route_is_not_found(stack) -> None:
    assert stack.request("GET", "/v9/nothing").status == 404


def test_a_body_over_the_lambda_limit_is_refused_with_413(stack) -> None:
    reply = stack.request("POST", "/status", b"x" * (6 * 1024 * 1024 + 1))
    assert reply.status == 413
    assert reply.json()["errors"][0]["status"] == "413"


def test_scheduled_functions_can_be_run_now(stack) -> None:
    reply = stack.request("POST", "/_local/invoke/summarize")
    assert reply.status == 200 and reply.json()["failed"] == 0
    assert stack.request("POST", "/_local/invoke/nothing").status == 404


def test_stopping_leaves_no_process_and_no_listener(tmp_path) -> None:
    running = start_stack(tmp_path)
    port = int(running.url.rsplit(":", 1)[1])
    output = stop_stack(running)
    assert running.process.returncode == 0
    assert "saved" in output
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert (tmp_path / "snapshot.json").exists()
