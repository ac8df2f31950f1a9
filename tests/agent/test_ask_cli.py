"""`cairn ask` end to end: the real CLI in a subprocess, the real OpenAI SDK against the
wire-format fake, a real runbook whose cell really runs (after approval)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..llm.fake_openai import Behaviour, FakeOpenAI

CAIRN = str(Path(sys.executable).with_name("cairn"))
RUNBOOK = """# Disk

```sh {"name":"check"}
echo disk-is-fine-42
```
"""


def cairn(tmp_path: Path, fake: FakeOpenAI, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env = base | {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test-ask-key"}
    return subprocess.run(
        [CAIRN, "ask", *args, "-m", "openai:gpt-test", "--config-dir", str(tmp_path / "cfg")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )


def script(fake: FakeOpenAI) -> None:
    fake.script.extend(
        [
            Behaviour(kind="tool", tool_name="list_cells", tool_arguments='{"file": "disk.md"}'),
            Behaviour(
                kind="tool",
                tool_name="run_cell",
                tool_arguments='{"file": "disk.md", "cell": "check"}',
            ),
            Behaviour(text="The disk is fine."),
        ]
    )


def tool_results(fake: FakeOpenAI) -> list[str]:
    last = fake.seen[-1].body["messages"]
    return [m["content"] for m in last if m["role"] == "tool"]


def test_ask_looks_up_runs_an_approved_cell_and_answers(tmp_path: Path, fake: FakeOpenAI) -> None:
    (tmp_path / "disk.md").write_text(RUNBOOK)
    script(fake)
    out = cairn(tmp_path, fake, "is the disk ok?", "--yes")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "The disk is fine."
    assert "→ list_cells" in out.stderr and "→ run_cell" in out.stderr
    listed, ran = tool_results(fake)
    assert listed.startswith("0. check [sh] echo disk-is-fine-42")
    assert ran.startswith("exit 0:") and "disk-is-fine-42" in ran
    # the run is in the learning log, as `cairn run` would have put it
    logs = b"".join(p.read_bytes() for p in (tmp_path / "cfg" / "logs").glob("*.jsonl"))
    assert b"disk-is-fine-42" in logs and b'"client":"agent"' in logs
    # and the turn is a recorded run with its tool steps
    runs = subprocess.run(
        [CAIRN, "debug", "runs", "--json", "--config-dir", str(tmp_path / "cfg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert '"agent_turn"' in runs.stdout, runs.stderr
    # what the turn called is remembered: the same question predicts it next time
    from cairn.agent import Guess, Predictors
    from cairn.store import open_store

    kv = open_store(None, config_dir=tmp_path / "cfg")
    try:
        guesses = Predictors(kv).history.predict("is the disk ok?")
    finally:
        kv.close()
    assert Guess("list_cells", '{"file": "disk.md"}', "history") in guesses


def test_a_cell_is_not_run_without_approval(tmp_path: Path, fake: FakeOpenAI) -> None:
    (tmp_path / "disk.md").write_text(RUNBOOK)
    script(fake)
    out = cairn(tmp_path, fake, "is the disk ok?", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["answer"].strip() == "The disk is fine."
    denied = result["tool_calls"][1]
    assert denied["tool"] == "run_cell" and denied["error"] is True
    assert denied["result"] == "error: run_cell was not run: the user denied it"
    assert not (tmp_path / "cfg" / "logs").exists() or b"disk-is-fine-42" not in b"".join(
        p.read_bytes() for p in (tmp_path / "cfg" / "logs").glob("*.jsonl")
    )


def test_a_runbook_it_was_not_given_is_not_opened(tmp_path: Path, fake: FakeOpenAI) -> None:
    (tmp_path / "disk.md").write_text(RUNBOOK)
    fake.script.extend(
        [
            Behaviour(
                kind="tool", tool_name="list_cells", tool_arguments='{"file": "/etc/passwd"}'
            ),
            Behaviour(text="I cannot."),
        ]
    )
    out = cairn(tmp_path, fake, "read passwd", "--file", str(tmp_path / "disk.md"))
    assert out.returncode == 0, out.stderr
    (result,) = tool_results(fake)
    assert result == (
        "error: '/etc/passwd' is not a runbook you may open; the runbooks are: disk.md"
    )


def test_a_model_that_cannot_be_reached_is_one_line(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(kind="status", status=401))
    out = cairn(tmp_path, fake, "anything")
    assert out.returncode != 0
    assert out.stderr.startswith("cairn: error: the model failed:"), out.stderr
    assert "Traceback" not in out.stderr


def test_ask_runs_offline_on_the_local_model(tmp_path: Path) -> None:
    # No network: the bundled Gemma 270M base model, its tool calls constrained to JSON.
    (tmp_path / "disk.md").write_text(RUNBOOK)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    out = subprocess.run(
        [CAIRN, "ask", "List the cells of disk.md", "-m", "local", "--json", "--max-steps", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env | {"CAIRN_CONFIG_DIR": str(tmp_path / "cfg")},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode in (0, 1), out.stderr  # 1: it used up its steps (said on stderr)
    result = json.loads(out.stdout)
    assert result["tool_calls"], "the grammar makes the first reply a tool call"
    for call in result["tool_calls"]:
        json.loads(call["arguments"])  # always well-formed JSON
        assert call["tool"] in {
            "search_docs",
            "list_cells",
            "last_output",
            "recent_events",
            "run_cell",
        }
