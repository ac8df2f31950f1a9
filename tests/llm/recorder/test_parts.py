"""The recorder's small parts: redaction and caps, prices, and the recording switches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.config import load
from cairn.errors import CairnError
from cairn.learnlog import Redactor
from cairn.llm._config import ConfigError
from cairn.llm.recorder import PriceTable, Scrubber, load_settings, supersedes
from cairn.llm.recorder._redact import REDACTED


@pytest.fixture
def scrubber() -> Scrubber:
    return Scrubber(Redactor(["hunter2-secret"], environ={}), part_cap=200)


def test_credential_headers_are_redacted_and_others_kept(scrubber: Scrubber) -> None:
    out = scrubber.headers(
        {
            "Authorization": "Bearer sk-abc",
            "x-api-key": "k",
            "Cookie": "a=b",
            "Set-Cookie": "s=1",
            "X-Session-Id": "s",
            "Content-Type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-note": "contains hunter2-secret",
        }
    )
    for name in ("authorization", "x-api-key", "cookie", "set-cookie", "x-session-id"):
        assert out[name] == REDACTED
    assert out["content-type"] == "application/json"
    assert out["anthropic-version"] == "2023-06-01"
    assert "hunter2-secret" not in out["x-note"]


def test_json_secret_keys_are_redacted_but_usage_counters_kept(scrubber: Scrubber) -> None:
    body = {
        "api_key": "abc",
        "client_secret": "def",
        "password": "ghi",
        "nested": [{"credentials": {"user": "u"}, "access_token": "tok"}],
        "max_tokens": 100,
        "usage": {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 0},
        "prompt_tokens_details": {"cached_tokens": 3},
        "messages": [{"content": "my pass is hunter2-secret"}],
    }
    out = json.loads(Scrubber(scrubber.redactor).body(json.dumps(body)))
    assert out["api_key"] == out["client_secret"] == out["password"] == REDACTED
    assert out["nested"][0]["credentials"] == REDACTED
    assert out["nested"][0]["access_token"] == REDACTED
    assert out["max_tokens"] == 100
    assert out["usage"] == {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 0}
    assert out["prompt_tokens_details"] == {"cached_tokens": 3}
    assert "hunter2-secret" not in out["messages"][0]["content"]


def test_sse_lines_are_redacted_one_event_at_a_time(scrubber: Scrubber) -> None:
    sse = (
        'event: message\ndata: {"token": "t0ps3cret", "n": 1}\n\n'
        'data: {"delta": "hunter2-secret"}\n\ndata: [DONE]\n\n'
    )
    out = Scrubber(scrubber.redactor, part_cap=10_000).body(sse, "text/event-stream")
    assert "t0ps3cret" not in out and "hunter2-secret" not in out
    assert "event: message" in out and "data: [DONE]" in out and '"n":1' in out


def test_urls_lose_passwords_and_secret_query_values(scrubber: Scrubber) -> None:
    out = scrubber.url("https://user:pw123@api.example.com/v1/x?key=abc&api_key=def&model=m")
    assert "pw123" not in out and "abc" not in out and "def" not in out
    assert out.startswith("https://[REDACTED]@api.example.com/v1/x?") and "model=m" in out
    plain = "http://127.0.0.1:8080/v1/chat/completions"
    assert scrubber.url(plain) == plain


def test_parts_are_capped_with_a_marker(scrubber: Scrubber) -> None:
    out = scrubber.body("x" * 1000, "text/plain")
    assert out.startswith("x" * 200) and out.endswith("…[truncated 800 chars]")
    assert scrubber.body(b"\xff\xfe not utf-8", "").startswith("\ufffd")


def test_prices_follow_the_longest_prefix_and_each_provider_s_usage_rules() -> None:
    prices = PriceTable({"my-model": {"input": 1.0, "output": 2.0}})
    mini = prices.cost("openai", "gpt-4o-mini-2024-07-18", {"input_tokens": 1_000_000})
    assert mini == pytest.approx(0.15)  # gpt-4o-mini, not gpt-4o
    # OpenAI counts cached tokens inside the input tokens; they are billed at the cache price.
    cached = prices.cost(
        "openai", "gpt-4o", {"input_tokens": 1_000_000, "cache_read_tokens": 1_000_000}
    )
    assert cached == pytest.approx(1.25)
    # Anthropic reports cache reads and writes apart from input tokens.
    claude = prices.cost(
        "anthropic",
        "claude-sonnet-4-20250514",
        {"input_tokens": 1_000_000, "cache_write_tokens": 1_000_000, "output_tokens": 1_000_000},
    )
    assert claude == pytest.approx(3.0 + 3.75 + 15.0)
    assert prices.cost("openai", "my-model-v2", {"output_tokens": 500_000}) == pytest.approx(1.0)
    assert prices.cost("openai", "llama3.2", {"input_tokens": 10}) is None
    assert prices.cost("local", "gemma-3-270m", {"input_tokens": 10}) == 0.0


def test_status_priority() -> None:
    assert supersedes("completed", "error") and supersedes("interrupted", "in_progress")
    assert not supersedes("error", "completed") and not supersedes("completed", "completed")


def test_the_most_specific_switch_wins(tmp_path: Path) -> None:
    config, project = tmp_path / "cfg", tmp_path / "proj" / "sub"
    config.mkdir()
    project.mkdir(parents=True)
    s = load_settings(load(config, project_dir=project), env={})
    assert s.record and s.decided_by == "default"  # on unless switched off
    assert (s.max_age_days, s.max_size_mb) == (30, 256)  # the default retention limits
    (config / "cairn.toml").write_text("[debug]\nrecord = false\n")
    s = load_settings(load(config, project_dir=project), env={})
    assert not s.record and s.decided_by.startswith("global")
    (config / "cairn.toml").write_text("[debug]\nrecord = true\nmax_age_days = 7\n")
    s = load_settings(load(config, project_dir=project), env={})
    assert s.record and s.decided_by.startswith("global") and s.max_age_days == 7
    assert s.store == str(config / "debug.db")
    (tmp_path / "proj" / ".cairn.toml").write_text("[debug]\nrecord = false\n")
    s = load_settings(load(config, project_dir=project), env={})
    assert not s.record and s.decided_by.startswith("project")
    s = load_settings(load(config, project_dir=project), env={"CAIRN_RECORD": "1"})
    assert s.record and s.decided_by == "CAIRN_RECORD"
    s = load_settings(load(config, project_dir=project), flag=False, env={"CAIRN_RECORD": "1"})
    assert not s.record and s.decided_by == "--no-debug"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[debug]\nrecord = 'yes'\n", "record must be true or false"),
        ("[debug]\nmax_size_mb = -1\n", "max_size_mb must be a non-negative number"),
        ("[debug\n", "invalid TOML"),
        ("debug = 3\n", "[debug] must be a table"),
        ("[debug]\nstore = 5\n", "store must be a path or URL string"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "cairn.toml").write_text(text)
    with pytest.raises(CairnError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(load(tmp_path, project_dir=tmp_path), env={})


def test_a_bad_env_switch_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CAIRN_RECORD='maybe'"):
        load_settings(load(tmp_path, project_dir=tmp_path), env={"CAIRN_RECORD": "maybe"})


def test_the_recorder_modules_import_each_other_without_a_cycle() -> None:
    """Every import between the recorder's modules counts, TYPE_CHECKING ones included."""
    import ast
    import graphlib

    import cairn.llm.recorder

    package = Path(cairn.llm.recorder.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in package.glob("_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[path.stem] = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
    assert {"_active", "_recorder", "_recording", "_transport"} <= graph.keys()
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a cycle
