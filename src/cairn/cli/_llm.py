"""`cairn prompt` and `cairn models …`: talk to the configured models."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING

import click

from ._app import app
from ._params import Count, Finite
from ._settings import common_options, settings

if TYPE_CHECKING:
    from ..llm import LLMConfig, Model

# --debug/--no-debug: record this command's model calls (or not), whatever the config says.
debug_option = click.option(
    "--debug/--no-debug",
    "debug",
    default=None,
    help="Record the model calls for `cairn debug` (default: cairn.toml, CAIRN_RECORD).",
)


def open_for_use(spec: str | None, kind: str, debug: bool | None) -> Model:
    """The model `spec` names, opened the one way every front end opens one: recorded
    unless recording is switched off (`--no-debug`, CAIRN_RECORD=0, cairn.toml)."""
    from ..llm.recorder import open_recorded

    return open_recorded(spec, _config(), kind=kind, enabled=debug)


def flush_recording(model: Model, *, announce: bool = False) -> None:
    """Write what was recorded; with `announce` (`--debug`), say where to find it (stderr).
    Recording is on by default, so the hint is not printed unless asked for."""
    from ..llm.recorder import RecordingModel

    if not isinstance(model, RecordingModel):
        return
    model.recorder.flush()
    run = model.last_run_id
    if announce and run is not None:
        print(f"cairn: recorded run {run} (cairn debug show {run})", file=sys.stderr)


def _config() -> LLMConfig:
    from ..llm import load_config

    return load_config(settings().config_files())


@app.command("prompt")
@click.argument("text")
@click.option("--model", "-m", "spec", help="provider:model (default: cairn.toml, else local).")
@click.option("--system", "system_text", help="A system message.")
@click.option("--stream", is_flag=True, help="Print the answer as it arrives.")
@click.option("--max-tokens", type=Count(1, 1_000_000), help="Answer length limit.")
@click.option("--temperature", type=Finite(0, 2), help="Sampling temperature.")
@debug_option
@common_options
def prompt(
    text: str,
    spec: str | None,
    system_text: str | None,
    stream: bool,
    max_tokens: int | None,
    temperature: float | None,
    debug: bool | None,
) -> int:
    """Send TEXT to a model and print the answer."""
    import asyncio

    from ..llm import ErrorEvent, Message, Options, ProviderError, Request, TextDelta

    model = open_for_use(spec, "prompt", debug)
    messages = ([Message("system", system_text)] if system_text else []) + [Message("user", text)]
    request = Request(
        tuple(messages), options=Options(temperature=temperature, max_tokens=max_tokens)
    )

    async def run() -> None:
        if not stream:
            response = await model.generate(request)
            sys.stdout.write(response.text + ("" if response.text.endswith("\n") else "\n"))
            return
        async for event in model.stream(request):
            if isinstance(event, TextDelta):
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, ErrorEvent):
                raise ProviderError(event.message, status=event.status, retryable=event.retryable)
        sys.stdout.write("\n")

    try:
        asyncio.run(run())
    finally:
        flush_recording(model, announce=debug is True)
    return 0


@app.group("models")
def models_group() -> None:
    """The models Cairn can talk to (cairn.toml, OPENAI_*/ANTHROPIC_* env vars)."""


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@common_options
def models_list(as_json: bool) -> None:
    """Each provider: the model it would use, whether it is configured, the default."""
    from ..llm import list_models

    infos = list_models(_config())
    if as_json:
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return
    for info in infos:
        mark = "*" if info.default else " "
        state = "ready" if info.configured else "not configured"
        print(f"{mark} {info.spec:<36} {state:<15} {info.detail}")


@models_group.command("check")
@click.option(
    "--model", "-m", "specs", multiple=True, help="provider:model (default: every configured one)."
)
@debug_option
@common_options
def models_check(specs: tuple[str, ...], debug: bool | None) -> int:
    """Ask each model a one-word question: which answer, and how fast."""
    import asyncio

    from ..llm import LLMError, Options, Request, list_models, user

    config = _config()
    chosen = list(specs) or [i.spec for i in list_models(config) if i.configured]
    failures = 0
    for spec in chosen:
        start = time.monotonic()
        model: Model | None = None
        try:
            model = open_for_use(spec, "check", debug)
            request = Request((user("Say OK."),), options=Options(max_tokens=5, temperature=0.0))
            response = asyncio.run(model.generate(request))
            took = (time.monotonic() - start) * 1000
            print(f"ok    {spec:<36} {took:7.0f} ms  {response.text.strip()[:40]!r}")
        except LLMError as exc:
            failures += 1
            took = (time.monotonic() - start) * 1000
            print(f"error {spec:<36} {took:7.0f} ms  {exc}")
        finally:
            if model is not None:
                flush_recording(model, announce=debug is True)
    return 1 if failures else 0
