"""End to end: secrets planted in runbooks, in the environment and in outputs are run,
learned from, indexed and suggested with (against the fake OpenAI and Anthropic
servers); then no file under the config dir (SQLite WAL and SHM included) and no request
body a model provider received holds any of them, and every file there is the owner's
alone."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..llm.fake_anthropic import FakeAnthropic
from ..llm.fake_openai import Behaviour, FakeOpenAI
from .secrets import PAIRS, SECRETS

CAIRN = str(Path(sys.executable).with_name("cairn"))

ENV_SECRET = "Pr0cess-Env-Db-P4ss"  # a secret-named variable of the environment cairn runs in
EXPORTED = "exp0rted-by-a-cell-9f3k"  # a secret a cell exports, then prints and base64-encodes
OPENAI_KEY = "sk-test-privacy-0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-test-privacy-0123456789abcdef"

PLANTED_LINES = [line.format(secret) for _, secret, line in SECRETS] + [
    line for _, _, line in PAIRS
]
PLANTED = [secret for _, secret, _ in SECRETS] + [secret for _, secret, _ in PAIRS]


def _heredoc(lines: list[str]) -> str:
    return "cat <<'PLANTED'\n" + "\n".join(lines) + "\nPLANTED\n"


SECRET_BOOK = f"""# Deploy the payments API

Log in to the registry and the cluster first.

```sh {{"name":"login","interactive":"true"}}
{_heredoc(PLANTED_LINES)}export DEPLOY_TOKEN={EXPORTED}
echo "deploy token is $DEPLOY_TOKEN"
```

```sh {{"name":"encode","interactive":"false"}}
printf '%s' "$DEPLOY_TOKEN" | base64
echo "db password: $APP_DB_PASSWORD" >&2
```

Then look at the pods.

```sh {{"name":"pods","interactive":"false"}}
echo "kubectl get pods -n payments"
```
"""

OTHER_BOOK = """# Payments pods are crash-looping

Look at the pods first.

```sh {"name":"where","interactive":"false"}
echo "kubectl get pods -n payments -o wide"
```
"""


@dataclass
class Flow:
    config: Path
    openai: FakeOpenAI
    anthropic: FakeAnthropic
    outputs: list[str]


def _env(config: Path, openai: FakeOpenAI) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "CAIRN_"))
    }
    return base | {
        "CAIRN_CONFIG_DIR": str(config),
        "APP_DB_PASSWORD": ENV_SECRET,
        "OPENAI_BASE_URL": openai.base_url,
        "OPENAI_API_KEY": OPENAI_KEY,
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
    }


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    root = tmp_path_factory.mktemp("privacy")
    config = root / "cfg"
    books = root / "books"
    books.mkdir()
    (books / "deploy.md").write_text(SECRET_BOOK)
    (books / "other.md").write_text(OTHER_BOOK)
    openai, anthropic = FakeOpenAI(), FakeAnthropic()
    env = _env(config, openai)
    outputs: list[str] = []

    def cairn(*args: str, ok: bool = True) -> None:
        out = subprocess.run(
            [CAIRN, "--config-dir", str(config), *args],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=books,
            preexec_fn=lambda: os.umask(0o022),  # the usual umask: files would be 0644
        )
        outputs.append(out.stdout + out.stderr)
        assert out.returncode == 0 or not ok, (args, out.stdout, out.stderr)

    reply = "Check the rollout.\n\n```sh\nkubectl rollout status deploy/api -n payments\n```\n"
    try:
        cairn("run", "--all", "--file", "deploy.md")
        cairn("run", "--all", "--file", "other.md")
        cairn("learn", "--embedder", "hash")
        cairn("index", "add", "deploy.md", "--embedder", "openai", "--model", "embed-x")
        config.joinpath("cairn.toml").write_text(
            f'[llm.anthropic]\nbase_url = "{anthropic.base_url}"\n'
        )
        for book in ("other.md", "deploy.md"):
            openai.script.append(Behaviour(text=reply))
            cairn("suggest", book, "-m", "openai:gpt-x", "--debug")
            anthropic.script.append(Behaviour(text=reply))
            cairn("suggest", book, "-m", "anthropic:claude-x", "--debug")
        yield Flow(config, openai, anthropic, outputs)
    finally:
        openai.close()
        anthropic.close()


def _forms(secret: str) -> list[bytes]:
    """A secret as it could be found in a file: as text, JSON-escaped, base64-encoded."""
    raw = secret.encode()
    forms = {raw, json.dumps(secret)[1:-1].encode(), base64.b64encode(raw)}
    return [form for form in forms if len(form) >= 6]


def _leaks(data: bytes) -> list[str]:
    everything = [*PLANTED, ENV_SECRET, EXPORTED, OPENAI_KEY, ANTHROPIC_KEY]
    return [secret for secret in everything if any(f in data for f in _forms(secret))]


def test_the_flow_exercised_every_sink(flow: Flow) -> None:
    files = {p.name for p in flow.config.rglob("*") if p.is_file()}
    assert {"cairn.db", "debug.db"} <= files
    assert any(name.startswith("events-") for name in files)
    paths = {seen.path for seen in flow.openai.seen}
    assert any(p.endswith("/embeddings") for p in paths)
    assert any(p.endswith("/chat/completions") for p in paths)
    assert any(seen.path.endswith("/messages") for seen in flow.anthropic.seen)
    # The outputs reached the learning log and the prompts: redacted, not dropped.
    bodies = json.dumps([s.body for s in flow.openai.seen + flow.anthropic.seen])
    assert "[REDACTED:github]" in bodies
    assert "[REDACTED:base64]" in bodies  # the exported secret, base64-encoded by a cell
    assert "kubectl get pods -n payments" in bodies


def test_no_file_under_the_config_dir_holds_a_secret(flow: Flow) -> None:
    checked = 0
    for path in sorted(flow.config.rglob("*")):
        if path.is_file():
            leaked = _leaks(path.read_bytes())
            assert leaked == [], f"{path.relative_to(flow.config)}: {leaked}"
            checked += 1
    names = {p.name for p in flow.config.rglob("*")}
    assert {"cairn.db-wal", "debug.db-wal"} & names or checked >= 5


def test_no_request_body_a_provider_received_holds_a_secret(flow: Flow) -> None:
    for seen in [*flow.openai.seen, *flow.anthropic.seen]:
        body = json.dumps(seen.body, ensure_ascii=False).encode()
        assert _leaks(body) == [], seen.path


def test_every_file_under_the_config_dir_is_the_owners_alone(flow: Flow) -> None:
    for path in [flow.config, *flow.config.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{path.relative_to(flow.config.parent)}: {oct(mode)}"
