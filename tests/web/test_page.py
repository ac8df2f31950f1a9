"""The web notebook in Chromium: signing in without the token ever staying in a URL or a
page, running cells with their output streaming in, stopping one, and a hostile runbook
that runs no script."""

from __future__ import annotations

import http.server
import os
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from ..copilot._server import TOKEN, Server
from .conftest import base, screenshot, signed_in


def test_the_printed_url_signs_in_and_drops_the_token(
    page: Page, context: BrowserContext, server: Server
) -> None:
    signed_in(page, server)
    assert page.url == f"{base(server)}/"  # redirected: no token in the address bar
    (cookie,) = context.cookies()
    assert cookie["name"] == "cairn_session" and cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict" and cookie["value"] != TOKEN
    expect(page.locator("nav#files a")).to_have_text(["ask.md", "checks.md", "hostile.md"])
    assert TOKEN not in page.content()
    screenshot(page, "files")


def test_without_a_session_the_page_asks_for_the_token(page: Page, server: Server) -> None:
    page.goto(base(server))
    page.fill("input[name=token]", "not-the-token")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_have_text("That token is wrong.")
    screenshot(page, "login-refused")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("nav#files a")).to_have_count(3)
    assert page.url == f"{base(server)}/"


def test_the_api_refuses_a_browser_without_a_session(server: Server) -> None:
    with httpx.Client(base_url=base(server), trust_env=False) as client:
        assert client.get("/v1/files").status_code == 401
        reply = client.get("/", params={"token": "wrong"})
        assert reply.status_code == 401 and TOKEN not in reply.text
        page = client.get("/")
        policy = dict(
            d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";")
        )
        assert policy["script-src"] == "'self'"  # no inline script, no eval
        assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"


def test_a_cell_runs_and_its_output_streams_in(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    cell = page.locator('[data-cell="greet"]')
    cell.locator("button.run").click()
    expect(cell.locator(".status")).to_have_text(lambda_text("exit 0"))
    expect(cell.locator(".output .stdout")).to_have_text("hello from cairn\n")
    expect(cell.locator(".output .stderr")).to_have_text("a complaint\n")
    screenshot(page, "notebook-after-run")


def lambda_text(prefix: str):  # type: ignore[no-untyped-def]
    import re

    return re.compile("^" + re.escape(prefix))


def test_stop_ends_a_cell_that_never_ends(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    cell = page.locator('[data-cell="forever"]')
    cell.locator("button.run").click()
    expect(cell.locator(".output")).to_contain_text("started")
    pid = int(cell.get_attribute("data-pid") or 0)
    assert pid > 0
    cell.locator("button.stop").click()
    expect(cell.locator(".status")).to_have_text(lambda_text("stopped"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the cell's process group {pid} is still alive")


def test_a_hostile_runbook_runs_no_script(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=hostile.md")
    expect(page.locator("#notebook h1")).to_have_text("Hostile")
    expect(page.locator("#notebook")).to_contain_text("<script>window.pwned = 1</script>")
    assert page.locator("#notebook script").count() == 0
    assert page.locator("#notebook img").count() == 0
    page.get_by_text("click me").click()  # plain text, not a link
    page.wait_for_timeout(200)
    assert page.evaluate("window.pwned") is None
    screenshot(page, "hostile")


def test_a_page_from_another_origin_cannot_reach_the_server(
    page: Page, server: Server, tmp_path: Path
) -> None:
    signed_in(page, server)  # the browser holds a session cookie
    target = base(server)
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "index.html").write_text(
        f"""<!doctype html><script>
        const ws = new WebSocket("ws://127.0.0.1:{server.port}/v1/execute");
        ws.onopen = () => document.title = "ws-open";
        ws.onerror = () => document.title = "ws-refused";
        fetch("{target}/v1/files", {{credentials: "include"}})
          .then(r => r.text()).then(t => window.leak = t).catch(() => window.leak = "blocked");
        </script>"""
    )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    def handler(*args: object) -> Quiet:
        return Quiet(*args, directory=str(tmp_path / "evil"))  # type: ignore[arg-type]

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://localhost:{evil.server_address[1]}/index.html")
        page.wait_for_function("document.title !== ''")
        assert page.title() == "ws-refused"
        page.wait_for_function("window.leak !== undefined")
        assert "checks.md" not in str(page.evaluate("window.leak"))
    finally:
        evil.shutdown()


def test_a_fifty_megabyte_output_shows_head_and_tail_and_the_page_stays_usable(
    page: Page, server: Server
) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    cell = page.locator('[data-cell="flood"]')
    cell.locator("button.run").click()
    expect(cell.locator(".status")).to_have_text(lambda_text("exit 0"), timeout=60_000)
    output = cell.locator(".output")
    expect(output).to_contain_text("line 00000000 ")  # the head
    expect(output).to_contain_text("line 00499999 ")  # the tail
    gap = output.locator(".gap")
    expect(gap).to_contain_text("MB not shown")
    text = output.inner_text()
    assert "line 00250000 " not in text  # the middle waits for a click
    assert text.count("line 00000000 ") == 1 and text.count("line 00499999 ") == 1
    screenshot(page, "large-output")
    # the page answers at once: a click elsewhere works while 50 MB sit in memory
    page.click("text=hostile.md")
    expect(page.locator("#notebook h1")).to_have_text("Hostile")
    page.go_back()
    expect(page.locator('[data-cell="flood"]')).to_be_visible()


def test_show_more_reveals_the_middle_a_page_at_a_time(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    cell = page.locator('[data-cell="flood"]')
    cell.locator("button.run").click()
    expect(cell.locator(".status")).to_have_text(lambda_text("exit 0"), timeout=60_000)
    output = cell.locator(".output")
    shown = output.inner_text()
    output.locator(".gap button.more").click()
    grown = output.inner_text()
    assert 900_000 < len(grown) - len(shown) < 1_200_000  # one page of about a megabyte
    lines = [line.split()[1] for line in grown.splitlines() if line.startswith("line ")]
    assert len(lines) == len(set(lines))  # nothing shown twice


def test_the_last_output_of_a_cell_comes_back_after_a_reload(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.click("text=checks.md")
    cell = page.locator('[data-cell="greet"]')
    cell.locator("button.run").click()
    expect(cell.locator(".status")).to_have_text(lambda_text("exit 0"))
    page.reload()
    cell = page.locator('[data-cell="greet"]')
    expect(cell.locator(".output")).to_be_hidden()  # a fresh page shows no output
    cell.locator("button.last").click()
    expect(cell.locator(".status")).to_have_text(lambda_text("last run "))
    expect(cell.locator(".output .stdout")).to_have_text("hello from cairn\n")
    expect(cell.locator(".output .stderr")).to_have_text("a complaint\n")
