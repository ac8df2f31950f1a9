"""The debug recorder around real SDK clients talking to the wire-format fakes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn.config import load
from cairn.llm import (
    AnthropicModel,
    CanClose,
    CanEmbed,
    CanPrefill,
    CanScore,
    HasContextWindow,
    LocalModel,
    Model,
    OpenAIModel,
    Options,
    ProviderError,
    Request,
    TextDelta,
    run_sync,
    user,
)
from cairn.llm.recorder import Recorder, RecorderError, RecordingModel, RecordStore, record
from cairn.store import SQLiteKV

from ..fake_anthropic import FakeAnthropic
from ..fake_openai import Behaviour, FakeOpenAI

API_KEY = "sk-proj-PLANTEDkey0123456789abcdefXYZ"
MakeModel = Callable[[str], Model]
PROVIDERS: dict[str, tuple[type[Any], MakeModel]] = {
    "openai": (
        FakeOpenAI,
        lambda url: OpenAIModel("gpt-4o-mini", base_url=url, api_key=API_KEY, max_retries=3),
    ),
    "anthropic": (
        FakeAnthropic,
        lambda url: AnthropicModel(
            "claude-haiku-4-5", base_url=url, api_key=API_KEY, max_retries=3
        ),
    ),
}


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    rec = Recorder(RecordStore(SQLiteKV(tmp_path / "debug.db", durable=False)), close_store=True)
    yield rec
    rec.close()


@pytest.fixture(params=sorted(PROVIDERS))
def remote(request: pytest.FixtureRequest) -> Iterator[tuple[Any, MakeModel]]:
    make_fake, make_model = PROVIDERS[request.param]
    fake = make_fake()
    yield fake, make_model
    fake.close()


def _only_run(recorder: Recorder) -> dict[str, Any]:
    recorder.flush()
    (run,) = list(recorder.store.runs())
    tree = recorder.store.tree(run["id"])
    assert tree is not None
    return tree


def test_record_returns_the_model_itself_when_recording_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAIRN_RECORD", raising=False)
    model = OpenAIModel("m", base_url="http://127.0.0.1:9/v1")
    (tmp_path / "cairn.toml").write_text("[debug]\nrecord = false\nstore = 'memory:'\n")
    assert record(model, files=load(tmp_path, project_dir=tmp_path)) is model
    assert record(model, enabled=False) is model
    (tmp_path / "cairn.toml").write_text("[debug]\nstore = 'memory:'\n")  # on by default
    wrapped = record(model, files=load(tmp_path, project_dir=tmp_path))
    assert isinstance(wrapped, RecordingModel) and wrapped.inner is not model
    assert (wrapped.provider, wrapped.name) == ("openai", "m")


def test_two_failures_then_success_is_one_step_with_three_attempts(
    recorder: Recorder, remote: tuple[Any, MakeModel]
) -> None:
    fake, make_model = remote
    fake.script.extend(
        [
            Behaviour(kind="status", status=503),
            Behaviour(kind="status", status=429, headers={"retry-after": "0"}),
            Behaviour(text="Disk is fine."),
        ]
    )
    model = recorder.wrap(make_model(fake.base_url))
    response = run_sync(model.generate(Request((user("check the disk"),))))
    assert response.text == "Disk is fine."
    tree = _only_run(recorder)
    (step,) = tree["steps"]
    attempts = step["attempt_records"]
    assert [a["status_code"] for a in attempts] == [503, 429, 200]
    assert step["attempts"] == 3 and step["status"] == "completed"
    assert [a["error"]["retryable"] for a in attempts[:2]] == [True, True]
    assert attempts[2]["error"] is None
    for a in attempts:
        assert a["started_ns"] <= a["first_byte_ns"] <= a["ended_ns"]
    assert attempts[0]["ended_ns"] <= attempts[1]["started_ns"] <= attempts[2]["started_ns"]
    assert step["started_ns"] <= attempts[0]["started_ns"]
    assert attempts[2]["ended_ns"] <= step["ended_ns"]
    assert step["usage"]["input_tokens"] > 0 and step["cost_usd"] > 0
    run = tree["run"]
    assert run["status"] == "completed" and run["kind"] == "prompt"
    assert run["summary"]["steps"] == 1 and run["summary"]["attempts"] == 3
    assert run["title"] == "check the disk"


def test_time_to_first_token_is_recorded_within_the_fake_delay(
    recorder: Recorder, remote: tuple[Any, MakeModel]
) -> None:
    fake, make_model = remote
    delay = 0.4
    fake.script.extend(
        [Behaviour(text="warm up"), Behaviour(text="a b c", first_token_delay=delay)]
    )
    model = recorder.wrap(make_model(fake.base_url))

    async def go() -> list[object]:
        await model.generate(Request((user("warm"),)))  # SDK import and connection
        return [e async for e in model.stream(Request((user("slow"),)))]

    events = run_sync(go())
    assert any(isinstance(e, TextDelta) for e in events)
    recorder.flush()
    runs = list(recorder.store.runs())  # newest first
    tree = recorder.store.tree(runs[0]["id"])
    assert tree is not None
    (step,) = tree["steps"]
    ttft = (step["first_token_ns"] - step["started_ns"]) / 1e9
    assert delay <= ttft < delay + 0.5, ttft
    assert step["first_byte_ns"] - step["started_ns"] < delay * 1e9  # headers came first
    assert step["mode"] == "stream" and step["stream"]["text_deltas"] >= 3
    assert step["response"]["text"].split() == ["a", "b", "c"]
    assert step["finish_reason"] == "stop"


def test_no_planted_secret_reaches_the_store(
    recorder: Recorder,
    remote: tuple[Any, MakeModel],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, make_model = remote
    env_secret = "pw-PLANTED-3f9a7c1e55"
    monkeypatch.setenv("DEPLOY_PASSWORD", env_secret)
    github_token = "ghp_" + "PLANTED" + "a" * 29
    cookie = "session=PLANTEDcookie42"
    fake.script.extend(
        [
            Behaviour(text=f"use {github_token} now", headers={"set-cookie": cookie}),
            Behaviour(text=f"stream {github_token}", headers={"set-cookie": cookie}),
        ]
    )
    # A fresh recorder sees the environment's secret values.
    rec = Recorder(recorder.store)
    model = rec.wrap(make_model(fake.base_url))
    request = Request((user(f"my password is {env_secret}"),))

    async def go() -> None:
        await model.generate(request)
        async for _ in model.stream(request):
            pass

    run_sync(go())
    rec.flush()
    rec.close()
    recorder.flush()
    raw = b"".join(v for _, v in recorder.store.kv.scan(b"", b"\xff" * 8))
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("debug.db*") if p.is_file())
    for planted in (API_KEY, env_secret, github_token, "PLANTEDcookie42"):
        assert planted.encode() not in raw, planted
        assert planted.encode() not in db_bytes, planted
    # …while what debugging needs is still there.
    assert b"[REDACTED]" in raw
    assert b'"input_tokens"' in raw or b'"prompt_tokens"' in raw
    assert fake.seen[0].headers.get("authorization", fake.seen[0].headers.get("x-api-key"))


def test_usage_counters_survive_redaction(recorder: Recorder) -> None:
    fake = FakeOpenAI()
    try:
        model = recorder.wrap(PROVIDERS["openai"][1](fake.base_url))
        run_sync(model.generate(Request((user("hi"),))))
        (step,) = _only_run(recorder)["steps"]
    finally:
        fake.close()
    body = step["attempt_records"][0]["response_body"]
    assert '"prompt_tokens":11' in body and '"completion_tokens":7' in body
    assert '"max_tokens"' not in body or "[REDACTED]" not in body


def test_a_provider_error_is_an_error_step_and_an_error_run(
    recorder: Recorder, remote: tuple[Any, MakeModel]
) -> None:
    fake, make_model = remote
    fake.script.append(Behaviour(kind="status", status=400))
    model = recorder.wrap(make_model(fake.base_url))
    with pytest.raises(ProviderError):
        run_sync(model.generate(Request((user("bad"),))))
    tree = _only_run(recorder)
    (step,) = tree["steps"]
    assert step["status"] == "error"
    assert step["error"]["provider_status"] == 400 and step["error"]["retryable"] is False
    assert tree["run"]["status"] == "error" and tree["run"]["summary"]["has_error"]


def test_runs_group_steps_and_nest(recorder: Recorder) -> None:
    fake = FakeOpenAI()
    try:
        model = recorder.wrap(PROVIDERS["openai"][1](fake.base_url), kind="agent_turn")

        async def go() -> None:
            with recorder.run("agent_turn", title="fix the disk") as outer:
                await model.generate(Request((user("one"),)))
                with recorder.run("suggestion") as inner:
                    await model.generate(Request((user("two"),)))
                await model.generate(Request((user("three"),)))
            assert outer.id != inner.id

        run_sync(go())
    finally:
        fake.close()
    recorder.flush()
    runs = {r["kind"]: r for r in recorder.store.runs()}
    assert set(runs) == {"agent_turn", "suggestion"}
    outer_tree = recorder.store.tree(runs["agent_turn"]["id"])
    assert outer_tree is not None
    assert [s["seq"] for s in outer_tree["steps"]] == [1, 2]
    assert [c["id"] for c in outer_tree["children"]] == [runs["suggestion"]["id"]]
    assert runs["suggestion"]["parent_id"] == runs["agent_turn"]["id"]
    assert runs["agent_turn"]["title"] == "fix the disk"
    assert runs["agent_turn"]["summary"]["steps"] == 2


def test_a_run_that_raises_is_an_error_run(recorder: Recorder) -> None:
    with pytest.raises(RuntimeError), recorder.run("bot_job"):
        raise RuntimeError("sync failed")
    run = _only_run(recorder)["run"]
    assert run["status"] == "error" and run["error"]["message"] == "sync failed"


def test_leaving_a_stream_early_interrupts_the_step(recorder: Recorder) -> None:
    fake = FakeOpenAI()
    try:
        fake.script.append(Behaviour(text=" ".join(["word"] * 50)))
        model = recorder.wrap(PROVIDERS["openai"][1](fake.base_url))

        async def go() -> None:
            stream = model.stream(Request((user("long"),)))
            async for event in stream:
                if isinstance(event, TextDelta):
                    break
            await stream.aclose()  # type: ignore[attr-defined]

        run_sync(go())
    finally:
        fake.close()
    (step,) = _only_run(recorder)["steps"]
    assert step["status"] == "interrupted"
    assert 1 <= step["stream"]["text_deltas"] < 50
    assert step["attempt_records"][0]["ended_ns"] is not None


def test_a_cancelled_call_is_interrupted(recorder: Recorder) -> None:
    fake = FakeOpenAI()
    try:
        fake.script.append(Behaviour(text="late", first_token_delay=5.0))
        model = recorder.wrap(PROVIDERS["openai"][1](fake.base_url))

        async def go() -> None:
            async def consume() -> None:
                async for _ in model.stream(Request((user("slow"),))):
                    pass

            task = asyncio.create_task(consume())
            while not fake.seen:  # cancel once the request is on the wire, not after a guess
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        run_sync(go())
    finally:
        fake.close()
    tree = _only_run(recorder)
    assert tree["steps"][0]["status"] == "interrupted"
    assert tree["run"]["status"] == "interrupted"


def test_finishing_a_step_is_idempotent_under_concurrent_finishers(recorder: Recorder) -> None:
    import threading

    model = OpenAIModel("m", base_url="http://127.0.0.1:9/v1")
    active = recorder.start_step(model, "generate", Request((user("x"),)), "prompt")
    barrier = threading.Barrier(16)
    results: list[tuple[int, bool]] = []

    def finish(i: int) -> None:
        barrier.wait()
        status = "completed" if i % 2 else "error"
        took = recorder.finish_step(active, status)  # type: ignore[arg-type]
        results.append((i, took))

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, took in results if took]
    assert len(winners) == 1
    expected = "completed" if winners[0] % 2 else "error"
    tree = _only_run(recorder)
    (step,) = tree["steps"]
    assert step["status"] == expected
    assert tree["run"]["summary"]["steps"] == 1


def test_finishing_is_idempotent_across_asyncio_tasks(recorder: Recorder) -> None:
    model = OpenAIModel("m", base_url="http://127.0.0.1:9/v1")
    active = recorder.start_step(model, "generate", Request((user("x"),)), "prompt")

    async def go() -> list[bool]:
        async def finish(i: int) -> bool:
            await asyncio.sleep(0)
            return recorder.finish_step(active, "completed" if i else "interrupted")

        return list(await asyncio.gather(*(finish(i) for i in range(50))))

    took = run_sync(go())
    assert sum(took) == 1
    (step,) = _only_run(recorder)["steps"]
    assert step["status"] == ("interrupted" if took[0] else "completed")


def test_a_storage_failure_never_breaks_the_call_and_flush_reports_it(tmp_path: Path) -> None:
    kv = SQLiteKV(tmp_path / "debug.db", durable=False)
    rec = Recorder(RecordStore(kv))
    rec.flush()
    kv.close()  # every later write fails
    fake = FakeOpenAI()
    try:
        model = rec.wrap(PROVIDERS["openai"][1](fake.base_url))
        response = run_sync(model.generate(Request((user("hi"),))))
    finally:
        fake.close()
    assert response.text
    with pytest.raises(RecorderError, match="cannot write debug records"):
        rec.flush()
    rec.flush()  # reported once, then cleared
    rec.close()


def test_a_call_does_not_wait_for_the_store(recorder: Recorder) -> None:
    fake = FakeOpenAI()
    try:
        model = recorder.wrap(PROVIDERS["openai"][1](fake.base_url))
        recorder.flush()
        recorder.store.kv.lock("llmdebug")  # the writer now blocks on its next write
        try:
            response = run_sync(model.generate(Request((user("hi"),))))
            assert response.text
            assert list(recorder.store.runs()) == []  # nothing written yet…
        finally:
            recorder.store.kv.unlock("llmdebug")
    finally:
        fake.close()
    assert _only_run(recorder)["steps"][0]["status"] == "completed"  # …and then all of it


def test_embed_calls_are_recorded_as_embed_steps(recorder: Recorder) -> None:
    fake = FakeOpenAI()
    try:
        model = recorder.wrap(
            OpenAIModel("text-embedding-3-small", base_url=fake.base_url, api_key=API_KEY)
        )
        result = run_sync(model.embed(["disk full", "oom"]))
    finally:
        fake.close()
    assert len(result.vectors) == 2
    (step,) = _only_run(recorder)["steps"]
    assert step["mode"] == "embed" and step["status"] == "completed"
    assert step["request"]["input"] == ["disk full", "oom"]
    assert step["response"] == {"model": "text-embedding-3-small", "vectors": 2, "dimensions": 8}
    assert step["usage"]["input_tokens"] == 3 and step["attempts"] == 1


def test_the_local_model_is_recorded_without_http_attempts(recorder: Recorder) -> None:
    from cairn.llm import LocalModel, Options

    model = recorder.wrap(LocalModel())
    request = Request((user("The capital of France is"),), options=Options(max_tokens=4))

    async def go() -> str:
        return "".join([e.text async for e in model.stream(request) if isinstance(e, TextDelta)])

    text = run_sync(go())
    (step,) = _only_run(recorder)["steps"]
    assert step["provider"] == "local" and step["attempts"] == 0
    assert step["attempt_records"] == []
    assert step["started_ns"] < step["first_token_ns"] <= step["ended_ns"]
    assert step["response"]["text"] == text and step["cost_usd"] == 0.0
    assert step["usage"]["output_tokens"] > 0


def test_the_wrapper_has_exactly_the_inner_models_abilities_and_records_them(
    recorder: Recorder,
) -> None:
    remote = recorder.wrap(OpenAIModel("m", base_url="http://127.0.0.1:9/v1", api_key=API_KEY))
    assert isinstance(remote, CanEmbed) and isinstance(remote, CanClose)
    assert not isinstance(remote, CanPrefill | CanScore | HasContextWindow)
    assert not isinstance(recorder.wrap(AnthropicModel("c", api_key=API_KEY)), CanEmbed)

    local = recorder.wrap(LocalModel(n_ctx=1024))
    assert isinstance(local, RecordingModel) and isinstance(local, CanPrefill | CanScore)
    assert isinstance(local, HasContextWindow) and local.n_ctx == 1024
    assert not isinstance(local, CanEmbed)
    request = Request((user("The capital of France is"),), options=Options(max_tokens=4))
    assert isinstance(local, CanPrefill) and local.prefill(request) > 0
    assert isinstance(local, CanScore)
    likely, unlikely = local.score(request, [" Paris.", " a purple giraffe of"])
    assert likely > unlikely
    recorder.flush()
    modes = []
    for run in recorder.store.runs():
        tree = recorder.store.tree(run["id"])
        assert tree is not None
        modes += [(step["mode"], step["status"]) for step in tree["steps"]]
    assert sorted(modes) == [("prefill", "completed"), ("score", "completed")]


def test_a_plain_http_client_is_recorded_step_by_step_without_its_token(
    recorder: Recorder,
) -> None:
    """The bot's GitHub client records like a model: a step (mode http) per request,
    its attempt with headers and body, the Authorization header redacted."""
    import http.server
    import json
    import threading

    import httpx2

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 404 if self.path.endswith("/missing") else 200
            body = b'{"number": 1}' if status == 200 else b'{"message": "Not Found"}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
    try:
        transport = recorder.http_transport("github")
        auth = {"Authorization": f"Bearer {token}"}
        with (
            httpx2.Client(transport=transport, headers=auth) as c,
            recorder.run("bot_job", title="sync o/r"),
        ):
            assert c.get(f"{base}/repos/o/r/issues/1").json() == {"number": 1}
            assert c.get(f"{base}/repos/o/r/missing").status_code == 404
    finally:
        server.shutdown()
    tree = _only_run(recorder)
    assert tree["run"]["kind"] == "bot_job"
    ok, missing = tree["steps"]
    assert (ok["mode"], ok["provider"], ok["status"]) == ("http", "github", "completed")
    assert ok["request_model"] == "/repos/o/r/issues/1" and ok["response"] == {"status_code": 200}
    (attempt,) = ok["attempt_records"]
    assert attempt["status_code"] == 200 and '"number":1' in attempt["response_body"]
    assert attempt["request_headers"]["authorization"] != f"Bearer {token}"
    assert missing["status"] == "error" and missing["response"] == {"status_code": 404}
    recorder.flush()
    assert token not in json.dumps(list(recorder.store.runs())) + json.dumps(tree)
