"""The README's copilot walkthrough runs as written on a fresh clone: its commands, in a
directory holding only the repository's tracked `examples/`, each exit 0 and do what
their comments say. The model is the fake OpenAI server (the walkthrough's commands stay
as written: the config dir's cairn.toml makes it the default); learning uses the local
embedding model, as a user's would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..llm.fake_openai import Behaviour, FakeOpenAI

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def walkthrough() -> list[str]:
    """The commands of the README's copilot walkthrough, comments left out."""
    text = (REPO / "README.md").read_text()
    section = text.split("### The copilot\n", 1)[1].split("\n### ", 1)[0]
    block = section.split("```sh { name=copilot-walkthrough", 1)[1].split("\n```", 1)[0]
    commands = []
    for line in block.splitlines()[1:]:
        command = line.split("  #", 1)[0].strip()
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A directory with what a fresh clone has of `examples/`: the tracked files only."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "examples"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed, "examples/ holds no tracked file"
    for name in listed:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, tmp_path / name)
    return tmp_path


@pytest.mark.slow
def test_the_copilot_walkthrough_runs_as_written(clone: Path, fake: FakeOpenAI) -> None:
    commands = walkthrough()
    assert commands[0] == "cp examples/disk.md disk.md"
    cfg = clone / "cfg"
    cfg.mkdir()
    (cfg / "cairn.toml").write_text('[llm]\ndefault = "openai:x"\n')
    # The model disagrees with what was learned: the ranking has to do the work.
    fake.script.extend(Behaviour(text="```sh\ndf -h /tmp\n```") for _ in range(10))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "OPENAI_"))}
    env |= {
        "CAIRN_CONFIG_DIR": str(cfg),
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "sk-test-walkthrough-0123",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    }
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, command
        outputs[command] = done

    learned = outputs["cairn learn"].stdout
    assert "learned 2 examples" in learned, learned
    best = outputs["cairn suggest again.md"]
    assert best.stdout.startswith("```sh\ndu -xsh /var/log/*"), best.stdout + best.stderr
    ranked = json.loads(outputs["cairn suggest again.md --n 3 --json"].stdout)
    assert len(ranked) == 3
    assert ranked[0]["source"] == "example" and ranked[0]["confident"] is True
    assert {r["cells"][-1]["source"] for r in ranked} >= {"df -h /tmp\n"}  # the model's
    assert "inserted suggestion 1" in outputs["cairn suggest again.md --accept"].stderr
    again = (clone / "again.md").read_text()
    assert again.rstrip().endswith("du -xsh /var/log/* 2>/dev/null | sort -h | tail -n 5\n```")
    assert "openai:x" in outputs["cairn stats"].stdout  # its suggestions, counted
