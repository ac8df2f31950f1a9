"""Prompt evaluation with prefix reuse, and greedy decoding with prompt lookup, on the real
Gemma 3 270M model: the text is what llama-cpp-python's own greedy completion writes from
an empty cache, with fewer decode calls and without re-reading a cached prefix."""

from __future__ import annotations

from typing import Any

import pytest

from cairn.llm import Options, Request, TextDelta, UsageEvent, run_sync, user
from cairn.llm._decode import _Lookup, evaluate, greedy
from cairn.llm._local import LocalModel

# A runbook-like prompt whose continuation copies what the prompt says, as commands do.
COPYING = (
    "Commands the team ran to check the payments service:\n"
    "kubectl --context prod-eu1 -n payments get pods -l app=checkout-api -o wide\n"
    "kubectl --context prod-eu1 -n payments logs deploy/checkout-api --since=15m\n"
    "kubectl --context prod-eu1 -n payments rollout status deploy/checkout-api\n"
    "The same three commands again:\n"
    "kubectl --context prod-eu1 -n payments get pods"
)
PROSE = "Write three sentences about the sea. The sea is"


@pytest.fixture(scope="module")
def llm() -> Any:
    return LocalModel()._load().llm


def _tokens(llm: Any, text: str) -> list[int]:
    return list(llm.tokenize(text.encode(), add_bos=True))


def _cold(llm: Any, text: str, max_tokens: int, stop: list[str] | None = None) -> str:
    """llama-cpp-python's own greedy completion from an empty cache: the reference."""
    llm.reset()
    out = llm.create_completion(prompt=text, max_tokens=max_tokens, temperature=0, stop=stop)
    return str(out["choices"][0]["text"])


def test_lookup_writes_the_same_text_with_fewer_decode_calls(llm: Any) -> None:
    reference = _cold(llm, COPYING, 40)
    llm.reset()
    decoded = greedy(llm, _tokens(llm, COPYING), max_tokens=40)
    assert decoded.text == reference
    stats = decoded.stats
    assert stats.accepted > 10  # the copied command came from drafts
    assert stats.decode_calls < decoded.tokens - 10
    plain = greedy(llm, _tokens(llm, COPYING), max_tokens=40, lookup=False)
    assert plain.text == reference
    assert plain.stats.drafted == 0 and plain.stats.decode_calls >= plain.tokens - 1


def test_prose_without_matches_decodes_as_plain_greedy(llm: Any) -> None:
    reference = _cold(llm, PROSE, 24)
    llm.reset()
    assert greedy(llm, _tokens(llm, PROSE), max_tokens=24).text == reference


def test_the_cached_prefix_is_not_evaluated_again(llm: Any) -> None:
    head = _tokens(llm, COPYING)
    llm.reset()
    greedy(llm, head, max_tokens=8)
    longer = _tokens(llm, COPYING + " -o wide\nkubectl")
    assert longer[: len(head)] == head
    decoded = greedy(llm, longer, max_tokens=16)
    assert decoded.stats.reused_tokens >= len(head) - 1
    assert decoded.stats.evaluated_tokens == len(longer) - decoded.stats.reused_tokens
    assert decoded.text == _cold(llm, COPYING + " -o wide\nkubectl", 16)


def test_after_a_prefill_the_prompt_is_not_evaluated_at_all(llm: Any) -> None:
    tokens = _tokens(llm, COPYING)
    llm.reset()
    evaluate(llm, tokens)
    decoded = greedy(llm, tokens, max_tokens=20)
    assert (decoded.stats.reused_tokens, decoded.stats.evaluated_tokens) == (len(tokens), 0)
    assert decoded.text == _cold(llm, COPYING, 20)


def test_a_stop_string_ends_the_text_before_it_and_never_streams_in_part(llm: Any) -> None:
    reference = _cold(llm, COPYING, 60)
    assert "\n" in reference  # the continuation goes on to the next line
    chunks: list[str] = []

    def keep(text: str) -> bool:
        chunks.append(text)
        return True

    llm.reset()
    decoded = greedy(llm, _tokens(llm, COPYING), max_tokens=60, stop=["\nkub"], on_text=keep)
    assert decoded.finish == "stop"
    assert decoded.text == reference.split("\nkub")[0] == "".join(chunks)
    assert not any("\nk" in c for c in chunks)


def test_max_tokens_holds_with_drafts(llm: Any) -> None:
    llm.reset()
    decoded = greedy(llm, _tokens(llm, COPYING), max_tokens=7)
    assert (decoded.tokens, decoded.finish) == (7, "length")
    assert decoded.text == _cold(llm, COPYING, 7)


def test_stopping_early_leaves_the_cache_consistent_for_sampling(llm: Any) -> None:
    llm.reset()
    seen: list[str] = []

    def first_only(text: str) -> bool:
        seen.append(text)
        return False

    greedy(llm, _tokens(llm, COPYING), max_tokens=40, on_text=first_only)
    assert len(seen) == 1  # on_text said stop after the first piece
    after = llm.create_completion(prompt=COPYING, max_tokens=12, temperature=0.9, seed=7)
    llm.reset()
    cold = llm.create_completion(prompt=COPYING, max_tokens=12, temperature=0.9, seed=7)
    assert after["choices"][0]["text"] == cold["choices"][0]["text"]


def test_a_prompt_longer_than_the_window_is_refused(llm: Any) -> None:
    with pytest.raises(ValueError, match="context window"):
        evaluate(llm, [llm.token_bos()] * (llm.n_ctx() + 1))


def test_lookup_drafts_what_followed_the_latest_occurrence() -> None:
    lookup = _Lookup([1, 2, 3, 4, 9, 1, 2, 3, 5, 6, 1, 2])
    assert lookup.draft(3) == [3, 5, 6]  # the latest "1 2" was followed by 3 5 6
    lookup.append(7)
    assert lookup.draft(3) == []  # "1 2 7" and "2 7" never occurred
    assert _Lookup([1, 2]).draft(4) == []


def test_local_model_reports_the_reused_prefix_and_prefills_ahead() -> None:
    model = LocalModel()
    request = Request((user(COPYING),), options=Options(max_tokens=12))

    def usage() -> Any:
        async def go() -> list[object]:
            return [e async for e in model.stream(request)]

        events = run_sync(go())
        assert any(isinstance(e, TextDelta) for e in events)
        return next(e.usage for e in events if isinstance(e, UsageEvent))

    model._load().llm.reset()
    first = usage()
    assert first.cache_read_tokens == 0
    assert model.prefill(request) > 0  # the cache holds the reply now, not the prompt alone
    assert model.prefill(request) == 0
    warm = usage()
    assert warm.cache_read_tokens == warm.input_tokens == first.input_tokens
