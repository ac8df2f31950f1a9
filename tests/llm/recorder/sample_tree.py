"""Run trees shaped as `RecordStore.tree` returns them, built from the recorder's own
dataclasses, for the exporter and the `cairn debug show` renderer."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from cairn.llm.recorder._data import Attempt, ErrorInfo, Owner, Run, Step, Summary

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
MS = 1_000_000
URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"

# Words that only occur in message contents (and the title taken from them).
QUESTION = "why is the disk on db-7 full"
ANSWER = "rotated nginx logs fill /var/log"
SYSTEM = "You are Cairn, an operations teammate."


def request(question: str = QUESTION, **options: Any) -> dict[str, Any]:
    """A normalized Request as the recorder stores it."""
    return {
        "messages": [
            {"role": "system", "content": SYSTEM, "tool_calls": [], "tool_call_id": None},
            {"role": "user", "content": question, "tool_calls": [], "tool_call_id": None},
        ],
        "tools": [],
        "options": {"temperature": None, "max_tokens": None, "stop": [], "seed": None} | options,
    }


def response(text: str = ANSWER, **kw: Any) -> dict[str, Any]:
    usage = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0}
    return {
        "text": text,
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": usage,
        "response_id": None,
        "model": None,
    } | kw


def step(
    seq: int,
    *,
    start_ms: float,
    end_ms: float | None,
    provider: str = "openai",
    model: str = "gpt-4o-mini",
    mode: str = "stream",
    **kw: Any,
) -> Step:
    """A step of run "R"; times are milliseconds after T0."""
    return Step(
        run_id="R",
        seq=seq,
        mode=mode,  # type: ignore[arg-type]
        provider=provider,
        request_model=model,
        started_ns=at(start_ms),
        ended_ns=None if end_ms is None else at(end_ms),
        **kw,
    )


def attempt(
    step_seq: int,
    seq: int,
    *,
    start_ms: float,
    end_ms: float | None,
    first_byte_ms: float | None = None,
    url: str = URL,
    **kw: Any,
) -> Attempt:
    return Attempt(
        run_id="R",
        step=step_seq,
        seq=seq,
        method="POST",
        url=url,
        started_ns=at(start_ms),
        first_byte_ns=None if first_byte_ms is None else at(first_byte_ms),
        ended_ns=None if end_ms is None else at(end_ms),
        **kw,
    )


def at(ms: float) -> int:
    return T0 + int(ms * MS)


def tree(
    run: Run, steps: Sequence[tuple[Step, Sequence[Attempt]]], children: Sequence[Run] = ()
) -> dict[str, Any]:
    """The tree of `run`, its summary computed from the steps as the recorder does."""
    summary = Summary()
    for s, attempts in steps:
        if s.status != "in_progress":
            summary.add_step(s.to_dict())
        summary.attempts += len(attempts)
    run = dataclasses.replace(run, summary=summary)
    return {
        "run": run.to_dict(),
        "steps": [
            s.to_dict() | {"attempt_records": [a.to_dict() for a in a_s]} for s, a_s in steps
        ],
        "children": [c.to_dict() for c in children],
    }


def new_run(status: str = "completed", end_ms: float | None = 2000, **kw: Any) -> Run:
    return Run(
        id="R",
        kind=kw.pop("kind", "prompt"),
        started_ns=T0,
        owner=Owner("build-host", 4242),
        title=kw.pop("title", QUESTION),
        status=status,  # type: ignore[arg-type]
        ended_ns=None if end_ms is None else at(end_ms),
        **kw,
    )


def retried_run() -> dict[str, Any]:
    """A completed 2 s run: step 1 (0-1000 ms, streamed) got 429 then 500 then 200; step
    2 (1000-2000 ms, exactly half the run) is a local model with no HTTP attempts."""
    first = step(
        1,
        start_ms=0,
        end_ms=1000,
        status="completed",
        response_model="gpt-4o-mini-2024-07-18",
        request=request(temperature=0.2, max_tokens=256, stop=["END"], seed=7),
        response=response(response_id="chatcmpl-abc", model="gpt-4o-mini-2024-07-18"),
        usage={"input_tokens": 120, "output_tokens": 30, "cache_read_tokens": 64},
        cost_usd=0.00012,
        finish_reason="stop",
        first_byte_ns=at(600),
        first_token_ns=at(700),
        stream={"events": 12, "text_chars": len(ANSWER)},
        attempts=3,
    )
    rate_limited = ErrorInfo("rate limited, retry after 1s", "RateLimitError", 429, True)
    server_error = ErrorInfo("internal server error", "InternalServerError", 500, True)
    attempts = [
        attempt(
            1, 1, start_ms=0, end_ms=100, first_byte_ms=90, status_code=429, error=rate_limited
        ),
        attempt(
            1, 2, start_ms=200, end_ms=400, first_byte_ms=390, status_code=500, error=server_error
        ),
        attempt(
            1, 3, start_ms=500, end_ms=1000, first_byte_ms=600, status_code=200, body_bytes=2048
        ),
    ]
    local = step(
        2,
        start_ms=1000,
        end_ms=2000,
        provider="local",
        model="gemma3-270m",
        mode="generate",
        status="completed",
        request=request("summarize: " + ANSWER),
        response=response("logs"),
        usage={"input_tokens": 40, "output_tokens": 5},
        cost_usd=0.0,
        finish_reason="stop",
        attempts=0,
    )
    return tree(new_run(), [(first, attempts), (local, [])])


def error_run() -> dict[str, Any]:
    """A run whose only step failed with HTTP 400 from Anthropic."""
    bad = ErrorInfo("max_tokens: must be at most 8192", "ProviderError", 400, False)
    failed = step(
        1,
        start_ms=0,
        end_ms=300,
        provider="anthropic",
        model="claude-3-5-haiku-latest",
        mode="generate",
        status="error",
        request=request(max_tokens=100_000),
        error=bad,
        attempts=1,
    )
    http = attempt(
        1,
        1,
        start_ms=10,
        end_ms=290,
        first_byte_ms=280,
        url=ANTHROPIC_URL,
        status_code=400,
        error=bad,
    )
    run = new_run("error", end_ms=300, error=ErrorInfo(bad.message, bad.type, 400, False))
    return tree(run, [(failed, [http])])


def in_progress_run() -> dict[str, Any]:
    """A run still going: step 1 done, step 2's attempt has headers but no body yet,
    step 3 has just started (no attempt)."""
    done = step(
        1,
        start_ms=0,
        end_ms=400,
        status="completed",
        usage={"input_tokens": 10, "output_tokens": 2},
        cost_usd=0.00001,
        first_byte_ns=at(100),
        first_token_ns=at(150),
        attempts=1,
    )
    streaming = step(2, start_ms=500, end_ms=None, first_byte_ns=at(700), attempts=1)
    starting = step(3, start_ms=900, end_ms=None, mode="generate")
    return tree(
        new_run("in_progress", end_ms=None, kind="agent_turn", title="fix the disk"),
        [
            (done, [attempt(1, 1, start_ms=0, end_ms=400, first_byte_ms=100, status_code=200)]),
            (
                streaming,
                [attempt(2, 1, start_ms=510, end_ms=None, first_byte_ms=700, status_code=200)],
            ),
            (starting, []),
        ],
    )


def empty_run(status: str = "completed", end_ms: float | None = 0) -> dict[str, Any]:
    """A run with no steps (zero duration by default)."""
    return tree(new_run(status, end_ms=end_ms, title=""), [])


def family_run() -> dict[str, Any]:
    """A bot job with a parent run and two child runs."""
    children = [
        new_run(end_ms=300, kind="suggestion", title="child one"),
        new_run("error", end_ms=None, kind="check", title="child two"),
    ]
    children = [dataclasses.replace(c, id=f"C{i}", parent_id="R") for i, c in enumerate(children)]
    run = new_run(kind="bot_job", parent_id="P", attrs={"job": "triage"})
    return tree(run, [], children)
