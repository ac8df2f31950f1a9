"""The execute WebSocket: one cell per connection, output streamed as it arrives.

The cell runs in a worker thread (`Execution.wait` blocks); its output reaches the
socket through an asyncio queue fed with `call_soon_threadsafe`, with a byte budget so
a slow client slows the cell down instead of growing the server's memory. The worker
records `cell.started` before the process starts and `cell.executed` once it is over
through `learnlog.SessionEvents`, as `cairn run` does, so both give the same events.
A client that goes away cancels the cell; the event still records it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import learnlog
from ..kernel import CellSpec, Execution, KernelError, Program, RunOptions, cell_spec
from ..notebook import Cell, Notebook
from ._bodies import collector_paused
from ._errors import ApiError
from ._models import CancelMessage, ClientMessage, ExecuteRequest, ResizeMessage, StdinMessage
from ._runbooks import load_runbook, runnable_cell
from ._sessions import ServerSession
from ._state import ServerState, end_sessions

log = logging.getLogger("cairn.server")

FIRST_MESSAGE_TIMEOUT = 30.0  # seconds a client has to say what to run
OUTBOX_BYTES = 4 << 20  # output bytes queued for one client before the cell waits
# Output messages carry at most this many bytes (base64: a third more); consecutive
# chunks of one stream are merged up to it.
BATCH_BYTES = 256 << 10
_client_messages: TypeAdapter[StdinMessage | ResizeMessage | CancelMessage] = TypeAdapter(
    ClientMessage
)

Message = dict[str, Any]
# (stream, payload, size): stream "" is a message, "!" a message that ends the connection
# with an error; None ends the stream.
_Item = tuple[str, Message | bytes, int] | None


class _Outbox:
    """Messages from the worker thread to the socket, in order, within a byte budget."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int = OUTBOX_BYTES) -> None:
        self._loop = loop
        self._limit = limit
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._held: list[_Item] = []  # an item taken to look at, not yet handed out
        self._cond = threading.Condition()
        self._pending = 0
        self.closed = False  # the client is gone: output is dropped, the end still arrives

    # -- worker thread -----------------------------------------------------------------

    def output(self, stream: str, data: memoryview) -> None:
        """The kernel's output callback: copy the chunk, wait while the client lags."""
        with self._cond:
            while self._pending > self._limit and not self.closed:
                self._cond.wait()
            if self.closed:
                return
            self._pending += len(data)
        # One read can bring a MiB; messages stay small enough for any client's limit.
        for start in range(0, len(data), BATCH_BYTES):
            piece = bytes(data[start : start + BATCH_BYTES])
            self._put((stream, piece, len(piece)))

    def message(self, message: Message, *, fatal: bool = False) -> None:
        self._put(("!" if fatal else "", message, 0))

    def end(self) -> None:
        self._put(None)

    def _put(self, item: _Item) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    # -- event loop ----------------------------------------------------------------------

    def post(self, message: Message) -> None:
        self._queue.put_nowait(("", message, 0))

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._pending = 0
            self._cond.notify_all()

    async def get(self) -> _Item:
        if self._held:
            return self._held.pop()
        item = await self._queue.get()
        self._consumed(item)
        return item

    def take_output(self, stream: str, room: int) -> bytes | None:
        """The next chunk if it is already queued, of `stream` and at most `room` bytes."""
        if not self._held:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return None
            self._consumed(item)
            self._held.append(item)
        item = self._held[0]
        if item is None or item[0] != stream or not isinstance(item[1], bytes):
            return None
        if len(item[1]) > room:
            return None
        self._held.clear()
        return item[1]

    def _consumed(self, item: _Item) -> None:
        if item is not None and item[2]:
            with self._cond:
                self._pending = max(0, self._pending - item[2])
                self._cond.notify_all()


class _Control:
    """Client requests for an execution that may not exist yet (replayed once it does)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._execution: Execution | None = None
        self._pending: list[tuple[str, Any]] = []
        self._done = False

    def attach(self, execution: Execution) -> None:
        with self._lock:
            self._execution = execution
            pending, self._pending = self._pending, []
            for op, arg in pending:
                self._apply(execution, op, arg)

    def detach(self) -> None:
        """The execution is over: later requests are dropped (its wake pipe is closed)."""
        with self._lock:
            self._execution = None
            self._done = True

    def request(self, op: str, arg: Any = None) -> None:
        with self._lock:
            if self._done:
                return
            execution = self._execution
            if execution is None:
                self._pending.append((op, arg))
                return
            self._apply(execution, op, arg)

    @staticmethod
    def _apply(execution: Execution, op: str, arg: Any) -> None:
        if op == "cancel":
            execution.cancel()
        elif op == "resize":
            execution.resize(*arg)
        elif op == "stdin":
            execution.send(arg)


@dataclass
class _Job:
    """One accepted execution; the worker owns its slot and session from `run` on."""

    state: ServerState
    control: _Control
    rel: str  # the runbook and the cell as the client named them (path under the root)
    ref: str
    path: Path
    nb: Notebook
    cell: Cell
    spec: CellSpec
    program: Program
    session: ServerSession
    is_new: bool
    evicted: list[ServerSession]
    winsize: tuple[int, int]


# -- the connection ----------------------------------------------------------------------


async def execute(websocket: WebSocket) -> None:
    """WS /v1/execute: the protocol is described in the app's OpenAPI description."""
    state: ServerState = websocket.app.state.cairn  # the token and origin are checked (_gate)
    await websocket.accept()
    try:
        request = await _first_message(websocket)
        job = await _accepted(state, request)
    except ApiError as exc:
        await _refuse(websocket, ApiError(exc.status, state.public(exc.message)))
        return
    except (WebSocketDisconnect, RuntimeError):
        return
    await _stream(websocket, job)


async def _first_message(websocket: WebSocket) -> ExecuteRequest:
    try:
        message = await asyncio.wait_for(websocket.receive(), FIRST_MESSAGE_TIMEOUT)
    except TimeoutError:
        raise ApiError(408, f"no request within {FIRST_MESSAGE_TIMEOUT:g} s") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise ApiError(422, "send the request as a JSON text message")
    try:
        return ExecuteRequest.model_validate_json(text)
    except ValidationError as exc:
        raise ApiError(422, _validation_message(exc)) from None


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}" for err in exc.errors()
    )


async def _refuse(websocket: WebSocket, exc: ApiError) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_text(
            json.dumps({"type": "error", "status": exc.status, "message": exc.message})
        )
        await websocket.close(code=4000 + exc.status, reason=exc.message[:120])


async def _accepted(state: ServerState, request: ExecuteRequest) -> _Job:
    """`_accept` in a worker thread: it reads and parses the runbook (seconds for a large
    one) and starts a session, none of which may hold up the event loop. A handler
    cancelled meanwhile (server shutdown) gives back what the thread still takes."""
    pending = asyncio.ensure_future(asyncio.to_thread(_accept, state, request))
    try:
        return await asyncio.shield(pending)
    except asyncio.CancelledError:
        pending.add_done_callback(_give_back)
        raise


def _give_back(accepted: asyncio.Future[_Job]) -> None:
    if accepted.cancelled() or accepted.exception() is not None:
        return
    job = accepted.result()
    job.state.sessions.release(job.session, ok=None)
    job.state.slots.release()
    ended = list(job.evicted)
    if job.is_new:
        with contextlib.suppress(ApiError):
            ended.append(job.state.sessions.remove(job.session.id))
    threading.Thread(target=end_sessions, args=(ended,), daemon=True).start()


def _accept(state: ServerState, request: ExecuteRequest) -> _Job:
    """Take a slot and a session for the request, or refuse it (ApiError). Blocking."""
    with collector_paused():  # the runbook's notebook lives only inside: see there
        return _accept_paused(state, request)


def _accept_paused(state: ServerState, request: ExecuteRequest) -> _Job:
    if not state.slots.acquire():
        raise ApiError(
            429, f"too many executions running (limit {state.slots.limit}); try again later"
        )
    job_control = _Control()
    try:
        _, nb = load_runbook(state.root, request.path)
        # Events and the session name the runbook as `cairn run` would: the root as
        # given, not with its symlinks resolved.
        path = Path(os.path.normpath(state.given_root / request.path))
        cell = runnable_cell(nb, request.cell, request.path)
        spec = cell_spec(cell, RunOptions(timeout=request.timeout, interactive=request.interactive))
        session, evicted = state.sessions.acquire(request.session, nb, path, request.path)
        session.cancel = lambda: job_control.request("cancel")
    except KernelError as exc:  # a bad `timeout` attribute
        state.slots.release()
        raise ApiError(400, str(exc)) from None
    except BaseException:
        state.slots.release()
        raise
    try:
        if cell.attributes.get("cwd"):  # as `cairn run` does: the cell moves the session
            kernel = session.kernel
            kernel.cwd = os.path.normpath(os.path.join(kernel.cwd, cell.attributes["cwd"]))
        program = session.kernel.resolve(spec)
    except KernelError as exc:
        state.sessions.release(session, ok=None)
        state.slots.release()
        # Ending sessions waits for the learning log's disk: not on the event loop.
        threading.Thread(target=end_sessions, args=(evicted,), daemon=True).start()
        raise ApiError(400, str(exc)) from None
    return _Job(
        state=state,
        control=job_control,
        rel=request.path,
        ref=request.cell,
        path=path,
        nb=nb,
        cell=cell,
        spec=spec,
        program=program,
        session=session,
        is_new=not session.announced,
        evicted=evicted,
        winsize=(request.rows, request.cols),
    )


async def _stream(websocket: WebSocket, job: _Job) -> None:
    loop = asyncio.get_running_loop()
    outbox = _Outbox(loop)
    worker = threading.Thread(
        target=_work, args=(job, outbox), name=f"cairn-execute-{job.cell.name}", daemon=True
    )
    job.state.workers.add(worker)
    worker.start()
    receiver = asyncio.create_task(_receive(websocket, job, outbox))
    close_code = 1000
    try:
        while (batch := await _next_batch(outbox)) is not None:
            message, fatal = batch
            if outbox.closed:
                continue
            if fatal:
                close_code = 4000 + int(message["status"])
            if message["type"] == "error":
                message["message"] = job.state.public(message["message"])
            try:
                await websocket.send_text(json.dumps(message))
            except (WebSocketDisconnect, RuntimeError, OSError):
                job.control.request("cancel")
                outbox.close()
        if not outbox.closed:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await websocket.close(code=close_code)
    finally:
        if worker.is_alive():  # the handler itself was cancelled (server shutdown)
            job.control.request("cancel")
            outbox.close()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver


async def _next_batch(outbox: _Outbox) -> tuple[Message, bool] | None:
    """The next message to send and whether it ends the connection with an error;
    chunks of one stream already queued are merged into one message."""
    item = await outbox.get()
    if item is None:
        return None
    stream, payload, _ = item
    if isinstance(payload, dict):
        return payload, stream == "!"
    data = bytearray(payload)
    room = BATCH_BYTES - len(data)
    while len(data) < BATCH_BYTES and (following := outbox.take_output(stream, room)) is not None:
        data += following
        room = BATCH_BYTES - len(data)
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "output", "stream": stream, "data": encoded}, False


async def _receive(websocket: WebSocket, job: _Job, outbox: _Outbox) -> None:
    """Client messages while the cell runs; a disconnect cancels the cell."""
    while True:
        try:
            message = await websocket.receive()
        except (RuntimeError, OSError):
            message = {"type": "websocket.disconnect"}
        if message["type"] == "websocket.disconnect":
            job.control.request("cancel")
            outbox.close()
            return
        text = message.get("text")
        if text is None:
            outbox.post(_error(422, "send control messages as JSON text"))
            continue
        try:
            request = _client_messages.validate_json(text)
        except ValidationError as exc:
            outbox.post(_error(422, _validation_message(exc)))
            continue
        if isinstance(request, CancelMessage):
            job.control.request("cancel")
        elif isinstance(request, ResizeMessage):
            job.control.request("resize", (request.rows, request.cols))
        elif not job.spec.interactive:
            outbox.post(_error(409, "stdin goes to interactive cells only; this one uses pipes"))
        else:
            try:
                data = base64.b64decode(request.data, validate=True)
            except (binascii.Error, ValueError):
                outbox.post(_error(422, "stdin data: not valid base64"))
                continue
            job.control.request("stdin", data)


def _error(status: int, message: str) -> Message:
    return {"type": "error", "status": status, "message": message}


# -- the worker thread -------------------------------------------------------------------


def _work(job: _Job, outbox: _Outbox) -> None:
    """Record, run and record again; always releases the slot and ends the stream."""
    ok: bool | None = None
    final: list[Message] = []
    try:
        ok = _run(job, outbox, final)
    except Exception as exc:  # a bug: say so to the client instead of hanging it
        log.exception("execution of %s failed", job.cell.name)
        final.append(_error(500, f"internal error: {type(exc).__name__}: {exc}"))
    finally:
        job.state.sessions.release(job.session, ok=ok)
        job.state.slots.release()
        # Only now the client hears the end: it may start the next cell at once.
        for message in final:
            outbox.message(message, fatal=message["type"] == "error")
        outbox.end()
        job.state.workers.discard(threading.current_thread())


def _run(job: _Job, outbox: _Outbox, final: list[Message]) -> bool | None:
    session, kernel, cell, spec = job.session, job.session.kernel, job.cell, job.spec
    end_sessions(job.evicted)
    events = learnlog.SessionEvents(
        session_id=session.id, path=job.path, nb=job.nb, client="server"
    )
    try:
        if job.is_new:
            events.started(kernel.cwd)
            session.announced = True
        events.cell_started(cell, spec, job.program, kernel.cwd)
    except Exception as exc:  # no learning log, no execution
        log.error("learning log: %s", exc)
        final.append(_error(503, f"the learning log cannot record the execution: {exc}"))
        return None
    try:
        execution, program, state_file = kernel.prepare(
            spec, on_output=outbox.output, winsize=job.winsize
        )
        job.control.attach(execution)
        pid = execution.start()
    except KernelError as exc:
        final.append(_error(400, str(exc)))
        return None
    outbox.message(
        {
            "type": "started",
            "pid": pid,
            "session": session.id,
            "cell": {"id": cell.id, "name": cell.name},
        }
    )
    try:
        result = kernel.finish(spec, program, execution, state_file)
    finally:
        job.control.detach()
    proc = result.process
    try:
        events.cell_executed(cell, result)
    except Exception as exc:
        log.error("learning log: cannot record the execution of %s: %s", cell.name, exc)
        final.append(_error(503, f"the cell ran but the learning log could not record it: {exc}"))
    else:
        if job.state.prefill is not None:  # its output is in the log: the next prompt can be read
            job.state.prefill.after_run(job.rel, job.ref)
    final.insert(
        0,
        {
            "type": "exited",
            "exit_code": proc.exit_code,
            "duration_ms": int(proc.duration * 1000),
            "timed_out": proc.timed_out,
            "cancelled": proc.cancelled,
        },
    )
    return result.ok
