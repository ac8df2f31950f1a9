"""`cairn serve`: the API over a directory of runbooks. FastAPI and uvicorn are imported
only when the command runs, so that every other command starts quickly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ._app import app
from ._settings import common_options, settings

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _say(message: str) -> None:
    print(message, flush=True)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@app.command("serve")
@click.argument(
    "directory",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=".",
    required=False,
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8787, show_default=True, help="0: any."
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where the API token is kept (default: <config dir>/token).",
)
@click.option(
    "--max-executions",
    type=click.IntRange(1, 4096),
    default=8,
    show_default=True,
    help="Cells running at once; more are refused (429).",
)
@click.option(
    "--max-body-mb",
    type=click.IntRange(1, 4096),
    default=64,
    show_default=True,
    help="Largest request body (a notebook with its outputs); larger ones get 413.",
)
@click.option("--show-token", is_flag=True, help="Print the token at every start (for local use).")
@click.option("--model", "-m", "model", help="provider:model for suggestions (default: local).")
@click.option(
    "--learn/--no-learn",
    default=True,
    show_default=True,
    help="Learn examples for suggestions from the learning log, in the background.",
)
@click.option(
    "--prefill/--no-prefill",
    default=True,
    show_default=True,
    help="After each run, read the next suggestion's prompt into the local model ahead.",
)
@click.option("--store", help="Store of learned examples (default: <config dir>/cairn.db).")
@click.option(
    "--embedder",
    type=click.Choice(["local", "hash"]),
    help="Embedder of examples (default: the one that embedded them, else local).",
)
@click.option(
    "--bot",
    is_flag=True,
    help="Run the maintainer bot too: [bot] projects polled every [bot] every, and at once"
    " for a GitHub webhook delivery (POST /v1/github/webhook, CAIRN_GITHUB_WEBHOOK_SECRET).",
)
@common_options
def serve(
    directory: Path,
    host: str,
    port: int,
    token_file: Path | None,
    max_executions: int,
    max_body_mb: int,
    show_token: bool,
    model: str | None,
    learn: bool,
    prefill: bool,
    store: str | None,
    embedder: str | None,
    bot: bool,
) -> int:
    """Serve runbooks over HTTP and WebSocket: parse, list and run cells.

    DIRECTORY (default: the current one) is the root the API's file paths are relative
    to. Output is streamed as it arrives and every run goes into the learning log."""
    from .. import learnlog, server

    options = settings()
    config_dir = options.resolved_config_dir()
    if options.learning_logs:
        try:
            learnlog.configure(config_dir, enabled=True)
        except learnlog.LearningLogError as exc:
            _err(f"cairn serve: error: {exc} (the server does not run without its learning log)")
            return 1
    else:
        learnlog.configure(None, enabled=False)
    try:
        token = server.load_or_create_token(token_file or config_dir / "token")
        sock = server.listen(host, port)
    except server.ServerError as exc:
        _err(f"cairn serve: error: {exc}")
        return 1
    port = int(sock.getsockname()[1])
    config = server.ServerConfig(
        root=Path(os.path.abspath(directory)),
        token=token.value,
        host=host,
        port=port,
        max_executions=max_executions,
        max_body_bytes=max_body_mb << 20,
        learning_logs=options.learning_logs,
        config_dir=config_dir,
        cell_env=options.child_env(),
        model=model,
        learn=learn,
        store=store,
        embedder=embedder,
        prefill=prefill,
        bot=bot,
    )
    address = server.url(host, port)
    _say(f"cairn serve: serving {config.root} at {address} (API docs: {address}/docs)")
    if not options.learning_logs:
        _say("cairn serve: learning logs are OFF (--no-learning-logs): runs are not recorded")
    else:
        _say(f"cairn serve: learning log in {config_dir / 'logs'}")
    if learn and options.learning_logs:
        _say(f"cairn serve: learning examples for suggestions in {config.store_url()}")
    if prefill:
        _say(
            "cairn serve: with the local model, the next suggestion's prompt is read ahead"
            " after each run (--no-prefill turns it off)"
        )
    if bot:
        _say(
            "cairn serve: the maintainer bot runs; GitHub webhooks go to"
            f" {address}/v1/github/webhook"
        )
    if not token.stored:
        _say(
            f"cairn serve: cannot store a token in {token.path} ({token.problem});"
            f" this run's token: {token.value}"
        )
    elif token.created:
        _say(f"cairn serve: new token (shown once, kept in {token.path}): {token.value}")
    elif show_token:
        _say(f"cairn serve: token (kept in {token.path}): {token.value}")
    else:
        _say(f"cairn serve: the token is in {token.path}")
    if token.created or show_token or not token.stored:
        _say(f"cairn serve: the notebook in a browser: {address}/?token={token.value}")
    else:
        _say(f"cairn serve: the notebook in a browser: {address}/ (it asks for the token)")
    if host not in _LOOPBACK:
        _err(f"cairn serve: warning: listening on {host}: other machines can reach this server")
    try:
        server.run(config, sock, log_level=options.log_level)
    finally:
        learnlog.configure(None, enabled=False)
    return 0
