"""The copilot in the page: after a run the next cell streams in as a ghost (the local
model), Tab inserts it with its id, the learning log holds `suggestion.accepted`; Esc
dismisses one and logs `suggestion.rejected`."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from ..copilot._server import Server
from ..server.conftest import read_events
from .conftest import screenshot, signed_in

MODEL_WAIT = 120_000  # ms: the first suggestion loads the local model


def _ghost_after_run(page: Page, server: Server) -> tuple[str, str]:
    signed_in(page, server)
    page.click("text=checks.md")
    cell = page.locator('[data-cell="greet"]')
    cell.locator("button.run").click()
    expect(cell.locator(".status")).to_have_text(re.compile("^exit 0"))
    ghost = page.locator(".ghost[data-trace]")
    expect(ghost).to_be_visible(timeout=MODEL_WAIT)
    expect(ghost).to_be_focused()
    return str(ghost.get_attribute("data-trace")), ghost.locator("pre").inner_text()


def _events(server: Server, kind: str) -> list[dict]:  # type: ignore[type-arg]
    log_dir = server.app.state.cairn.config.config_dir / "logs"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [e for e in read_events(log_dir) if e.get("type") == kind]
        if found:
            return found
        time.sleep(0.1)
    return []


def test_tab_inserts_the_suggested_cell_and_logs_it(page: Page, server: Server) -> None:
    trace, source = _ghost_after_run(page, server)
    screenshot(page, "suggestion")
    page.keyboard.press("Tab")
    expect(page.locator(".ghost")).to_have_count(0)
    (accepted,) = _events(server, "suggestion.accepted")
    assert accepted["trace_id"] == trace
    cell_id = accepted["cell_id"]
    expect(page.locator(f'[data-cell="{cell_id}"]')).to_be_visible()
    on_disk = (server.app.state.cairn.root / "checks.md").read_text()
    assert f'"id":"{cell_id}"' in on_disk.replace(" ", "") and source.strip() in on_disk


def test_esc_dismisses_a_suggestion_and_logs_it(page: Page, server: Server) -> None:
    trace, _ = _ghost_after_run(page, server)
    before = (server.app.state.cairn.root / "checks.md").read_bytes()
    page.keyboard.press("Escape")
    expect(page.locator(".ghost")).to_have_count(0)
    (rejected,) = _events(server, "suggestion.rejected")
    assert rejected["trace_id"] == trace
    assert (server.app.state.cairn.root / "checks.md").read_bytes() == before
