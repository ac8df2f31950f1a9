"""`POST /v1/ask`: the operations assistant (`cairn.agent`, as `cairn ask` runs it),
streamed as server-sent events, with approvals asked over the same session.

The body: `{"question": "…", "path": "runbook.md"?, "model": "…"?}`; the assistant may
open the runbook `path` (relative to the server's root) or, without one, the runbooks at
the root's top level. The reply is `text/event-stream`:

    event: session        data: {"session": id}                  first
    event: text           data: {"text": "…"}                    the answer, as it streams
    event: tool_started   data: {"id", "name", "arguments"}
    event: approval       data: {"session", "call", "name", "arguments"}
    event: tool_finished  data: {"id", "name", "result", "error"}
    event: answer         data: {"text", "stopped"}               last
    event: error          data: {"status", "message"}             instead of an answer

A cell run (`run_cell`) waits for `POST /v1/ask/{session}/approve` with `{"call": id,
"approve": true|false, "who": "name"}` (the decider is logged); unanswered within
`APPROVAL_TIMEOUT` seconds, or when the client goes away, it is denied. Speculation is
never visible: events are those of the calls the model really made.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ._errors import ApiError
from ._runbooks import resolve_path
from ._sse import Send, event_stream
from ._state import ServerState

if TYPE_CHECKING:
    from ..agent import Tool
    from ..llm import ToolCall

log = logging.getLogger("cairn.server")
APPROVAL_TIMEOUT = 300.0


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=20_000)
    path: str | None = Field(None, description="A runbook the assistant may open.")
    model: str | None = Field(None, description="One of the models the server offers.")


class Approval(BaseModel):
    call: str = Field(..., min_length=1)
    approve: bool
    who: str = Field(..., min_length=1, max_length=200)


def ask_routes(router: APIRouter, state: ServerState) -> None:
    pending: dict[tuple[str, str], asyncio.Future[bool]] = {}

    @router.post("/ask", tags=["agent"])
    async def ask_route(body: AskRequest, request: Request) -> StreamingResponse:
        """Ask the operations assistant; events as above."""
        from ..agent import (
            Agent,
            AgentError,
            Answer,
            OpsContext,
            Predictors,
            RecorderTracer,
            Text,
            ToolFinished,
            ToolStarted,
            assistant,
            docs_search,
            opening,
        )
        from ..llm.recorder import Recorder, RecordingModel
        from ..notebook import new_ulid
        from ._suggest import _model

        if body.path is not None:
            full = resolve_path(state.root, body.path)
            if not full.is_file():
                raise ApiError(404, f"{body.path}: no such file under the server's root")
            runbooks = [full]
        else:
            runbooks = sorted(p for p in state.root.glob("*.md") if p.is_file())
        model = _model(state, body.model, kind="agent_turn")
        kv = state.bot_store()
        config = state.config
        log_dir = config.config_dir / "logs" if config.config_dir is not None else None
        search = await asyncio.to_thread(docs_search, kv) if kv is not None else None
        session = new_ulid()
        files = state.config_files()
        table = files.table("agent") if files else None
        predictors = await asyncio.to_thread(Predictors.configured, kv, table)
        recorder = model.recorder if isinstance(model, RecordingModel) else None
        if not isinstance(recorder, Recorder):  # only a real recorder holds runs
            recorder = None
        ops = OpsContext(
            runbooks=runbooks,
            search=search,
            kv=kv,
            log_dir=log_dir,
            learn=config.learning_logs,
            env=None,
        )

        async def produce(send: Send) -> None:
            async def approve(call: ToolCall, tool: Tool) -> bool:
                future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
                pending[(session, call.id)] = future
                send(
                    "approval",
                    {
                        "session": session,
                        "call": call.id,
                        "name": call.name,
                        "arguments": call.arguments,
                    },
                )
                try:
                    return await asyncio.wait_for(future, APPROVAL_TIMEOUT)
                except TimeoutError:
                    return False
                finally:
                    pending.pop((session, call.id), None)

            tracer = RecorderTracer(recorder) if recorder is not None else None
            agent = assistant(
                model, ops, approve=approve, predictors=list(predictors), tracer=tracer
            )
            send("session", {"session": session})
            if recorder is None:
                await turn(agent, send)
                return
            # One run holds the turn: its model calls, tool executions and speculation.
            with recorder.run("agent_turn", title=body.question[:80]):
                await turn(agent, send)

        async def turn(agent: Agent, send: Send) -> None:
            asked: dict[str, str] = {}  # call id → arguments
            made: list[tuple[str, str]] = []  # the calls that worked, for the history
            try:
                async for event in agent.run(opening(body.question, ops)):
                    if isinstance(event, Text):
                        send("text", {"text": event.text})
                    elif isinstance(event, ToolStarted):
                        asked[event.id] = event.arguments
                        started = {"id": event.id, "name": event.name, "arguments": event.arguments}
                        send("tool_started", started)
                    elif isinstance(event, ToolFinished):
                        if not event.error:
                            made.append((event.name, asked.get(event.id, "{}")))
                        finished = {
                            "id": event.id,
                            "name": event.name,
                            "result": event.result,
                            "error": event.error,
                        }
                        send("tool_finished", finished)
                    elif isinstance(event, Answer):
                        send("answer", {"text": event.text, "stopped": event.stopped})
                        await asyncio.to_thread(predictors.remember, body.question, made)
            except AgentError as exc:
                send("error", {"status": 502, "message": state.public(str(exc))})

        def forget_approvals() -> None:
            for key in [k for k in pending if k[0] == session]:
                pending.pop(key).cancel()

        return event_stream(produce, request, state, "ask", on_close=forget_approvals)

    @router.post("/ask/{session}/approve", tags=["agent"])
    async def approve_route(session: str, body: Approval) -> dict[str, Any]:
        """Approve or deny a call the assistant is waiting on."""
        future = pending.get((session, body.call))
        if future is None or future.done():
            raise ApiError(404, f"no call {body.call!r} of session {session!r} awaits approval")
        log.info(
            "ask %s: %s %s by %s",
            session,
            "approved" if body.approve else "denied",
            body.call,
            body.who,
        )
        future.set_result(body.approve)
        return {"session": session, "call": body.call, "approved": body.approve, "who": body.who}
