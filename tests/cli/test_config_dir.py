"""--config-dir is passed to every layer, not through the environment: the CLI's own
process keeps its environment, the default store is the config dir's, and the cells it
runs still see the config dir in force (so a `cairn` inside a cell uses the same one)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

SCRIPT = """
import os, sys
from cairn.cli import main
code = main(sys.argv[1:])
print(repr(os.environ.get("CAIRN_CONFIG_DIR")))
sys.exit(code)
"""


def test_config_dir_is_not_written_into_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "config"
    env = {k: v for k, v in os.environ.items() if k not in ("CAIRN_CONFIG_DIR", "CAIRN_DEBUG")}
    env["HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "--config-dir", str(config), "index", "stats"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "None"
    # the default store is the one in the config dir given, not in ~/.cairn
    assert (config / "cairn.db").exists()
    assert not (tmp_path / "home" / ".cairn" / "cairn.db").exists()


def test_a_cell_sees_the_config_dir_given(
    cairn: Callable[..., subprocess.CompletedProcess[str]],
    runbook: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    file = runbook('```sh {name=where}\necho "config=$CAIRN_CONFIG_DIR"\n```\n')
    config = tmp_path / "elsewhere"
    done = cairn("--config-dir", str(config), "run", "where", "--file", str(file))
    assert done.returncode == 0, done.stderr
    assert f"config={config}" in done.stdout
