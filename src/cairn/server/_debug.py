"""The debug recorder's runs for the web page: `GET /v1/debug/runs` (newest first) and
`GET /v1/debug/runs/{id}` (the run's tree, and the same text `cairn debug show` prints:
steps, attempts and the timing waterfall). 503 when the server has no config dir to
read the recorder's settings from."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ._errors import ApiError
from ._state import ServerState


def debug_routes(router: APIRouter, state: ServerState) -> None:
    opened: dict[str, Any] = {}
    lock = threading.Lock()

    def store() -> Any:
        from ..llm.recorder import load_settings, open_record_store

        files = state.config_files()
        if files is None:
            raise ApiError(503, "this server records no model calls (start it with a config dir)")
        with lock:
            if "store" not in opened:
                opened["store"] = open_record_store(load_settings(files))
            return opened["store"]

    @router.get("/debug/runs", tags=["debug"])
    def list_runs(limit: int = Query(50, ge=1, le=1000)) -> JSONResponse:
        """The latest recorded runs, newest first."""
        rows = [
            {
                "id": r.get("id"),
                "kind": r.get("kind"),
                "title": r.get("title"),
                "status": r.get("status"),
                "started_ns": r.get("started_ns"),
                "ended_ns": r.get("ended_ns"),
                "steps": (r.get("summary") or {}).get("steps"),
                "cost_usd": (r.get("summary") or {}).get("cost_usd"),
            }
            for r in itertools.islice(store().runs(), limit)
        ]
        return JSONResponse(rows)

    @router.get("/debug/runs/{run_id}", tags=["debug"])
    def show_run(run_id: str) -> JSONResponse:
        """A run's steps and attempts, and `cairn debug show`'s text of it."""
        from ..llm.recorder import render_run

        records = store()
        ids = records.resolve(run_id)
        if len(ids) != 1:
            why = "no run" if not ids else f"{len(ids)} runs"
            raise ApiError(404, f"{why} with an id starting {run_id!r}")
        tree = records.tree(ids[0])
        if tree is None:
            raise ApiError(404, f"run {run_id!r} is gone")
        return JSONResponse({"tree": tree, "text": render_run(tree, width=110)})
