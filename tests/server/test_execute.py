"""WS /v1/execute: streamed output, stdin and resize, cancellation, limits, and the
learning-log events every execution leaves behind."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import psutil
import pytest
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed

from .._wait import wait_until as poll
from .conftest import (
    CELL_ID,
    RUNBOOK,
    TOKEN,
    Run,
    Served,
    collect,
    execute,
    executed_events,
    next_message,
    read_events,
    serve,
)


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def _sleeping(pid: int) -> bool:
    """The cell's `sleep 60` has exec'd: a SIGINT sent earlier can be lost while bash
    forks it, and the cell would end by SIGKILL (137) after the grace period."""
    try:
        children = psutil.Process(pid).children(recursive=True)
        return any(c.cmdline() == ["sleep", "60"] for c in children)
    except psutil.NoSuchProcess:
        return False


def test_non_interactive_cell_streams_stdout_and_stderr_apart(served: Served) -> None:
    run = execute(served, {"path": "ops.md", "cell": "hello"})
    assert run.messages[0]["type"] == "started"
    assert run.messages[-1]["type"] == "exited"
    started = run.started
    assert started["pid"] > 0
    assert started["cell"] == {"id": CELL_ID, "name": "hello"}
    assert run.output("stdout") == b"hello out\n"
    assert run.output("stderr") == b"hello err\n"
    assert run.exited == {
        "type": "exited",
        "exit_code": 0,
        "duration_ms": run.exited["duration_ms"],
        "timed_out": False,
        "cancelled": False,
    }
    assert run.close_code == 1000
    (event,) = executed_events(served.log_dir)  # durable before `exited` was sent
    assert event["session_id"] == started["session"]
    assert event["known_id"] == CELL_ID
    assert event["stdout"] == "hello out\n"
    assert event["stderr"] == "hello err\n"
    assert event["env_changed"] == ["GREETING"]
    assert event["notebook_path"] == str(served.runbook)
    types = [e["type"] for e in read_events(served.log_dir)]
    assert types == ["session.started", "cell.started", "cell.executed"]


def test_a_failing_cell_reports_its_exit_code(served: Served) -> None:
    (served.root / "fail.md").write_text(
        '```sh {"name":"boom","interactive":"false"}\necho before\nexit 3\n```\n', encoding="utf-8"
    )
    run = execute(served, {"path": "fail.md", "cell": "boom"})
    assert run.exited["exit_code"] == 3
    assert run.output("stdout") == b"before\n"
    assert executed_events(served.log_dir)[0]["exit_code"] == 3


def test_interactive_cell_gets_a_terminal_and_stdin(served: Served) -> None:
    with served.ws() as ws:
        ws.send(json.dumps({"path": "ops.md", "cell": "ask"}))
        assert next_message(ws, "started")["cell"]["name"] == "ask"
        seen = b""
        while b"name? " not in seen:  # the prompt reaches the client before any input
            message = next_message(ws, "output")
            assert message["stream"] == "pty"
            seen += base64.b64decode(message["data"])
        ws.send(json.dumps({"type": "stdin", "data": base64.b64encode(b"Ada\r").decode()}))
        run = collect(ws)
    seen += run.output("pty")
    assert b"hi Ada" in seen
    assert run.exited["exit_code"] == 0
    event = executed_events(served.log_dir)[0]
    assert event["interactive"] is True
    assert "hi Ada" in event["stdout"]


def test_resize_reaches_the_cells_terminal(served: Served) -> None:
    with served.ws() as ws:
        ws.send(json.dumps({"path": "ops.md", "cell": "size", "rows": 30, "cols": 90}))
        next_message(ws, "started")
        ws.send(json.dumps({"type": "resize", "rows": 41, "cols": 101}))
        ws.send(json.dumps({"type": "stdin", "data": base64.b64encode(b"go\r").decode()}))
        run = collect(ws)
    assert b"41 101" in run.output("pty")


def test_the_initial_window_size_is_the_requested_one(served: Served) -> None:
    with served.ws() as ws:
        ws.send(json.dumps({"path": "ops.md", "cell": "size", "rows": 33, "cols": 77}))
        next_message(ws, "started")
        ws.send(json.dumps({"type": "stdin", "data": base64.b64encode(b"go\r").decode()}))
        run = collect(ws)
    assert b"33 77" in run.output("pty")


def test_bad_control_messages_get_an_error_and_the_cell_goes_on(served: Served) -> None:
    with served.ws() as ws:
        ws.send(json.dumps({"path": "ops.md", "cell": "ask"}))
        next_message(ws, "started")
        ws.send(json.dumps({"type": "stdin", "data": "***"}))
        assert next_message(ws, "error")["status"] == 422
        ws.send(json.dumps({"type": "launch"}))
        assert next_message(ws, "error")["status"] == 422
        ws.send(json.dumps({"type": "stdin", "data": base64.b64encode(b"Bo\r").decode()}))
        run = collect(ws)
    assert run.exited["exit_code"] == 0
    assert run.close_code == 1000


def test_cancel_interrupts_the_cell_with_130(served: Served) -> None:
    with served.ws() as ws:
        ws.send(json.dumps({"path": "ops.md", "cell": "slow"}))
        pid = next_message(ws, "started")["pid"]
        assert poll(lambda: _sleeping(pid))
        ws.send(json.dumps({"type": "cancel"}))
        run = collect(ws)
    assert run.exited["exit_code"] == 130
    assert run.exited["cancelled"] is True
    assert _gone(pid)
    event = executed_events(served.log_dir)[0]
    assert (event["exit_code"], event["cancelled"]) == (130, True)


@pytest.mark.parametrize("how", ["close", "drop"])
def test_a_client_that_disconnects_mid_stream_cancels_the_cell(served: Served, how: str) -> None:
    with served.ws() as ws:
        ws.send(json.dumps({"path": "ops.md", "cell": "slow"}))
        started = next_message(ws, "started")
        assert base64.b64decode(next_message(ws, "output")["data"]) == b"started\n"
        assert poll(lambda: _sleeping(started["pid"]))
        children = psutil.Process(started["pid"]).children(recursive=True)
        if how == "drop":  # the TCP connection just goes away, no close frame
            ws.socket.shutdown(socket.SHUT_RDWR)
    assert poll(lambda: _gone(started["pid"]) and all(_gone(c.pid) for c in children))

    def recorded() -> list[dict[str, Any]]:
        return [e for e in executed_events(served.log_dir) if e["session_id"] == started["session"]]

    assert poll(lambda: bool(recorded()))
    (event,) = recorded()
    assert event["exit_code"] == 130
    assert event["cancelled"] is True
    assert event["stdout"] == "started\n"


def _refused(run: Run, status: int) -> None:
    (error,) = run.of("error")
    assert error["status"] == status
    assert error["message"]
    assert run.close_code == 4000 + status
    assert not run.of("started")


def test_a_cell_runme_shows_as_markup_is_refused_as_cairn_run_refuses_it(
    served: Served,
) -> None:
    (served.root / "diagram.md").write_text(
        "# Flow\n\n```mermaid\ngraph TD; a-->b\n```\n\n"
        '```sh {"name":"off","transform":"false"}\necho never\n```\n'
    )
    for cell in ("graph-td", "off"):
        run = execute(served, {"path": "diagram.md", "cell": cell})
        _refused(run, 400)
        assert "not runnable" in run.of("error")[0]["message"]
    assert executed_events(served.log_dir) == []


def test_bad_requests_are_refused_with_a_status_and_close_code(served: Served) -> None:
    _refused(execute(served, {"path": "ops.md", "cell": "nope"}), 404)
    _refused(execute(served, {"path": "missing.md", "cell": "hello"}), 404)
    _refused(execute(served, {"path": "../ops.md", "cell": "hello"}), 400)
    _refused(execute(served, {"path": "ops.md", "cell": "hello", "session": "nope"}), 404)
    _refused(execute(served, {"path": "ops.md"}), 422)
    _refused(execute(served, {"path": "ops.md", "cell": "hello", "rows": 0}), 422)
    with served.ws() as ws:
        ws.send("not json")
        _refused(collect(ws), 422)
    unknown = execute(served, {"path": "ops.md", "cell": "helo"})
    assert "did you mean 'hello'" in unknown.of("error")[0]["message"]
    assert executed_events(served.log_dir) == []


def test_more_executions_than_the_limit_get_429(make_served: Callable[..., Served]) -> None:
    served = make_served(max_executions=2)
    with served.ws() as first, served.ws() as second:
        for ws in (first, second):
            ws.send(json.dumps({"path": "ops.md", "cell": "slow"}))
            next_message(ws, "started")
        _refused(execute(served, {"path": "ops.md", "cell": "hello"}), 429)
        first.send(json.dumps({"type": "cancel"}))
        assert collect(first).exited["cancelled"] is True  # `exited` comes once the slot is free
        assert execute(served, {"path": "ops.md", "cell": "hello"}).exited["exit_code"] == 0


def test_fifty_concurrent_executions_all_complete_and_are_recorded(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(max_executions=64)
    expected = "".join(f"line {i}\n" for i in range(1, 2001)).encode()

    async def one() -> Run:
        url = f"ws://127.0.0.1:{served.port}/v1/execute"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        run = Run()
        async with aconnect(url, additional_headers=headers, proxy=None) as ws:
            await ws.send(json.dumps({"path": "ops.md", "cell": "count"}))
            try:
                async for raw in ws:
                    run.messages.append(json.loads(raw))
            except ConnectionClosed:
                pass
            run.close_code = ws.close_code
        return run

    async def all_of_them() -> list[Run]:
        return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(50))), 60)

    runs = asyncio.run(all_of_them())
    sessions = set()
    for run in runs:
        assert run.output("stdout") == expected
        assert run.output("stderr") == b"done\n"
        assert run.exited["exit_code"] == 0
        assert run.close_code == 1000
        sessions.add(run.started["session"])
    assert len(sessions) == 50
    events = executed_events(served.log_dir)
    assert len(events) == 50
    assert {e["session_id"] for e in events} == sessions
    for event in events:
        assert event["exit_code"] == 0
        assert event["stdout"] == expected.decode()


def test_stopping_the_server_cancels_running_cells_and_ends_sessions(tmp_path: Path) -> None:
    root = (tmp_path / "books").resolve()
    root.mkdir()
    (root / "ops.md").write_text(RUNBOOK, encoding="utf-8")
    config_dir = tmp_path / "config"
    server: AbstractContextManager[int] | None = serve(root, config_dir)
    assert server is not None
    served = Served(server.__enter__(), root, config_dir, root / "ops.md")
    try:
        done = execute(served, {"path": "ops.md", "cell": "hello"})
        with served.ws() as ws:
            ws.send(json.dumps({"path": "ops.md", "cell": "slow"}))
            started = next_message(ws, "started")
            assert poll(lambda: _sleeping(started["pid"]))
            running, server = server, None
            running.__exit__(None, None, None)  # stop it with the cell still running
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    # The server has stopped: the cell is gone and both sessions were closed in the log.
    assert _gone(started["pid"])
    events = read_events(served.log_dir)
    cancelled = [e for e in events if e["type"] == "cell.executed" and e["exit_code"] == 130]
    assert [e["session_id"] for e in cancelled] == [started["session"]]
    ended = {e["session_id"]: e for e in events if e["type"] == "session.ended"}
    assert set(ended) == {started["session"], done.started["session"]}
    assert ended[done.started["session"]]["cells_run"] == 1
    assert ended[started["session"]]["failures"] == 1
