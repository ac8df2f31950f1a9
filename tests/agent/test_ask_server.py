"""`POST /v1/ask` on a real uvicorn server: the assistant's events as server-sent events,
a cell run approved (or denied) over the same session, the token required."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..copilot._server import Server
from ..llm.fake_openai import Behaviour, FakeOpenAI

RUNBOOK = """# Disk

```sh {"name":"check","interactive":"false"}
echo disk-is-fine-42
```
"""


@pytest.fixture
def server(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-server-0123456789")
    root = tmp_path / "books"
    root.mkdir()
    (root / "disk.md").write_text(RUNBOOK)
    started = Server(root, tmp_path / "cfg", model="openai:gpt-4o-mini")
    yield started
    started.close()


def ask(
    server: Server, decide: Callable[[dict[str, Any]], bool | None], **body: Any
) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    with server.http() as client, client.stream("POST", "/v1/ask", json=body) as reply:
        if reply.status_code != 200:
            reply.read()
            return reply.status_code, [("refused", reply.json())]
        kind = ""
        for line in reply.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                events.append((kind, data))
                if kind == "approval":
                    verdict = decide(data)
                    if verdict is not None:
                        with server.http() as other:
                            answer = other.post(
                                f"/v1/ask/{data['session']}/approve",
                                json={"call": data["call"], "approve": verdict, "who": "ana"},
                            )
                            assert answer.status_code == 200, answer.text
    return 200, events


def script(fake: FakeOpenAI) -> None:
    fake.script.extend(
        [
            Behaviour(
                kind="tool",
                tool_name="run_cell",
                tool_arguments='{"file": "disk.md", "cell": "check"}',
            ),
            Behaviour(text="The disk is fine."),
        ]
    )


def test_an_approved_cell_runs_and_the_answer_streams(server: Server, fake: FakeOpenAI) -> None:
    script(fake)
    status, events = ask(server, lambda approval: True, question="is the disk ok?")
    assert status == 200
    kinds = [k for k, _ in events]
    assert kinds[0] == "session" and kinds[-1] == "answer"
    assert kinds.index("tool_started") < kinds.index("approval") < kinds.index("tool_finished")
    (finished,) = [d for k, d in events if k == "tool_finished"]
    assert finished["result"].startswith("exit 0:") and "disk-is-fine-42" in finished["result"]
    text = "".join(d["text"] for k, d in events if k == "text")
    assert text.strip() == "The disk is fine." and events[-1][1]["stopped"] is None


def test_a_denied_cell_does_not_run(server: Server, fake: FakeOpenAI) -> None:
    script(fake)
    status, events = ask(server, lambda approval: False, question="is the disk ok?")
    assert status == 200
    (finished,) = [d for k, d in events if k == "tool_finished"]
    assert finished["error"] and finished["result"].endswith("the user denied it")


def test_bad_requests_are_refused_before_the_stream(server: Server, fake: FakeOpenAI) -> None:
    assert ask(server, lambda a: None, question="")[0] == 422
    status, refused = ask(server, lambda a: None, question="x", path="../etc/passwd")
    assert (status, refused[0][1]) == (400, {"detail": "../etc/passwd: outside the server's root"})
    assert ask(server, lambda a: None, question="x", path="nope.md")[0] == 404
    with server.http(token=None) as client:
        assert client.post("/v1/ask", json={"question": "x"}).status_code == 401
    with server.http() as client:
        late = client.post("/v1/ask/nope/approve", json={"call": "c", "approve": True, "who": "a"})
        assert late.status_code == 404
