"""Listening and running: a bound socket first (clear errors), then uvicorn on it."""

from __future__ import annotations

import logging
import re
import socket
import sys

from ._app import create_app
from ._config import ServerConfig
from ._errors import ServerError

SWITCH_INTERVAL = 0.0005  # seconds; see run()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); ServerError if not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServerError(f"cannot listen on {host}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    try:
        sock = socket.create_server(address, family=family, reuse_port=False)
    except OSError as exc:
        raise ServerError(f"cannot listen on {url(host, port)}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _NoTokenInAccessLog(logging.Filter):
    """uvicorn's access log prints each request's path with its query: the printed URL
    (`/?token=…`) and `?token=` on the execute socket would put the token in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_QUERY.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s]*")


def run(config: ServerConfig, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve `config` on `sock` until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    import gc

    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level=log_level,
            access_log=log_level in ("debug", "info"),
            timeout_graceful_shutdown=10,
        )
    )
    logging.getLogger("uvicorn.access").addFilter(_NoTokenInAccessLog())
    # What start-up built (modules, the app, its schemas) lives as long as the process:
    # out of the collector's sight, a full collection no longer scans it. Collections run
    # in whichever thread allocates and hold the GIL: shorter ones pause the loop less.
    gc.freeze()
    # A thread waiting for the GIL asks for it after this long (CPython: 5 ms). The event
    # loop needs it many times to answer one request; while a worker thread parses a big
    # runbook, each of those waits would be 5 ms. Parsing gets a little slower instead.
    sys.setswitchinterval(SWITCH_INTERVAL)
    server.run(sockets=[sock])
