"""The speculative prefill: a cell run through the server has the next suggestion's prompt
evaluated into the real local model before anyone asks, so the suggestion reads none of
it again; and the background worker's queue keeps only the newest position."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from cairn.llm._local import LocalModel
from cairn.server._prefill import Prefill

from .._wait import wait_until
from ._server import CAIRN, TOKEN, Server

RUNBOOK = """# Check the payments service

List the pods of the checkout API.

```sh {"name":"pods","interactive":"false"}
echo "checkout-api-7d9f  1/1  Running  3  2d"
```

Read the logs of the pod that restarted.

```sh {"name":"logs","interactive":"false"}
kubectl -n payments logs checkout-api-7d9f --since=15m
```
"""


@pytest.fixture
def local_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    root = tmp_path / "books"
    root.mkdir()
    (root / "worker.md").write_text(RUNBOOK)
    server = Server(root, tmp_path / "cfg", model="local", prefill=request.param)
    yield server
    server.close()


def _run(server: Server, cell: str) -> list[dict[str, Any]]:
    messages = []
    with connect(
        f"ws://127.0.0.1:{server.port}/v1/execute",
        additional_headers={"Authorization": f"Bearer {TOKEN}"},
        proxy=None,
    ) as ws:
        ws.send(json.dumps({"path": "worker.md", "cell": cell}))
        try:
            while True:
                messages.append(json.loads(ws.recv(timeout=30)))
        except ConnectionClosed:
            pass
    return messages


def _suggestion(server: Server, after: str) -> dict[str, Any]:
    status, events = server.suggest(path="worker.md", after=after)
    assert status == 200
    found = [d for k, d in events if k == "suggestion"]
    assert found, events  # greedy decoding: the same reply every time
    return found[0]


@pytest.mark.parametrize("local_server", [True], indirect=True)
def test_after_a_run_the_suggestion_finds_its_prompt_evaluated(local_server: Server) -> None:
    LocalModel()._load().llm.reset()  # nothing of this runbook in the cache
    ran = _run(local_server, "pods")
    assert next(m for m in ran if m["type"] == "exited")["exit_code"] == 0
    prefill = local_server.app.state.cairn.prefill
    assert prefill is not None and prefill.wait_idle(60)
    assert (prefill.stats.runs, prefill.stats.failures) == (1, 0), prefill.stats
    assert prefill.stats.tokens > 50  # the whole prompt: the runbook and the run's output
    suggestion = _suggestion(local_server, "pods")
    assert suggestion["prompt_tokens"] == suggestion["cached_tokens"] > 50


@pytest.mark.parametrize("local_server", [False], indirect=True)
def test_without_prefill_the_suggestion_reads_its_prompt(local_server: Server) -> None:
    LocalModel()._load().llm.reset()
    _run(local_server, "pods")
    assert local_server.app.state.cairn.prefill is None
    suggestion = _suggestion(local_server, "pods")
    assert suggestion["cached_tokens"] == 0 < suggestion["prompt_tokens"]


LEARNED_FROM = RUNBOOK.replace(
    "kubectl -n payments logs checkout-api-7d9f --since=15m",
    'echo "GET /pay 502 upstream reset"',
) + (
    "\nRestart the pod.\n\n"
    '```sh {"name":"restart","interactive":"false"}\necho "pod checkout-api-7d9f deleted"\n```\n'
)


def test_the_prefill_evaluates_the_prompt_with_its_learned_examples(tmp_path: Path) -> None:
    """The prefill builds its prompt as the suggestion does, adapted learned examples
    included: the suggestion finds every token of it evaluated."""
    cfg = tmp_path / "cfg"
    (tmp_path / "earlier.md").write_text(LEARNED_FROM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    for args in (
        ["run", "--all", "--file", str(tmp_path / "earlier.md")],
        ["learn", "--embedder", "hash"],
    ):
        done = subprocess.run(
            [CAIRN, *args, "--config-dir", str(cfg)], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
    root = tmp_path / "books"
    root.mkdir()
    (root / "worker.md").write_text(RUNBOOK)
    server = Server(root, cfg, model="local", prefill=True)
    try:
        learning = server.app.state.cairn.learning
        assert learning is not None and wait_until(lambda: learning.ready, 30)
        LocalModel()._load().llm.reset()
        _run(server, "pods")
        prefill = server.app.state.cairn.prefill
        assert prefill is not None and prefill.wait_idle(60)
        assert (prefill.stats.runs, prefill.stats.failures) == (1, 0), prefill.stats
        suggestion = _suggestion(server, "pods")
    finally:
        server.close()
    assert suggestion["examples"] > 0
    assert suggestion["prompt_tokens"] == suggestion["cached_tokens"] > 50


def _ready(model: object) -> SimpleNamespace:
    return SimpleNamespace(model=model, prompt=SimpleNamespace(request="the request"))


class _Prefilling:
    """A model with a prefill that records what it was given."""

    def __init__(self) -> None:
        self.requests: list[object] = []

    def prefill(self, request: object) -> int:
        self.requests.append(request)
        return 42


def test_only_the_newest_waiting_position_is_prefilled() -> None:
    gate = threading.Event()
    asked: list[tuple[str, str]] = []
    model = _Prefilling()

    def prepare(path: str, cell: str) -> SimpleNamespace:
        asked.append((path, cell))
        gate.wait(10)
        return _ready(model)

    prefill = Prefill(prepare)
    prefill.after_run("a.md", "one")
    assert not prefill.wait_idle(0.2)  # the first is under way, held at the gate
    prefill.after_run("a.md", "two")
    prefill.after_run("a.md", "three")  # replaces "two" before its turn
    gate.set()
    assert prefill.wait_idle(10)
    assert asked == [("a.md", "one"), ("a.md", "three")]
    assert (prefill.stats.runs, prefill.stats.tokens, prefill.stats.skipped) == (2, 84, 1)
    prefill.stop()


def test_a_failing_prefill_is_counted_and_the_next_one_runs() -> None:
    model = _Prefilling()

    def prepare(path: str, cell: str) -> SimpleNamespace:
        if cell == "bad":
            raise ValueError("no such cell")
        return _ready(model)

    prefill = Prefill(prepare)
    prefill.after_run("a.md", "bad")
    assert prefill.wait_idle(10)
    prefill.after_run("a.md", "good")
    assert prefill.wait_idle(10)
    assert (prefill.stats.failures, prefill.stats.runs) == (1, 1)
    assert prefill.stats.last_error == "ValueError: no such cell"
    assert model.requests == ["the request"]
    prefill.stop()


def test_a_model_without_a_local_cache_is_skipped_and_stop_ends_the_worker() -> None:
    prefill = Prefill(lambda path, cell: _ready(object()))
    prefill.after_run("a.md", "one")
    assert prefill.wait_idle(10)
    assert (prefill.stats.runs, prefill.stats.skipped) == (0, 1)
    prefill.stop()
    prefill.after_run("a.md", "two")  # after stop: ignored
    assert prefill.wait_idle(1) and prefill.stats.skipped == 1
