"""A real uvicorn server on 127.0.0.1 in a thread, real HTTP and WebSocket clients, and
the learning log read back from its JSONL files."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from cairn import learnlog
from cairn.server import ServerConfig, create_app, listen

from .._wait import wait_until

TOKEN = "test-token-" + "x" * 20
CELL_ID = "01JBZQ4K7W3Y8R5T2N6M9P0XSV"

RUNBOOK = f"""\
---
shell: bash
---

# Operations

```sh {{"name":"hello","id":"{CELL_ID}","interactive":"false"}}
export GREETING=hello
echo "$GREETING out"
echo "$GREETING err" >&2
```

```sh {{"name":"ask","interactive":"true"}}
read -r -p "name? " who
echo "hi $who"
```

```sh {{"name":"size","interactive":"true"}}
read -r _
stty size
```

```sh {{"name":"slow","interactive":"false"}}
echo started
sleep 60
```

```sh {{"name":"count","interactive":"false"}}
for i in $(seq 1 2000); do echo "line $i"; done
echo "done" >&2
```

```sh {{"name":"show-greeting","interactive":"false"}}
echo "greeting=${{GREETING:-unset}}"
```
"""


def read_events(log_dir: Path) -> list[dict[str, Any]]:
    """Every event in the learning log's JSONL files (a torn last line is skipped)."""
    events = []
    for path in sorted(log_dir.rglob("*.jsonl*")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def executed_events(log_dir: Path) -> list[dict[str, Any]]:
    return [e for e in read_events(log_dir) if e.get("type") == "cell.executed"]


@dataclass
class Served:
    """A running server and how to reach it."""

    port: int
    root: Path
    config_dir: Path
    runbook: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.config_dir / "logs"

    def http(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, trust_env=False, timeout=30)

    def ws(
        self, *, token: str | None = TOKEN, origin: str | None = None, query_token: bool = False
    ) -> ClientConnection:
        url = f"ws://127.0.0.1:{self.port}/v1/execute"
        headers = {}
        if token and query_token:
            url += f"?token={token}"
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        return connect(
            url,
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
            proxy=None,
            open_timeout=10,
        )


@contextmanager
def serve(
    root: Path,
    config_dir: Path,
    *,
    max_executions: int = 8,
    learning_logs: bool = True,
    max_body_bytes: int = 64 << 20,
    store: str | None = None,
    bot: bool = False,
    embedder: str | None = None,
) -> Iterator[int]:
    """Run a server on a free port in a thread; yields the port."""
    learnlog.configure(config_dir, enabled=learning_logs)
    sock = listen("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    config = ServerConfig(
        root=root,
        token=TOKEN,
        port=port,
        max_executions=max_executions,
        max_body_bytes=max_body_bytes,
        store=store,
        bot=bot,
        embedder=embedder,
        config_dir=config_dir if bot else None,
    )
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if not wait_until(lambda: server.started or not thread.is_alive(), timeout=15):
            pytest.fail("the server did not start within 15 s")
        assert server.started, "the server thread died during start-up"
        yield port
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        learnlog.configure(None, enabled=False)
    assert not thread.is_alive(), "the server did not stop"


@pytest.fixture
def make_served(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    root = (tmp_path / "books").resolve()
    root.mkdir()
    runbook = root / "ops.md"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    stack: list[Any] = []

    def start(**kwargs: Any) -> Served:
        config_dir = tmp_path / f"config{len(stack)}"
        ctx = serve(root, config_dir, **kwargs)
        port = ctx.__enter__()
        stack.append(ctx)
        return Served(port, root, config_dir, runbook)

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


@pytest.fixture
def served(make_served: Callable[..., Served]) -> Served:
    return make_served()


@dataclass
class Run:
    """Everything one execute connection received."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    @property
    def started(self) -> dict[str, Any]:
        (started,) = self.of("started")
        return started

    @property
    def exited(self) -> dict[str, Any]:
        (exited,) = self.of("exited")
        return exited

    def output(self, stream: str) -> bytes:
        return b"".join(
            base64.b64decode(m["data"]) for m in self.of("output") if m["stream"] == stream
        )


def collect(ws: ClientConnection, run: Run | None = None, timeout: float = 30) -> Run:
    """Receive until the server closes the connection."""
    run = run or Run()
    deadline = time.monotonic() + timeout
    try:
        while True:
            raw = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
            run.messages.append(json.loads(raw))
    except ConnectionClosed as exc:
        run.close_code = exc.rcvd.code if exc.rcvd is not None else None
    return run


def execute(served: Served, request: dict[str, Any], timeout: float = 30) -> Run:
    with served.ws() as ws:
        ws.send(json.dumps(request))
        return collect(ws, timeout=timeout)


def next_message(ws: ClientConnection, kind: str, timeout: float = 10) -> dict[str, Any]:
    """Skip messages until one of `kind` arrives."""
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=max(0.0, deadline - time.monotonic())))
        if message["type"] == kind:
            return message
