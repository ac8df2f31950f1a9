"""The web page in a real browser: Debian's Chromium driven by Playwright, against a real
`cairn serve` (uvicorn on 127.0.0.1) over a directory of runbooks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from ..copilot._server import TOKEN, Server

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"  # screenshots of the main views (gitignored)
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

RUNBOOK = """# Checks

Say hello, then complain.

```sh {"name":"greet","interactive":"false"}
echo "hello from cairn"
echo "a complaint" >&2
```

```sh {"name":"flood","interactive":"false"}
python3 -c "import sys; sys.stdout.write(''.join(
  f'line {i:08d} ' + 'x' * 90 + chr(10) for i in range(500000)))"
```

```sh {"name":"forever","interactive":"false"}
echo started
sleep 600
```
"""

HOSTILE = """# Hostile

<script>window.pwned = 1</script>
<img src="x" onerror="window.pwned = 3">

[click me](javascript:window.pwned=2)
"""


# Per module, not per session: Playwright's sync API keeps an asyncio loop running in
# this thread while it is open, and a later test's asyncio.run() on the same xdist
# worker would fail ("cannot be called from a running event loop").
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.access(CHROMIUM, os.X_OK), "make setup installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "books"
    root.mkdir()
    (root / "checks.md").write_text(RUNBOOK)
    (root / "hostile.md").write_text(HOSTILE)
    (root / "ask.md").write_text(INTERACTIVE)
    started = Server(root, tmp_path / "cfg")
    yield started
    started.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def base(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def signed_in(page: Page, server: Server) -> None:
    page.goto(f"{base(server)}/?token={TOKEN}")


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


INTERACTIVE = """# Ask

```sh {"name":"ask","interactive":"true"}
read -r -p "name? " who
echo "hi $who"
```
"""
