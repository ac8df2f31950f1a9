"""`POST /v1/suggest` on a real uvicorn server: server-sent events, the request the model
got (the real `openai` SDK against the fake server), bad input, a failing model, and the
background learner feeding examples into the prompt."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn import learnlog

from .._wait import wait_until
from ..llm.fake_openai import Behaviour, FakeOpenAI
from ._server import CAIRN, Server

RUNBOOK = """# Restart the queue worker

Check the worker's pods first.

```sh {"name":"pods","interactive":"false"}
echo "queue-worker-7d9 CrashLoopBackOff"
```

Read why it crashed.

```sh {"name":"logs","interactive":"false"}
echo "panic: cannot connect to redis" >&2; exit 1
```

Restart it.
"""

# A Runme client's notebook: VS Code output items, UI state among them.
VSCODE_NOTEBOOK: dict[str, Any] = {
    "cells": [
        {"kind": 1, "value": "# Disk check", "languageId": "markdown"},
        {
            "kind": 2,
            "value": "df -h /var",
            "languageId": "sh",
            "metadata": {"interactive": "true", "name": "df"},
            "outputs": [
                {
                    "items": [
                        {"mime": "stateful.runme/terminal", "data": {"secret-ui": "xterm-state"}},
                        {"mime": "stateful.runme/output-items", "data": "UI-ONLY-ITEMS"},
                        {
                            "mime": "application/vnd.code.notebook.stdout",
                            "data": "\x1b[1m/dev/sdb1 91% /var\x1b[0m\n",
                        },
                        {"mime": "image/png", "data": "iVBORw0KGgo="},
                    ],
                    "metadata": {"runme.dev/exitCode": 0},
                }
            ],
        },
    ]
}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def make_server(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Server]]:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-server-0123456789")
    root = tmp_path / "books"
    root.mkdir()
    (root / "worker.md").write_text(RUNBOOK)
    started: list[Server] = []

    def start(**options: Any) -> Server:
        server = Server(root, tmp_path / "cfg", model="openai:gpt-4o-mini", **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def _prompt(fake: FakeOpenAI) -> str:
    chats = [s for s in fake.seen if s.path.endswith("/chat/completions")]
    return "\n".join(m["content"] for m in chats[-1].body["messages"])


def test_a_suggestion_streams_as_events_and_is_logged(
    make_server: Callable[..., Server], fake: FakeOpenAI, tmp_path: Path
) -> None:
    server = make_server()
    fake.script.append(
        Behaviour(text="Restart it.\n\n```sh\nkubectl rollout restart deploy/queue-worker\n```")
    )
    status, events = server.suggest(path="worker.md")
    assert status == 200
    kinds = [k for k, _ in events]
    assert kinds == ["suggestion", "done"]  # n=1: the best candidate
    (suggestion,) = [d for k, d in events if k == "suggestion"]
    code = [c for c in suggestion["cells"] if c["kind"] == "code"]
    assert code[0]["source"] == "kubectl rollout restart deploy/queue-worker\n"
    assert suggestion["model"] == "openai:gpt-4o-mini"
    assert suggestion["source"] == "model" and suggestion["sources"] == ["model"]
    assert 0 < suggestion["confidence"] < 1
    assert suggestion["confident"] is (suggestion["confidence"] >= events[-1][1]["threshold"])
    prompt = _prompt(fake)
    assert "Restart it." in prompt and "Check the worker's pods first." in prompt

    learnlog.flush()
    logged = [e for _, e in learnlog.read_events(tmp_path / "cfg" / "logs")]
    (generated,) = [e for e in logged if e["type"] == "suggestion.generated"]
    assert generated["trace_id"] == suggestion["trace_id"]
    assert generated["notebook_path"] == str((tmp_path / "books" / "worker.md").resolve())
    assert generated["cells"][-1]["id"] == code[0]["id"]
    assert generated["source"] == "model" and generated["sources"] == ["model"]
    assert generated["confidence"] == suggestion["confidence"]


def test_the_model_alone_is_not_confident_and_done_says_so_plainly(
    make_server: Callable[..., Server], fake: FakeOpenAI
) -> None:
    """Nothing learned: the model's cell and the runbook's earlier cells are the only
    candidates, none good enough to show; every one is sent, distinct, with its flag."""
    server = make_server()
    fake.script.append(Behaviour(text="```sh\nkubectl rollout restart deploy/queue-worker\n```"))
    status, events = server.suggest(path="worker.md", n=5)
    assert status == 200
    suggestions = [d for k, d in events if k == "suggestion"]
    kind, done = events[-1]
    assert kind == "done"
    texts = [d["cells"][-1]["source"] for d in suggestions]
    assert len(texts) == len(set(texts)) == done["found"] == 3  # the model's, 2 runbook cells
    assert [d["source"] for d in suggestions].count("runbook") == 2
    assert not any(d["confident"] for d in suggestions) and done["confident"] is False
    best = suggestions[0]
    assert done["message"] == (
        "no suggestion good enough: the best, from the model, has confidence"
        f" {best['confidence']:.2f} (a suggestion needs {done['threshold']:.2f})"
    )


def test_outputs_of_cells_run_before_reach_the_model(
    make_server: Callable[..., Server], fake: FakeOpenAI, tmp_path: Path
) -> None:
    book = tmp_path / "books" / "worker.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    for cell, code in (("pods", 0), ("logs", 1)):
        ran = subprocess.run(
            [CAIRN, "run", cell, "--file", str(book), "--config-dir", str(tmp_path / "cfg")],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert ran.returncode == code, ran.stderr
    server = make_server()
    fake.script.append(Behaviour(text="```sh\nredis-cli -h redis ping\n```"))
    status, events = server.suggest(path="worker.md", after="logs")
    assert status == 200 and events[-1][0] == "done"
    prompt = _prompt(fake)
    assert "queue-worker-7d9 CrashLoopBackOff" in prompt
    assert "panic: cannot connect to redis" in prompt
    assert "exit code: 1" in prompt
    assert "Restart it." not in prompt  # after the cursor


def test_a_runme_notebook_gives_its_text_outputs_and_no_ui_state(
    make_server: Callable[..., Server], fake: FakeOpenAI
) -> None:
    server = make_server()
    fake.script.append(Behaviour(text="```sh\ndu -xh /var | sort -h | tail\n```"))
    status, events = server.suggest(notebook=VSCODE_NOTEBOOK)
    assert status == 200 and events[-1][0] == "done", events
    prompt = _prompt(fake)
    assert "/dev/sdb1 91% /var" in prompt and "exit code: 0" in prompt
    for leaked in ("stateful.runme", "xterm-state", "UI-ONLY-ITEMS", "iVBORw0KGgo", "\x1b["):
        assert leaked not in prompt


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 422, "exactly one of"),
        ({"path": "worker.md", "notebook": VSCODE_NOTEBOOK}, 422, "exactly one of"),
        ({"path": "missing.md"}, 404, "missing.md"),
        ({"path": "../outside.md"}, 400, ""),
        ({"path": "worker.md", "after": "no-such-cell"}, 404, "no-such-cell"),
        ({"notebook": VSCODE_NOTEBOOK, "after": "7"}, 400, "below 2"),
        ({"notebook": {"cells": "nope"}}, 422, "cells"),
        ({"notebook": {"cells": [{"kind": 9}]}}, 422, "kind"),
        ({"path": "worker.md", "n": 9}, 422, ""),
        ({"path": "worker.md", "model": "nosuch:model"}, 400, "nosuch"),
        ({"path": "worker.md", "model": "local:/etc/shadow"}, 400, "openai:gpt-4o-mini"),
    ],
)
def test_bad_requests_are_refused_before_any_model_call(
    make_server: Callable[..., Server],
    fake: FakeOpenAI,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    server = make_server()
    got, events = server.suggest(**body)
    assert got == status, events
    assert message in json.dumps(events[0][1])
    assert not [s for s in fake.seen if s.path.endswith("/chat/completions")]


@pytest.mark.parametrize(
    "model", ["local:/etc/shadow", "local:../../../etc/passwd", "openai:gpt-4o", "anthropic"]
)
def test_a_client_may_only_name_a_model_the_server_offers(
    make_server: Callable[..., Server], fake: FakeOpenAI, model: str
) -> None:
    server = make_server()
    got, events = server.suggest(path="worker.md", model=model)
    assert got == 400, events
    message = events[0][1]["detail"]
    assert "GGUF" not in message and "cannot load" not in message and "not found" not in message
    assert "choose one of" in message
    offered = message.split("choose one of ")[1]
    assert "openai:gpt-4o-mini" in offered and "local" in offered
    assert "/" not in offered  # names, never a file
    assert not [s for s in fake.seen if s.path.endswith("/chat/completions")]


def test_models_configured_in_cairn_toml_can_be_chosen_by_name(
    make_server: Callable[..., Server], fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "cairn.toml").write_text('[llm.openai]\nmodel = "llama3.2"\n')
    server = make_server()
    fake.script.append(Behaviour(text="```sh\nkubectl get pods\n```"))
    status, events = server.suggest(path="worker.md", model="openai:llama3.2")
    assert status == 200 and events[-1][0] == "done", events
    chats = [s for s in fake.seen if s.path.endswith("/chat/completions")]
    assert chats[-1].body["model"] == "llama3.2"
    fake.script.append(Behaviour(text="```sh\nkubectl get pods\n```"))
    status, events = server.suggest(path="worker.md", model="openai:gpt-4o-mini")  # the default
    assert status == 200 and events[-1][0] == "done", events


def test_a_local_model_file_is_offered_by_name_not_by_path(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    root = tmp_path / "books"
    root.mkdir()
    (root / "worker.md").write_text(RUNBOOK)
    model_file = tmp_path / "models" / "tiny.gguf"
    server = Server(root, tmp_path / "cfg", model=f"local:{model_file}")
    try:
        got, events = server.suggest(path="worker.md", model="openai:gpt-5")
    finally:
        server.close()
    assert got == 400, events
    message = events[0][1]["detail"]
    assert "local:tiny" in message
    assert str(tmp_path) not in message


def test_health_answers_while_a_suggestion_for_a_big_runbook_is_made(
    make_server: Callable[..., Server], fake: FakeOpenAI, tmp_path: Path
) -> None:
    block = '## Step {i}\n\nWhat step {i} does.\n\n```sh {{"name":"s{i}"}}\necho {i}\n```\n\n'
    text = "".join(block.format(i=i) for i in range(50_000))  # seconds to parse
    (tmp_path / "books" / "big.md").write_text(text)
    server = make_server()
    fake.script.append(Behaviour(text="```sh\necho next\n```"))
    done: list[tuple[int, list[tuple[str, dict[str, Any]]]]] = []
    slow = threading.Thread(target=lambda: done.append(server.suggest(path="big.md", after="s1")))
    answered: list[float] = []
    with server.http(token=None) as client:
        started = time.monotonic()
        slow.start()
        while slow.is_alive():
            asked = time.monotonic()
            assert client.get("/health").status_code == 200
            answered.append(time.monotonic() - asked)
    took = time.monotonic() - started
    ((status, events),) = done
    assert status == 200 and events[-1][0] == "done", events
    assert len(answered) >= 3, f"{len(answered)} answers in {took:.2f} s"
    assert max(answered) < took / 3, f"/health took {max(answered):.3f} s of {took:.3f} s"


def test_the_token_is_required(make_server: Callable[..., Server]) -> None:
    server = make_server()
    with server.http(token=None) as client:
        assert client.post("/v1/suggest", json={"path": "worker.md"}).status_code == 401


PROSE_ONLY = "# Restart the queue worker\n\nNothing has run yet: what first?\n"


@pytest.mark.parametrize(
    ("behaviour", "timeout", "status", "message"),
    [
        (Behaviour(kind="status", status=400), 30.0, 502, "400"),
        (Behaviour(text="Sorry, I can't help."), 30.0, 502, "without a code cell"),
        (Behaviour(text=""), 30.0, 502, "without a code cell"),
        (Behaviour(text="```sh\nls\n```", first_token_delay=3.0), 0.5, 504, "did not answer"),
    ],
)
def test_a_failing_model_with_nothing_else_ends_the_stream_with_an_error(
    make_server: Callable[..., Server],
    fake: FakeOpenAI,
    tmp_path: Path,
    behaviour: Behaviour,
    timeout: float,
    status: int,
    message: str,
) -> None:
    """No code cell before the cursor and nothing learned: the model is the only source."""
    (tmp_path / "books" / "prose.md").write_text(PROSE_ONLY)
    server = make_server()
    fake.script.append(behaviour)
    got, events = server.suggest(path="prose.md", timeout=timeout)
    assert got == 200
    kind, data = events[-1]
    assert kind == "error" and data["status"] == status and message in data["message"], events
    fake.script.append(Behaviour(text="```sh\nkubectl get pods -n queue\n```"))
    again, events = server.suggest(path="worker.md")
    assert again == 200 and events[-1][0] == "done"


@pytest.mark.parametrize(
    ("behaviour", "timeout", "status", "message"),
    [
        (Behaviour(kind="status", status=400), 30.0, 502, "400"),
        (Behaviour(text="```sh\nls\n```", first_token_delay=3.0), 0.5, 504, "did not answer"),
    ],
)
def test_a_failing_model_leaves_the_other_candidates_and_done_says_why(
    make_server: Callable[..., Server],
    fake: FakeOpenAI,
    behaviour: Behaviour,
    timeout: float,
    status: int,
    message: str,
) -> None:
    server = make_server()
    fake.script.append(behaviour)
    got, events = server.suggest(path="worker.md", timeout=timeout, n=3)
    assert got == 200
    kind, done = events[-1]
    assert kind == "done", events
    assert done["model_error"]["status"] == status and message in done["model_error"]["message"]
    suggestions = [d for k, d in events if k == "suggestion"]
    assert [d["source"] for d in suggestions] == ["runbook", "runbook"]
    assert done["confident"] is False and "no suggestion good enough" in done["message"]


def test_the_servers_model_calls_are_recorded_by_default(
    make_server: Callable[..., Server],
    fake: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CAIRN_RECORD", raising=False)
    cfg = tmp_path / "cfg"
    server = make_server()
    fake.script.append(Behaviour(text="```sh\nredis-cli -h redis ping\n```"))
    status, events = server.suggest(path="worker.md")
    assert status == 200 and events[-1][0] == "done", events
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}

    def runs() -> list[dict[str, Any]]:
        out = subprocess.run(
            [CAIRN, "debug", "runs", "--json", "--config-dir", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]  # one run a line

    assert wait_until(lambda: runs(), 30), "no run recorded"
    (run,) = runs()
    assert run["kind"] == "suggestion"
    tree = subprocess.run(
        [CAIRN, "debug", "export", run["id"], "--config-dir", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert "redis-cli -h redis ping" in tree.stdout  # the reply, as the model sent it
    assert "Check the worker's pods first." in tree.stdout  # the prompt


def test_the_background_learner_feeds_examples_into_the_prompt(
    make_server: Callable[..., Server], fake: FakeOpenAI, tmp_path: Path
) -> None:
    server = make_server(learn=True, embedder="hash", learn_interval=0.1)
    book = tmp_path / "books" / "worker.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    for cell in ("pods", "logs"):  # the second run settles the first: it is learned
        subprocess.run(
            [CAIRN, "run", cell, "--file", str(book), "--config-dir", str(tmp_path / "cfg")],
            capture_output=True,
            timeout=60,
            env=env,
        )
    learning = server.app.state.cairn.learning
    assert learning is not None

    # Another runbook at the same point as the first cell: its example should come back.
    (tmp_path / "books" / "next.md").write_text(RUNBOOK.split("```")[0])

    def learned() -> bool:
        fake.script.append(Behaviour(text="```sh\necho next\n```"))
        _, events = server.suggest(path="next.md")
        return any(k == "suggestion" and d["examples"] > 0 for k, d in events)

    assert wait_until(learned, 30), f"nothing learned (passes: {learning.passes}, {learning.error})"
    prompt = _prompt(fake)
    assert "Examples" in prompt
    assert 'echo "queue-worker-7d9 CrashLoopBackOff"' in prompt.split("## Notebook")[0]
