"""Progress while a long step runs: `cairn suggest`, `cairn learn`, `cairn index add` and
`cairn index search` draw a spinner or a bar on stderr when it is a terminal (a real
PTY here), and nothing at all when it is a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..llm.fake_openai import Behaviour, FakeOpenAI

CAIRN = str(Path(sys.executable).with_name("cairn"))

RUNBOOK = """# Disk triage

Find out which mount is full.

```sh {"name":"mounts","interactive":"false"}
printf 'Filesystem Use%%\\n/dev/sda1 97%%\\n'
```

Then what is big in /var.

```sh {"name":"big-dirs","interactive":"false"}
echo "4.0G /var/log"
```
"""

HIDE_CURSOR = "\x1b[?25l"  # what rich's spinner and bar do first


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


def _env(fake: FakeOpenAI | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "CAIRN_", "FORCE_COLOR", "TTY_"))
    }
    if fake is not None:
        env |= {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test-progress-0123"}
    return env


def _command(cwd: Path, args: tuple[str, ...]) -> list[str]:
    if args[0] == "index":  # its commands name their store instead
        return [CAIRN, *args]
    return [CAIRN, *args, "--config-dir", str(cwd / "cfg")]


def _piped(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(cwd, args),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def _on_a_terminal(cwd: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run cairn with stderr on a PTY (stdout a pipe): exit code, stdout, what the
    terminal received."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        _command(cwd, args),
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env | {"COLUMNS": "100"},
        cwd=cwd,
    )
    os.close(slave)
    received = bytearray()

    def drain() -> None:  # the child blocks on a full PTY unless someone reads
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    assert process.stdout is not None
    out = process.stdout.read().decode()
    code = process.wait(timeout=300)
    reader.join(30)
    os.close(master)
    return code, out, received.decode(errors="replace")


@pytest.fixture
def ran(tmp_path: Path) -> Path:
    book = tmp_path / "disk.md"
    book.write_text(RUNBOOK)
    out = _piped(tmp_path, "run", "--all", "--file", str(book), env=_env())
    assert out.returncode == 0, out.stderr
    return book


def test_learn_draws_a_spinner_on_a_terminal_and_nothing_on_a_pipe(
    tmp_path: Path, ran: Path
) -> None:
    code, out, terminal = _on_a_terminal(tmp_path, "learn", "--embedder", "hash", env=_env())
    assert code == 0 and "learned" in out
    assert HIDE_CURSOR in terminal and "learning from the log" in terminal
    piped = _piped(tmp_path, "learn", "--embedder", "hash", env=_env())
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == "" and "\x1b" not in piped.stdout


def test_suggest_draws_a_spinner_while_the_model_answers(
    tmp_path: Path, ran: Path, fake: FakeOpenAI
) -> None:
    fake.script.append(Behaviour(text="```sh\ndu -xsh /var/log/*\n```"))
    code, out, terminal = _on_a_terminal(
        tmp_path, "suggest", str(ran), "-m", "openai:x", "--json", env=_env(fake)
    )
    assert code == 0 and '"source": "model"' in out
    assert HIDE_CURSOR in terminal and "asking openai:x" in terminal
    fake.script.append(Behaviour(text="```sh\ndu -xsh /var/log/*\n```"))
    piped = _piped(tmp_path, "suggest", str(ran), "-m", "openai:x", "--json", env=_env(fake))
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stderr and "asking" not in piped.stderr


def test_index_add_and_search_draw_progress_on_a_terminal_only(tmp_path: Path) -> None:
    docs = tmp_path / "docs.md"
    docs.write_text("# Disks\n\nA full /var.\n\n# Certificates\n\nAn expired cert.\n")
    store = str(tmp_path / "index.db")
    add = ("index", "add", str(docs), "--store", store, "--embedder", "hash")
    code, _, terminal = _on_a_terminal(tmp_path, *add, env=_env())
    assert code == 0 and HIDE_CURSOR in terminal and "reading the docs" in terminal
    search = ("index", "search", "disk full", "--store", store, "--json")
    code, out, terminal = _on_a_terminal(tmp_path, *search, env=_env())
    assert code == 0 and '"title": "Disks"' in out
    assert HIDE_CURSOR in terminal and "searching with hash" in terminal

    piped = _piped(tmp_path, *add, "--rebuild", env=_env())
    assert piped.returncode == 0 and "\x1b" not in piped.stderr
    assert "reading the docs" not in piped.stderr and "embedding" not in piped.stderr
    piped = _piped(tmp_path, *search, env=_env())
    assert piped.returncode == 0 and piped.stderr == ""
