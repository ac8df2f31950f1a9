"""The FastAPI application: authentication, the HTTP routes, and the execute socket."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response, Security
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPBearer

from .. import __version__
from ..notebook import Notebook, NotebookError, parse, serialize, to_json, write_atomic
from ._ask import ask_routes
from ._bodies import ThreadedBodyRoute, collector_paused, json_response
from ._bot import bot_action_routes, bot_routes, bot_runner
from ._config import ServerConfig
from ._debug import debug_routes
from ._errors import ApiError
from ._execute import execute
from ._gate import TokenGate
from ._limits import BodyLimit
from ._models import (
    CellEdit,
    CellSummary,
    FileCells,
    FileList,
    Health,
    NotebookJSON,
    ParseRequest,
    SaveRequest,
    SerializeRequest,
    SerializeResponse,
    SessionInfo,
    SessionList,
)
from ._prefill import Prefill
from ._runbooks import etag_of, load_runbook, resolve_path
from ._sessions import ServerSession
from ._state import ServerState, end_sessions
from ._suggest import SuggestRequest, prepare_suggestion, suggest_routes
from ._web import WebSessions, web_routes

DESCRIPTION = """\
Cairn's local API: runbooks as notebooks, and cells executed with their output streamed.

Every route but `GET /health` needs the token `cairn serve` printed at its first start
(`Authorization: Bearer <token>`). File paths are relative to the directory the server
serves and may not leave it. A request body over the server's limit (`cairn serve
--max-body-mb`, 64 MiB unless told) is refused with 413.

## Executing a cell: `WS /v1/execute`

Connect with the token in the `Authorization` header or as `?token=`. Browsers may only
connect from the server's own origin (`http://127.0.0.1:PORT`, `http://localhost:PORT`).

1. The client sends `{"path": "ops/deploy.md", "cell": "name-or-id"}` and optionally
   `"session"` (a session id, to reuse its env and cwd), `"interactive"` (PTY or pipes),
   `"rows"`/`"cols"` and `"timeout"` (seconds; the cell's own `timeout` wins).
2. The server sends `{"type": "started", "pid": N, "session": ID, "cell": {"id", "name"}}`,
   then `{"type": "output", "stream": "stdout"|"stderr"|"pty", "data": BASE64}` as output
   arrives, then `{"type": "exited", "exit_code": N, "duration_ms": N, "timed_out": B,
   "cancelled": B}` once the execution is in the learning log, and closes (1000).
3. Meanwhile the client may send `{"type": "stdin", "data": BASE64}` (interactive cells),
   `{"type": "resize", "rows": R, "cols": C}` and `{"type": "cancel"}`. Closing the
   connection cancels the cell.

Refusals are `{"type": "error", "status": S, "message": ...}` followed by close code
4000 + S: 400 bad path or cell, 404 unknown file, cell or session, 409 session busy,
422 malformed request, 429 too many executions, 503 learning log unavailable.
"""


def create_app(config: ServerConfig) -> FastAPI:
    """The API for the runbooks under `config.root`, guarded by `config.token`."""
    state = ServerState.of(config)
    if config.prefill:
        state.prefill = Prefill(
            lambda path, cell: prepare_suggestion(
                state, SuggestRequest.model_validate({"path": path, "after": cell})
            )
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.learning is not None:
            state.learning.start()
        if config.bot:
            state.bot_runner = bot_runner(state)
            if state.bot_runner is not None:
                state.bot_runner.start()
        yield
        await asyncio.to_thread(state.shutdown)

    app = FastAPI(
        title="Cairn",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.cairn = state
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    web_sessions = WebSessions()
    app.add_middleware(
        TokenGate, token=config.token, origins=state.origins, sessions=web_sessions
    )  # outermost

    @app.get("/health", response_model=Health, tags=["server"])
    async def health() -> Health:
        """Whether the server is up (no token needed). Answered on the event loop itself,
        which nothing blocks: it needs no worker thread, however busy they are."""
        return Health(
            version=__version__,
            learning_logs=config.learning_logs,
            prefill=state.prefill is not None,
        )

    # The scheme is declared for the docs only: TokenGate has checked the token already.
    router = APIRouter(
        prefix="/v1", dependencies=[Security(_BEARER)], route_class=ThreadedBodyRoute
    )
    _notebook_routes(router)
    _file_routes(router, state)
    _session_routes(router, state)
    suggest_routes(router, state)
    ask_routes(router, state)
    debug_routes(router, state)
    bot_action_routes(router, state)
    app.include_router(router)
    bot_routes(app, state)
    app.add_api_websocket_route("/v1/execute", execute)
    _docs_routes(app, config)
    web_routes(app, config.token, web_sessions)
    return app


_BEARER = HTTPBearer(auto_error=False, description="The token `cairn serve` printed.")


# Endpoints that parse, list or write runbooks are sync functions (FastAPI runs them in
# worker threads) that return encoded responses: no runbook-sized work on the event loop.


def _notebook_routes(router: APIRouter) -> None:
    @router.post("/notebooks/parse", response_model=NotebookJSON, tags=["notebooks"])
    def parse_notebook(body: ParseRequest) -> Response:
        """Parse Markdown into the notebook's stable JSON (`cairn notebook to-json`)."""
        return json_response(to_json(parse(body.markdown)))

    @router.post("/notebooks/serialize", response_model=SerializeResponse, tags=["notebooks"])
    def serialize_notebook(body: SerializeRequest) -> Response:
        """Apply source edits to cells and write the Markdown back; only those cells'
        bytes change."""
        nb = parse(body.markdown)
        _apply_edits(nb, body.edits)
        return json_response(SerializeResponse(markdown=serialize(nb)))


def _apply_edits(nb: Notebook, edits: list[CellEdit]) -> None:
    seen: set[int] = set()
    for edit in edits:
        if edit.index >= len(nb.cells):
            raise ApiError(
                422, f"edits: no cell {edit.index}; the runbook has {len(nb.cells)} cells"
            )
        if edit.index in seen:
            raise ApiError(422, f"edits: cell {edit.index} is edited twice")
        seen.add(edit.index)
        nb.cells[edit.index].source = edit.source


MAX_LISTED = 2_000  # runbooks a file list shows
_SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__"})


def _runbook_paths(root: Path) -> tuple[list[str], bool]:
    """The Markdown files under `root`, relative and sorted, hidden and tool directories
    skipped; whether the list was cut at MAX_LISTED."""
    found: list[str] = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        for name in sorted(names):
            if name.endswith(".md") and not name.startswith("."):
                found.append(str((Path(directory) / name).relative_to(root)))
                if len(found) > MAX_LISTED:
                    return sorted(found[:MAX_LISTED]), True
    return sorted(found), False


def _file_routes(router: APIRouter, state: ServerState) -> None:
    @router.get("/files", response_model=FileList, tags=["files"])
    def list_files() -> FileList:
        """The runbooks under the server's root (what the web page lists)."""
        files, truncated = _runbook_paths(state.root)
        return FileList(files=files, truncated=truncated)

    @router.get("/files/notebook", response_model=NotebookJSON, tags=["files"])
    def file_notebook(
        path: str = Query(description="The runbook, relative to the server's root."),
    ) -> Response:
        """A runbook as the notebook's JSON (`cairn notebook to-json`), with its version
        in `ETag`."""
        with collector_paused():
            full, nb = load_runbook(state.root, path)
            response = json_response(to_json(nb))
            del nb
        response.headers["etag"] = etag_of(full.read_bytes())
        return response

    @router.get("/files/outputs", tags=["files"])
    def file_outputs(
        path: str = Query(description="The runbook, relative to the server's root."),
    ) -> JSONResponse:
        """What each cell of the runbook printed when it last ran (from the learning log's
        history, as the copilot reads it): a list of executions with `known_id`,
        `known_name`, `exit_code`, `time`, `stdout`, `stderr`."""
        from ..copilot import executions_for

        full = resolve_path(state.root, path)
        if not full.is_file():
            raise ApiError(404, f"{path}: no such file under the server's root")
        kv = state.bot_store()
        config_dir = state.config.config_dir
        if kv is None or config_dir is None:
            raise ApiError(503, "this server keeps no output history (start it with a config dir)")
        return JSONResponse(executions_for(kv, config_dir / "logs", full))

    @router.put("/files/notebook", response_model=NotebookJSON, tags=["files"])
    def save_notebook(
        body: SaveRequest,
        path: str = Query(description="The runbook, relative to the server's root."),
        if_match: str | None = Header(None, description="The ETag the edits were made on."),
    ) -> Response:
        """Save cell edits through the lossless serializer: only the edited cells' bytes
        change, written atomically. `If-Match` must name the version the edits were made
        on (428 without it, 409 when the file changed on disk since; `*` applies them to
        whatever is on disk now, the page's "overwrite")."""
        full = resolve_path(state.root, path)
        if not full.is_file():
            raise ApiError(404, f"{path}: no such file under the server's root")
        if if_match is None:
            raise ApiError(428, "send If-Match with the ETag the runbook was loaded with")
        with collector_paused():
            raw = full.read_bytes()
            current = etag_of(raw)
            if if_match.strip() not in ("*", current):
                raise ApiError(
                    409,
                    f"{path} changed on disk since it was loaded: reload it, or save again"
                    " to overwrite (If-Match: *)",
                )
            try:
                nb = parse(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise ApiError(400, f"{path} is not UTF-8 text; not editing it") from None
            _apply_edits(nb, body.edits)
            data = serialize(nb).encode("utf-8")
            try:
                write_atomic(full, data)
            except NotebookError as exc:
                raise ApiError(409, state.public(str(exc))) from None
            response = json_response(to_json(parse(data.decode("utf-8"))))
        response.headers["etag"] = etag_of(data)
        return response

    @router.get("/files/cells", response_model=FileCells, tags=["files"])
    def file_cells(
        path: str = Query(description="The runbook, relative to the server's root."),
    ) -> Response:
        """The code cells of a runbook, as `cairn list` shows them."""
        with collector_paused():
            _, nb = load_runbook(state.root, path)
            listed = FileCells(
                path=path,
                cells=[
                    CellSummary(
                        name=c.name,
                        id=c.attributes.get("id") or None,
                        language=c.language,
                        first_command=c.first_command,
                        interactive=c.interactive,
                        line=c.line,
                    )
                    for c in nb.code_cells()
                ],
            )
            del nb
            response = json_response(listed)
            del listed
        return response


def _session_routes(router: APIRouter, state: ServerState) -> None:
    @router.get("/sessions", response_model=SessionList, tags=["sessions"])
    def list_sessions() -> SessionList:
        """Sessions, most recently used first."""
        return SessionList(sessions=[_session_info(s) for s in state.sessions.snapshot()])

    @router.delete("/sessions/{session_id}", status_code=204, tags=["sessions"])
    def delete_session(session_id: str) -> Response:
        """End an idle session (409 while it runs a cell)."""
        end_sessions([state.sessions.remove(session_id)])
        return Response(status_code=204)


def _session_info(session: ServerSession) -> SessionInfo:
    return SessionInfo(
        id=session.id,
        path=session.path,
        cwd=session.kernel.cwd,
        created=session.created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        executions=session.executions,
        failures=session.failures,
        busy=session.busy,
    )


def _docs_routes(app: FastAPI, config: ServerConfig) -> None:
    """OpenAPI and Swagger UI, behind the token too (TokenGate takes `?token=` here, for
    a browser)."""

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"/openapi.json?token={quote(config.token, safe='')}", title="Cairn API"
        )


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    state: ServerState = request.app.state.cairn
    return JSONResponse({"detail": state.public(exc.message)}, status_code=exc.status)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    message = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ())) or 'request'}: {err.get('msg', '')}"
        for err in exc.errors()
    )
    state: ServerState = request.app.state.cairn
    return JSONResponse(
        {
            "detail": state.public(message) or "malformed request",
            "errors": jsonable_encoder(exc.errors()),
        },
        status_code=422,
    )
