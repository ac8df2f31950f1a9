"""Editing in the page: a code cell edited in CodeMirror and saved with Ctrl+S changes
exactly that cell's bytes; a change on disk meanwhile gives the 409 flow (reload or
overwrite), and nothing is lost silently. An interactive cell runs in a real terminal."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from ..copilot._server import Server
from .conftest import RUNBOOK, screenshot, signed_in


def _edit_first_line(page: Page, cell: str, text: str) -> None:
    editor = page.locator(f'[data-cell="{cell}"] .cm-content')
    editor.click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("End")
    page.keyboard.type(text)


def test_a_saved_edit_changes_only_that_cells_bytes(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    _edit_first_line(page, "greet", " # edited")
    expect(page.locator("#where")).to_contain_text("unsaved")
    page.keyboard.press("Control+s")
    expect(page.locator("#where")).to_have_text(re.compile(r"— saved$"))
    on_disk = (server_root(server) / "checks.md").read_bytes()
    expected = RUNBOOK.replace('echo "hello from cairn"\n', 'echo "hello from cairn" # edited\n')
    assert on_disk == expected.encode()
    # the saved file runs as saved
    cell = page.locator('[data-cell="greet"]')
    cell.locator("button.run").click()
    expect(cell.locator(".status")).to_have_text(re.compile("^exit 0"))


def test_a_change_on_disk_meanwhile_is_a_conflict_to_resolve(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    expect(page.locator('[data-cell="greet"] .cm-content')).to_be_visible()  # loaded
    path = server_root(server) / "checks.md"
    theirs = RUNBOOK.replace("Say hello, then complain.", "Someone else's words.")
    path.write_text(theirs)
    _edit_first_line(page, "greet", " # mine")
    page.keyboard.press("Control+s")
    conflict = page.locator("#conflict")
    expect(conflict).to_contain_text("changed on disk since it was loaded")
    assert path.read_text() == theirs  # nothing was written over their change
    screenshot(page, "conflict")
    conflict.locator("button.overwrite").click()
    expect(page.locator("#where")).to_have_text(re.compile(r"— saved$"))
    merged = theirs.replace('echo "hello from cairn"\n', 'echo "hello from cairn" # mine\n')
    assert path.read_text() == merged  # my edit on top of their change: both kept


def test_reload_drops_my_edits_and_shows_the_file_as_it_is(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    expect(page.locator('[data-cell="greet"] .cm-content')).to_be_visible()  # loaded
    path = server_root(server) / "checks.md"
    path.write_text(RUNBOOK.replace("Say hello, then complain.", "Changed on disk."))
    _edit_first_line(page, "greet", " # mine")
    page.keyboard.press("Control+s")
    page.locator("#conflict button.reload").click()
    expect(page.locator("#notebook")).to_contain_text("Changed on disk.")
    assert "# mine" not in path.read_text()


def test_an_interactive_cell_runs_in_a_terminal_that_takes_keystrokes(
    page: Page, server: Server
) -> None:
    signed_in(page, server)
    page.click("text=ask.md")
    cell = page.locator('[data-cell="ask"]')
    cell.locator("button.run").click()
    rows = cell.locator(".xterm-rows")
    expect(rows).to_contain_text("name?")
    page.keyboard.type("ana")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("hi ana")
    expect(cell.locator(".status")).to_have_text(re.compile("^exit 0"))
    screenshot(page, "terminal")


def server_root(server: Server):  # type: ignore[no-untyped-def]
    return server.app.state.cairn.root


def test_jupyter_keys_switch_modes_and_shift_enter_runs_and_moves_on(
    page: Page, server: Server
) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    greet = page.locator('[data-cell="greet"]')
    greet.locator(".cm-content").click()
    page.keyboard.press("Escape")  # editor → command mode on the cell
    expect(greet).to_be_focused()
    page.keyboard.press("Enter")  # command mode → editing
    expect(greet.locator(".cm-content")).to_be_focused()
    page.keyboard.press("Shift+Enter")  # run, and move to the next code cell
    expect(greet.locator(".status")).to_have_text(re.compile("^exit 0"))
    expect(page.locator('[data-cell="flood"] .cm-content')).to_be_focused()
    # the suggestion that follows the run does not take the focus from the editor
    expect(page.locator(".ghost[data-trace]")).to_be_visible(timeout=120_000)
    expect(page.locator('[data-cell="flood"] .cm-content')).to_be_focused()
