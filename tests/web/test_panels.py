"""The page's panels in Chromium: Ask (the assistant's answer streams in, a cell run is
approved inline), Actions (the bot's action log: a diff, Approve, the decider's name
recorded), Debug (the recorded turn, as `cairn debug show` prints it), and a panel whose
backend is missing saying so."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from cairn.bot import ActionLog
from cairn.server import ServerConfig, create_app, listen

from .._wait import wait_until
from ..copilot._server import TOKEN, Server
from ..llm.fake_openai import Behaviour, FakeOpenAI
from .conftest import RUNBOOK, screenshot


@pytest.fixture
def assistant_server(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-panels-0123456789")
    root = tmp_path / "books"
    root.mkdir()
    (root / "checks.md").write_text(RUNBOOK)
    started = Server(root, tmp_path / "cfg", model="openai:gpt-4o-mini")
    yield started
    started.close()


def _open(page: Page, server: Server, panel: str) -> None:
    page.goto(f"http://127.0.0.1:{server.port}/?token={TOKEN}")
    page.evaluate("localStorage.setItem('cairn.who', 'ana')")
    page.click(f'#tabs button[data-panel="{panel}"]')


def test_ask_streams_the_answer_and_asks_before_running_a_cell(
    page: Page, assistant_server: Server, fake: FakeOpenAI
) -> None:
    fake.script.extend(
        [
            Behaviour(
                kind="tool",
                tool_name="run_cell",
                tool_arguments='{"file": "checks.md", "cell": "greet"}',
            ),
            Behaviour(text="It said hello."),
        ]
    )
    _open(page, assistant_server, "ask")
    page.fill("#panel textarea", "did greet work?")
    page.click("#panel button[type=submit]")
    approval = page.locator("#panel .approval")
    expect(approval).to_contain_text("Run run_cell")
    screenshot(page, "ask-approval")
    approval.locator("button.approve").click()
    expect(page.locator("#panel pre.result")).to_contain_text("hello from cairn")
    expect(page.locator("#panel .answer")).to_contain_text("It said hello.")
    # the turn is in the debug panel, as `cairn debug show` prints it
    page.click('#tabs button[data-panel="debug"]')
    runs = page.locator("#panel a", has_text="agent_turn")
    expect(runs).to_have_count(1)  # one run holds the whole turn
    runs.click()
    shown = page.locator("#panel pre.run")
    expect(shown).to_contain_text("step 2")  # the two model calls, and the tool between
    expect(shown).to_contain_text("tool")
    screenshot(page, "debug")


def test_actions_show_their_diff_and_are_approved_by_name(
    page: Page, assistant_server: Server
) -> None:
    kv = assistant_server.app.state.cairn.bot_store()
    action = ActionLog(kv).add(
        "post",
        "related:o/r#7",
        project="o/r",
        number=7,
        body="Related issues: #3",
        diff="+Related issues: #3",
        approval_required=True,
    )
    _open(page, assistant_server, "actions")
    item = page.locator(f'[data-action="{action.id}"]')
    expect(item.locator("pre.diff")).to_have_text("+Related issues: #3")
    screenshot(page, "actions")
    item.locator("button.approve").click()
    expect(page.locator(f'[data-action="{action.id}"] .state')).not_to_have_text("pending")
    decided = ActionLog(kv).resolve(action.id)
    assert [(d.who, d.approve) for d in decided.decisions] == [("ana", True)]


def test_a_panel_without_its_backend_says_so(page: Page, tmp_path: Path) -> None:
    sock = listen("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    config = ServerConfig(root=tmp_path, token=TOKEN, port=port, config_dir=None)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, 15)
    try:
        page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
        for panel in ("debug", "actions"):
            page.click(f'#tabs button[data-panel="{panel}"]')
            expect(page.locator("#panel .unavailable")).to_contain_text("Not available here")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
