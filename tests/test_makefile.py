"""`make run` as a newcomer sees it: the real Makefile run by real `make` in a copy of the
project, with a stand-in interpreter that records each call and installs nothing (a real
install takes minutes and would touch the project's own virtualenv)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Stands in for `python3` and for the virtualenv's python: logs its arguments; `-m venv
# DIR` creates DIR/bin/python (itself) and a DIR/bin/cairn that echoes its arguments.
STUB = """#!/bin/sh
echo "$*" >> {log}
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
  printf '#!/bin/sh\\necho "cairn $*"\\n' > "$3/bin/cairn" && chmod +x "$3/bin/cairn"
fi
"""


# Stands in for `npm` and `npx`: logs its arguments (the web page's build).
TOOL_STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> {log}
"""


def _project(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "src").mkdir()
    for name in ("Makefile", "pyproject.toml", "scripts/system-deps.sh"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "web", repo / "web", ignore=shutil.ignore_patterns("node_modules"))
    log = tmp_path / "calls.log"
    python = tmp_path / "python3"
    python.write_text(STUB.format(log=log))
    python.chmod(0o755)
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("npm", "npx"):
        (tools / name).write_text(TOOL_STUB.format(log=log))
        (tools / name).chmod(0o755)
    return repo, python, log


def _make(repo: Path, python: Path) -> list[str]:
    tools = python.parent / "tools"
    done = subprocess.run(
        ["make", "--no-print-directory", "run", f"PYTHON={python}"],
        cwd=repo,
        env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return (done.stdout + done.stderr).splitlines()


def test_first_make_run_says_what_it_installs_and_that_it_takes_minutes(tmp_path: Path) -> None:
    repo, python, log = _project(tmp_path)
    lines = _make(repo, python)
    installs = [c for c in log.read_text().splitlines() if "pip install" in c]
    assert len(installs) == 3  # pip, torch, then Cairn with llama-cpp-python
    steps = [line for line in lines if line.startswith("cairn setup: ")]
    assert len(steps) >= 4  # the venv and each install, each announced on a line of its own
    assert any("llama-cpp-python" in s and "minutes" in s for s in steps)
    # and the web page is built from web/ (npm ci, then tsc and vite)
    calls = log.read_text().splitlines()
    assert "npm ci --no-audit --no-fund --loglevel=error" in calls
    assert "npx vite build --logLevel warn" in calls
    assert any(s.startswith("cairn setup: building the web page") for s in steps)
    # Announcements, not pip command lines: those say nothing to a newcomer.
    assert not any("pip install" in line for line in lines)
    assert lines[-1] == "cairn serve examples --show-token"


def test_a_second_make_run_only_starts_the_server(tmp_path: Path) -> None:
    repo, python, log = _project(tmp_path)
    _make(repo, python)
    calls = len(log.read_text().splitlines())
    assert _make(repo, python) == ["cairn serve examples --show-token"]
    assert all("pip" not in c for c in log.read_text().splitlines()[calls:])
    assert all("npm" not in c for c in log.read_text().splitlines()[calls:])
