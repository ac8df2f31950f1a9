"""Cairn's HTTP/WebSocket API: notebooks parsed and serialized, cells listed and run with
their output streamed, every execution recorded in the learning log as `cairn run` does.

It runs shell commands, so it listens on 127.0.0.1, wants a bearer token on every route
but `/health`, and refuses WebSockets from foreign origins.
"""

from __future__ import annotations

from ._app import create_app
from ._config import DEFAULT_HOST, DEFAULT_MAX_EXECUTIONS, DEFAULT_PORT, ServerConfig
from ._errors import ApiError, ServerError
from ._run import listen, run, url
from ._token import Token, load_or_create_token

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_EXECUTIONS",
    "DEFAULT_PORT",
    "ApiError",
    "ServerConfig",
    "ServerError",
    "Token",
    "create_app",
    "listen",
    "load_or_create_token",
    "run",
    "url",
]
