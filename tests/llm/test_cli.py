"""`cairn prompt` and `cairn models` against a local OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .fake_openai import Behaviour, FakeOpenAI

CAIRN = str(Path(sys.executable).with_name("cairn"))


def _cairn(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    return subprocess.run(
        [CAIRN, *args, "--config-dir", str(tmp_path / "cfg")],
        capture_output=True,
        text=True,
        timeout=60,
        env=base | (env or {}),
    )


def _env(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test-cli-key"}


def test_prompt_prints_the_answer(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script.append(Behaviour(text="Restart the pod."))
    out = _cairn(tmp_path, "prompt", "what now?", "-m", "openai:gpt-test", env=_env(fake))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Restart the pod.\n"
    assert fake.seen[0].body["model"] == "gpt-test"
    assert fake.seen[0].body["messages"] == [{"role": "user", "content": "what now?"}]


def test_prompt_streams(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script.append(Behaviour(text="check the logs first"))
    out = _cairn(tmp_path, "prompt", "x", "--stream", "-m", "openai:gpt-test", env=_env(fake))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["check", "the", "logs", "first"]
    assert fake.seen[0].body["stream"] is True


def test_the_default_model_comes_from_cairn_toml(fake: FakeOpenAI, tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "cairn.toml").write_text(
        '[llm]\ndefault = "openai"\n\n'
        f'[llm.openai]\nbase_url = "{fake.base_url}"\nmodel = "llama3"\n'
    )
    out = _cairn(tmp_path, "prompt", "hi")
    assert out.returncode == 0, out.stderr
    assert fake.seen[0].body["model"] == "llama3"


def test_models_list_shows_the_default_and_what_is_configured(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    out = _cairn(tmp_path, "models", "list", "--json", env=_env(fake))
    rows = {r["provider"]: r for r in json.loads(out.stdout)}
    assert rows["openai"]["configured"] and not rows["anthropic"]["configured"]
    assert rows["local"]["default"]  # offline by default
    assert "sk-test-cli-key" not in out.stdout  # keys are never printed


def test_models_check_reports_latency_and_failures(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script.append(Behaviour(text="OK"))
    ok = _cairn(tmp_path, "models", "check", "-m", "openai:gpt-test", env=_env(fake))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("ok") and " ms " in ok.stdout and "'OK'" in ok.stdout
    fake.script.extend(Behaviour(kind="status", status=401) for _ in range(4))
    bad = _cairn(tmp_path, "models", "check", "-m", "openai:gpt-test", env=_env(fake))
    assert bad.returncode == 1 and bad.stdout.startswith("error") and "401" in bad.stdout


def test_bad_config_and_unknown_models_are_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "cairn.toml").write_text("[llm\n")
    out = _cairn(tmp_path, "prompt", "x")
    assert out.returncode == 2 and "invalid TOML" in out.stderr and "Traceback" not in out.stderr
    (config / "cairn.toml").write_text("")
    out = _cairn(tmp_path, "prompt", "x", "-m", "gemini:pro")
    assert out.returncode == 2 and "unknown model 'gemini:pro'" in out.stderr


def test_an_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-x"}
    out = _cairn(tmp_path, "prompt", "x", "-m", "openai:gpt-test", env=env)
    assert out.returncode == 2
    assert "cannot reach http://127.0.0.1:9/v1" in out.stderr and "Traceback" not in out.stderr


class _Proxy:
    """A listening socket set as every proxy: the SDKs would connect here for any request
    to a provider's own API, so a connection counted here is a network call."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()  # refuse at once: the client fails fast rather than waiting

    def env(self) -> dict[str, str]:
        return {name: self.url for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")} | {
            "NO_PROXY": ""
        }

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone won't
        self.sock.close()
        self.thread.join()


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("spec", "variable"),
    [("anthropic", "ANTHROPIC_API_KEY"), ("openai:gpt-4o-mini", "OPENAI_API_KEY")],
)
def test_a_missing_key_is_named_before_any_network_call(
    tmp_path: Path, proxy: _Proxy, spec: str, variable: str
) -> None:
    out = _cairn(tmp_path, "prompt", "x", "-m", spec, env=proxy.env())
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("cairn: error: ") and f"{variable} is not set" in line
    assert "cannot reach" not in line
    assert proxy.connections == 0


def test_the_providers_own_url_written_out_still_needs_its_key(
    tmp_path: Path, proxy: _Proxy
) -> None:
    env = proxy.env() | {"OPENAI_BASE_URL": "https://api.openai.com/v1/"}
    out = _cairn(tmp_path, "prompt", "x", "-m", "openai:gpt-4o-mini", env=env)
    assert out.returncode == 2 and "OPENAI_API_KEY is not set" in out.stderr
    assert proxy.connections == 0


def test_a_local_openai_compatible_server_needs_no_key(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script.append(Behaviour(text="no key needed"))
    out = _cairn(
        tmp_path, "prompt", "x", "-m", "openai:llama3", env={"OPENAI_BASE_URL": fake.base_url}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "no key needed\n"


def test_models_list_says_a_provider_without_its_key_is_not_configured(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": "https://api.openai.com/v1"}
    rows = {
        r["provider"]: r
        for r in json.loads(_cairn(tmp_path, "models", "list", "--json", env=env).stdout)
    }
    assert not rows["openai"]["configured"] and not rows["anthropic"]["configured"]
