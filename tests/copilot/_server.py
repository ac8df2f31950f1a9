"""`cairn serve` in a thread for the copilot's server tests: a real uvicorn server on
127.0.0.1 with a token, and a client that reads `/v1/suggest`'s server-sent events."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from cairn import learnlog
from cairn.server import ServerConfig, create_app, listen

from .._wait import wait_until

TOKEN = "suggest-token-" + "y" * 20
CAIRN = str(Path(sys.executable).with_name("cairn"))


class Server:
    def __init__(self, root: Path, config_dir: Path, **options: Any) -> None:
        learnlog.configure(config_dir, enabled=True)
        self.sock = listen("127.0.0.1", 0)
        self.port = int(self.sock.getsockname()[1])
        config = ServerConfig(
            root=root, token=TOKEN, port=self.port, config_dir=config_dir, **options
        )
        self.app = create_app(config)
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        assert wait_until(lambda: self.server.started or not self.thread.is_alive(), 15)
        assert self.server.started

    def http(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers=headers, trust_env=False, timeout=60
        )

    def suggest(self, **body: Any) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        """The status and the (event, data) pairs of one streamed suggestion."""
        events: list[tuple[str, dict[str, Any]]] = []
        with self.http() as client, client.stream("POST", "/v1/suggest", json=body) as reply:
            if reply.status_code != 200:
                reply.read()
                return reply.status_code, [("refused", reply.json())]
            assert reply.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in reply.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.append((kind, json.loads(line.removeprefix("data: "))))
        return 200, events

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
        learnlog.configure(None, enabled=False)
        assert not self.thread.is_alive(), "the server did not stop"
