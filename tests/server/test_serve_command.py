"""`cairn serve` as users start it: a subprocess, its start-up lines, its token file."""

from __future__ import annotations

import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CAIRN = str(Path(sys.executable).with_name("cairn"))
URL_RE = re.compile(r"at (http://127\.0\.0\.1:\d+)")


def _env(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_DEBUG"}
    env["CAIRN_CONFIG_DIR"] = str(config_dir)
    return env


@contextmanager
def _serving(root: Path, config_dir: Path, *args: str) -> Iterator[tuple[str, list[str]]]:
    """Start `cairn serve` on a free port; yields its URL and the lines it printed."""
    proc = subprocess.Popen(
        [CAIRN, "serve", str(root), "--port", "0", *args],
        env=_env(config_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"cairn serve exited: {seen}"
            seen.append(line)
            if match := URL_RE.search(line):
                url = match.group(1)
        with httpx.Client(trust_env=False) as client:
            while True:  # the banner comes before uvicorn accepts connections
                try:
                    if client.get(f"{url}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the server never answered"
                    time.sleep(0.02)
        # Everything it printed before serving: the banner lines follow the URL at once.
        while (line := _next_line(lines)) is not None:
            seen.append(line)
        yield url, seen
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # what it printed while serving and stopping, for a test to read after the block
        while (line := _next_line(lines)) is not None:
            seen.append(line)


def _next_line(lines: queue.Queue[str | None]) -> str | None:
    try:
        return lines.get(timeout=0.2)
    except queue.Empty:
        return None


def test_an_unwritable_config_dir_stops_the_server_with_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = subprocess.run(
        [CAIRN, "serve", str(tmp_path), "--port", "0"],
        env=_env(blocker / "cairn"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "learning log" in lines[0]
    assert str(blocker) in lines[0]
    assert "--no-learning-logs" in lines[0]


def test_no_learning_logs_starts_anyway_and_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    with _serving(tmp_path, blocker / "cairn", "--no-learning-logs") as (url, lines):
        assert any("learning logs are OFF" in line for line in lines), lines
        token_line = next(line for line in lines if "token" in line)
        assert "cannot store a token" in token_line  # the config dir is unusable
        token = token_line.rsplit(": ", 1)[1]
        with httpx.Client(trust_env=False) as client:
            response = client.get(
                f"{url}/v1/sessions", headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status_code == 200


def test_the_prefill_after_each_run_is_on_by_default_and_no_prefill_turns_it_off(
    tmp_path: Path,
) -> None:
    for args, on in (((), True), (("--no-prefill",), False)):
        with (
            _serving(tmp_path, tmp_path / "config", *args) as (url, lines),
            httpx.Client(trust_env=False) as client,
        ):
            health = client.get(f"{url}/health").json()
        assert health["prefill"] is on, (args, health)
        assert any("--no-prefill turns it off" in line for line in lines) is on, lines


def test_the_token_is_printed_once_and_kept_private(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    with _serving(tmp_path, config_dir) as (url, lines):
        token_file = config_dir / "token"
        token = token_file.read_text(encoding="utf-8").strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert any(token in line for line in lines), lines
        assert any(str(config_dir / "logs") in line for line in lines), lines
        with httpx.Client(trust_env=False) as client:
            ok = client.get(f"{url}/v1/sessions", headers={"Authorization": f"Bearer {token}"})
            refused = client.get(f"{url}/v1/sessions")
        assert (ok.status_code, refused.status_code) == (200, 401)
    with _serving(tmp_path, config_dir) as (_, later):
        assert not any(token in line for line in later), later
        assert any(str(token_file) in line for line in later), later
    assert token_file.read_text(encoding="utf-8").strip() == token


def test_a_token_file_option_is_used_instead_of_the_config_dir(tmp_path: Path) -> None:
    token_file = tmp_path / "secrets" / "cairn-token"
    with _serving(tmp_path, tmp_path / "config", "--token-file", str(token_file)) as (_, lines):
        assert token_file.exists()
        assert not (tmp_path / "config" / "token").exists()
        assert any(str(token_file) in line for line in lines)


def test_max_body_mb_sets_the_request_body_limit(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    with _serving(tmp_path, config_dir, "--max-body-mb", "1") as (url, _):
        auth = {"Authorization": f"Bearer {(config_dir / 'token').read_text().strip()}"}
        with httpx.Client(trust_env=False, headers=auth) as client:
            small = client.post(f"{url}/v1/notebooks/parse", json={"markdown": "x" * 900_000})
            big = client.post(f"{url}/v1/notebooks/parse", json={"markdown": "x" * 1_100_000})
    assert small.status_code == 200, small.text
    assert big.status_code == 413
    assert "1 MiB" in big.json()["detail"]


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("shared-secret\n", encoding="utf-8")
    token_file.chmod(0o644)
    result = subprocess.run(
        [CAIRN, "serve", str(tmp_path), "--port", "0", "--token-file", str(token_file)],
        env=_env(tmp_path / "config"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert len(result.stderr.splitlines()) == 1
    assert "chmod 600" in result.stderr


def test_other_commands_do_not_import_the_server_stack() -> None:
    code = (
        "import sys\n"
        "from cairn.cli import main\n"
        "for argv in (['--help'], ['run', '--help'], ['serve', '--help']):\n"
        "    main(argv)\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in"
        " ('fastapi', 'uvicorn', 'starlette', 'websockets', 'cairn')"
        " and (m.split('.')[0] != 'cairn' or m.startswith('cairn.server'))]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_the_printed_url_opens_the_notebook_and_the_access_log_never_shows_the_token(
    tmp_path: Path,
) -> None:
    config_dir = tmp_path / "config"
    with _serving(tmp_path, config_dir, "--log-level", "info") as (url, lines):
        token = (config_dir / "token").read_text(encoding="utf-8").strip()
        assert f"cairn serve: the notebook in a browser: {url}/?token={token}" in lines
        with httpx.Client(trust_env=False) as client:
            signed_in = client.get(f"{url}/?token={token}")
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    logged = "\n".join(lines)  # everything, the access log included
    assert "GET /?token=[redacted]" in logged, logged
    # only the banner, printed once for the user, shows it: never a log line
    assert all(line.startswith("cairn serve: ") for line in lines if token in line), lines
