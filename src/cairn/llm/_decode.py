"""Prompt evaluation and greedy decoding on one llama.cpp context, with prompt lookup.

Two things a suggestion's latency is made of, done here rather than by
`Llama.create_completion`:

- **Prefix reuse.** A prompt is evaluated from the longest prefix it shares with what the
  context holds (the previous prompt and reply), so the next suggestion in a runbook
  re-reads only what changed. `evaluate` is also what a speculative prefill calls: after
  it, a completion of the same prompt starts decoding at once.
- **Prompt-lookup decoding** (Saxena 2023, the n-gram drafts of llama.cpp's
  `lookup` example). A runbook's next command mostly copies text that is already in the
  prompt (namespaces, service names, flags, the retrieved examples' commands), so the
  tokens after the latest earlier occurrence of the last few generated tokens are a cheap
  draft. One batch evaluates the draft; the longest prefix the model agrees with
  (greedy argmax) is kept, plus the model's own next token. The text is the one greedy
  decoding gives (up to float rounding between batch sizes); only the number of
  decode calls changes.

llama-cpp-python ships prompt lookup (`LlamaPromptLookupDecoding`), but a draft model
makes it keep the logits of every prompt token: 262k vocabulary entries a token for
Gemma, an n_ctx x n_vocab array (2 GiB at n_ctx 2048) and a prompt evaluation several
times slower. Here only the draft's positions ask for logits. This module drives the
`Llama` object's context, batch and token bookkeeping (`_ctx`, `_batch`, `input_ids`,
`n_tokens`), kept consistent so that `create_completion` can reuse the cache after it;
that is why pyproject pins llama-cpp-python exactly.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from llama_cpp import Llama

DRAFT_TOKENS = 16  # per lookup: a verify batch of 17 costs ~6 single decodes on 2 cores
NGRAMS = (3, 2)  # longest first; a 1-token match drafts too often for too little


@dataclass
class Stats:
    """What one decoding did: for benchmarks and tests."""

    prompt_tokens: int = 0
    reused_tokens: int = 0  # of the prompt, found in the cache
    evaluated_tokens: int = 0  # of the prompt, evaluated now
    completion_tokens: int = 0
    decode_calls: int = 0  # llama_decode calls after the prompt
    drafted: int = 0
    accepted: int = 0


@dataclass
class Decoded:
    text: str
    tokens: int  # completion tokens
    finish: Literal["stop", "length"]
    stats: Stats


def _common_prefix(held: Sequence[int], tokens: Sequence[int]) -> int:
    n = 0
    for a, b in zip(held, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n


def evaluate(llm: Llama, tokens: Sequence[int], stats: Stats | None = None) -> None:
    """Leave `tokens` evaluated in the context, the logits of the last one ready. What the
    context already holds of them is kept; the last token is evaluated anew unless the
    last thing the context did was evaluate exactly `tokens`."""
    if not tokens:
        raise ValueError("an empty prompt")
    if len(tokens) > llm.n_ctx():
        raise ValueError(
            f"the prompt has {len(tokens)} tokens; the context window holds {llm.n_ctx()}"
        )
    common = _common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
    if common == len(tokens) == llm.n_tokens and not llm._requires_eval:
        keep = len(tokens)  # just evaluated (a prefill): its logits are still there
    else:
        keep = min(common, len(tokens) - 1)
        if keep == 0 or not llm._ctx.kv_cache_seq_rm(-1, keep, -1):
            keep = 0
        llm.n_tokens = keep  # eval() drops what the cache holds past n_tokens, then appends
        llm.eval(tokens[keep:])
    if stats is not None:
        stats.prompt_tokens = len(tokens)
        stats.reused_tokens = keep
        stats.evaluated_tokens = len(tokens) - keep


def _argmax(llm: Llama, i: int, n_vocab: int) -> int:
    import llama_cpp
    import numpy as np

    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, i), (n_vocab,))
    return int(logits.argmax())


class _Lookup:
    """The latest continuation of each n-gram of a growing token sequence."""

    def __init__(self, tokens: Sequence[int]) -> None:
        self.seq: list[int] = []
        self.after: dict[tuple[int, ...], int] = {}  # n-gram → the index right after it
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        seq = self.seq
        end = len(seq)  # the n-grams ending here now have a continuation: `token`
        for n in NGRAMS:
            if end >= n:
                self.after[tuple(seq[end - n : end])] = end
        seq.append(token)

    def draft(self, limit: int) -> list[int]:
        seq = self.seq
        for n in NGRAMS:
            start = self.after.get(tuple(seq[-n:])) if len(seq) >= n else None
            if start is not None:
                return seq[start : start + limit]
        return []


class _Text:
    """Completion tokens → text as it becomes final: UTF-8 split across tokens is joined,
    and text that may be the start of a stop string is held back until it is not."""

    def __init__(self, llm: Llama, stop: Sequence[str]) -> None:
        self.llm = llm
        self.stop = [s for s in stop if s]
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.sent = 0

    def add(self, token: int) -> bool:
        """Add a token; True when the text now contains a stop string (cut before it)."""
        self.text += self.decoder.decode(self.llm.detokenize([token]))
        hits = [i for i in (self.text.find(s) for s in self.stop) if i >= 0]
        if hits:
            self.text = self.text[: min(hits)]
            return True
        return False

    def ready(self, final: bool) -> str:
        """The text not given out yet that no stop string can still claim."""
        if final:
            self.text += self.decoder.decode(b"", final=True)
        end = len(self.text)
        if not final:
            for s in self.stop:
                for k in range(min(len(s) - 1, end), 0, -1):
                    if self.text.endswith(s[:k]):
                        end = min(end, len(self.text) - k)
                        break
        out, self.sent = self.text[self.sent : end], max(self.sent, end)
        return out


def greedy(
    llm: Llama,
    prompt: Sequence[int],
    *,
    max_tokens: int,
    stop: Sequence[str] = (),
    on_text: Callable[[str], bool] | None = None,
    lookup: bool = True,
) -> Decoded:
    """Decode greedily after `prompt` until an end-of-generation token, a stop string (not
    included in the text) or `max_tokens`. `on_text` receives the text as it becomes final
    and returns False to stop early. With `lookup`, drafts come from prompt lookup."""
    import llama_cpp

    stats = Stats()
    evaluate(llm, prompt, stats)
    n_vocab = llm.n_vocab()
    vocab = llm._model.vocab
    room = llm.n_ctx() - len(prompt)
    limit = min(max_tokens, room)
    text = _Text(llm, stop)
    drafts = _Lookup(prompt) if lookup else None
    count = 0
    finish: Literal["stop", "length"] = "length"
    nxt = _argmax(llm, -1, n_vocab)  # the model's token at position llm.n_tokens

    def take(token: int) -> bool:
        """Accept the model's token; False when decoding ends with it."""
        nonlocal count, finish
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            finish = "stop"
            return False
        count += 1
        if text.add(token):
            finish = "stop"
            return False
        if drafts is not None:
            drafts.append(token)
        if on_text is not None and (chunk := text.ready(False)) and not on_text(chunk):
            finish = "stop"
            return False
        return count < limit

    try:
        while limit > 0 and take(nxt):
            draft = drafts.draft(min(DRAFT_TOKENS, limit - count)) if drafts is not None else []
            # Room for the batch: the context cannot hold positions past n_ctx.
            draft = draft[: max(0, llm.n_ctx() - llm.n_tokens - 1)]
            start = llm.n_tokens
            batch = [nxt, *draft]
            llm._batch.set_batch(batch, n_past=start, logits_all=True)
            llm._ctx.decode(llm._batch)
            stats.decode_calls += 1
            stats.drafted += len(draft)
            llm.input_ids[start : start + len(batch)] = batch
            llm.n_tokens = start + 1  # `nxt` is in the cache; drafts count once accepted
            nxt = _argmax(llm, 0, n_vocab)
            going = True
            for i, token in enumerate(draft):
                if token != nxt:
                    break
                stats.accepted += 1
                going = take(token)
                llm.n_tokens = start + 2 + i
                if not going:
                    break
                nxt = _argmax(llm, i + 1, n_vocab)
            llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)  # the rejected drafts
            if not going:
                break
    finally:
        llm._requires_eval = True  # the logits no longer belong to the last cached token
    stats.completion_tokens = count
    tail = text.ready(True)
    if tail and on_text is not None:
        on_text(tail)
    return Decoded(text.text, count, finish, stats)


def continuation_logprobs(
    llm: Llama, prompt: Sequence[int], continuations: Sequence[Sequence[int]]
) -> list[float]:
    """The log-probability of each continuation after `prompt` (the sum over its tokens).
    The prompt is evaluated once (reusing what the context holds of it), then each
    continuation in one batch, which is dropped from the cache again afterwards."""
    import llama_cpp
    import numpy as np

    evaluate(llm, prompt)
    base = llm.n_tokens
    n_vocab = llm.n_vocab()
    scratch = np.empty(n_vocab, dtype=np.float32)

    def log_softmax_at(i: int, token: int) -> float:
        # 262k vocabulary entries: one max, one subtract, one exp, one sum, in place.
        row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, i), (n_vocab,))
        top = float(row.max())
        np.subtract(row, top, out=scratch)
        np.exp(scratch, out=scratch)
        return float(row[token]) - top - float(np.log(scratch.sum(dtype=np.float64)))

    last = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), (n_vocab,))
    top = float(last.max())
    first = last - top
    first -= np.log(np.exp(first).sum(dtype=np.float64))  # the prompt's next-token log-probs
    out: list[float] = []
    try:
        for continuation in continuations:
            tokens = list(continuation)[: max(1, llm.n_ctx() - base - 1)]
            if not tokens:
                out.append(0.0)
                continue
            total = float(first[tokens[0]])
            if len(tokens) > 1:
                llm._batch.set_batch(tokens[:-1], n_past=base, logits_all=True)
                llm._ctx.decode(llm._batch)
                total += sum(log_softmax_at(i, token) for i, token in enumerate(tokens[1:]))
                llm._ctx.kv_cache_seq_rm(-1, base, -1)
            out.append(total)
    finally:
        llm.n_tokens = base
        llm._requires_eval = True  # the logits no longer belong to the prompt's last token
    return out
