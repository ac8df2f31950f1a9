"""`cairn prompt --debug` and `cairn debug …`, run as the real `cairn` binary against the
fake OpenAI server and the recorder's SQLite store in a temporary config dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..fake_openai import Behaviour, FakeOpenAI

CAIRN = str(Path(sys.executable).with_name("cairn"))


def _cairn(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "CAIRN_RECORD"))
    }
    return subprocess.run(
        [CAIRN, *args, "--config-dir", str(tmp_path / "cfg")],
        capture_output=True,
        text=True,
        timeout=120,
        env=base | (env or {}),
        cwd=tmp_path,
    )


@pytest.fixture
def env(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test-debug-cli-0123456789"}


def _run_ids(tmp_path: Path, *args: str) -> list[str]:
    out = _cairn(tmp_path, "debug", "runs", "--json", *args)
    assert out.returncode == 0, out.stderr
    return [json.loads(line)["id"] for line in out.stdout.splitlines()]


def _two_recorded_prompts(tmp_path: Path, env: dict[str, str]) -> None:
    for text in ("a", "b"):
        out = _cairn(tmp_path, "prompt", text, "-m", "openai:x", "--debug", env=env)
        assert out.returncode == 0, out.stderr


def test_prompt_is_recorded_by_default_quietly_unless_switched_off(
    tmp_path: Path, fake: FakeOpenAI, env: dict[str, str]
) -> None:
    out = _cairn(tmp_path, "prompt", "hi", "-m", "openai:gpt-4o-mini", env=env)
    assert out.returncode == 0, out.stderr
    assert "recorded run" not in out.stderr  # the hint is for --debug only
    assert len(_run_ids(tmp_path, "--kind", "prompt")) == 1
    assert "recording: on (decided by default" in _cairn(tmp_path, "debug", "status").stdout
    off = env | {"CAIRN_RECORD": "0"}
    assert _cairn(tmp_path, "prompt", "b", "-m", "openai:x", env=off).returncode == 0
    (tmp_path / "cfg" / "cairn.toml").write_text("[debug]\nrecord = false\n")
    assert _cairn(tmp_path, "prompt", "c", "-m", "openai:x", env=env).returncode == 0
    assert len(_run_ids(tmp_path)) == 1


def test_debug_records_a_run_that_debug_commands_show_and_export(
    tmp_path: Path, fake: FakeOpenAI, env: dict[str, str]
) -> None:
    fake.script.extend([Behaviour(kind="status", status=500), Behaviour(text="Restart the pod.")])
    out = _cairn(tmp_path, "prompt", "what now?", "-m", "openai:gpt-4o-mini", "--debug", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Restart the pod.\n"
    assert "cairn: recorded run " in out.stderr
    (run_id,) = _run_ids(tmp_path)
    assert run_id in out.stderr

    table = _cairn(tmp_path, "debug", "runs")
    assert table.returncode == 0 and run_id in table.stdout and "prompt" in table.stdout

    show = _cairn(tmp_path, "debug", "show", run_id[:10])
    assert show.returncode == 0, show.stderr
    assert run_id in show.stdout and "500" in show.stdout and "200" in show.stdout

    exported = _cairn(tmp_path, "debug", "export", run_id, "--format", "json")
    tree = json.loads(exported.stdout)
    (step,) = tree["steps"]
    assert [a["status_code"] for a in step["attempt_records"]] == [500, 200]
    assert "sk-test-debug-cli" not in exported.stdout

    otel_file = tmp_path / "trace.json"
    otel = _cairn(tmp_path, "debug", "export", run_id, "--format", "otel", "-o", str(otel_file))
    assert otel.returncode == 0, otel.stderr
    spans = [
        span
        for rs in json.loads(otel_file.read_text())["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    attrs = {a["key"]: a["value"] for span in spans for a in span.get("attributes", [])}
    assert attrs["gen_ai.request.model"] == {"stringValue": "gpt-4o-mini"}
    assert attrs["gen_ai.operation.name"] == {"stringValue": "chat"}
    assert len(spans) == 4  # run, step, two attempts


def test_runs_filters_by_kind_and_errors(
    tmp_path: Path, fake: FakeOpenAI, env: dict[str, str]
) -> None:
    fake.script.extend([Behaviour(text="ok"), Behaviour(kind="status", status=400)])
    assert _cairn(tmp_path, "prompt", "a", "-m", "openai:x", "--debug", env=env).returncode == 0
    failed = _cairn(tmp_path, "models", "check", "-m", "openai:x", "--debug", env=env)
    assert failed.returncode == 1
    everything = _run_ids(tmp_path)
    assert len(everything) == 2
    (error_run,) = _run_ids(tmp_path, "--errors")
    (check_run,) = _run_ids(tmp_path, "--kind", "check")
    assert error_run == check_run == everything[0]  # newest first
    assert _run_ids(tmp_path, "--kind", "bot_job") == []


def test_recording_can_be_switched_on_by_config_and_off_per_call(
    tmp_path: Path, fake: FakeOpenAI, env: dict[str, str]
) -> None:
    (tmp_path / ".cairn.toml").write_text("[debug]\nrecord = true\n")  # the project (cwd)
    assert _cairn(tmp_path, "prompt", "a", "-m", "openai:x", env=env).returncode == 0
    assert len(_run_ids(tmp_path)) == 1
    assert _cairn(tmp_path, "prompt", "b", "-m", "openai:x", "--no-debug", env=env).returncode == 0
    assert len(_run_ids(tmp_path)) == 1
    status = _cairn(tmp_path, "debug", "status")
    assert "recording: on (decided by project" in status.stdout


def test_pin_and_prune(tmp_path: Path, fake: FakeOpenAI, env: dict[str, str]) -> None:
    for text in ("a", "b"):
        assert (
            _cairn(tmp_path, "prompt", text, "-m", "openai:x", "--debug", env=env).returncode == 0
        )
    _, oldest = _run_ids(tmp_path)
    pinned = _cairn(tmp_path, "debug", "pin", oldest)
    assert pinned.returncode == 0 and f"pinned {oldest}" in pinned.stdout
    pruned = _cairn(tmp_path, "debug", "prune", "--max-age-days", "0")
    assert pruned.returncode == 0 and "deleted 1 runs" in pruned.stdout
    assert _run_ids(tmp_path) == [oldest]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("debug", "show", "NOSUCHRUN"), "no recorded run matches 'NOSUCHRUN'"),
        (("debug", "export", "0"), "matches 2 runs"),
        (("debug", "pin", "ZZZ"), "no recorded run matches"),
    ],
)
def test_bad_run_ids_are_one_line_errors(
    tmp_path: Path, fake: FakeOpenAI, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    for text in ("a", "b"):
        assert (
            _cairn(tmp_path, "prompt", text, "-m", "openai:x", "--debug", env=env).returncode == 0
        )
    out = _cairn(tmp_path, *args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_broken_debug_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "cairn.toml").write_text("[debug]\nrecord = 'sometimes'\n")
    out = _cairn(tmp_path, "debug", "runs")
    assert out.returncode == 2
    assert "record must be true or false" in out.stderr and "Traceback" not in out.stderr
