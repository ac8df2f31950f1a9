"""Token budgets of a prompt and fitting text into them: `Budget` says how many tokens
the prompt, its examples, each output and the reply may take; `shorten` cuts a text to
its share, keeping its head and tail lines around a line that says what was left out.
Only a bounded part of a text is ever tokenized, however long it is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import ContextError

if TYPE_CHECKING:
    from ._tokens import Tokenizer

MIN_PER_OUTPUT = 16
# Texts longer than this many characters per token of room are taken not to fit without
# counting them (so that no huge text is ever tokenized). True of any realistic output; a
# denser text (a long run of spaces) is then cut although it might have fit.
MAX_CHARS_PER_TOKEN = 8


@dataclass(frozen=True)
class Budget:
    """Token budgets of one prompt."""

    total: int = 2048  # the model's context window: the prompt plus the reply
    examples: int = 512  # at most this much of the prompt for few-shot examples
    per_output: int = 256  # one stream of one cell, after head+tail shortening
    reply: int = 256  # kept free for the reply: the request's max_tokens

    def __post_init__(self) -> None:
        if self.reply < 1 or self.examples < 0 or self.per_output < MIN_PER_OUTPUT:
            raise ContextError(
                f"budget: reply must be ≥ 1, examples ≥ 0 and per_output ≥ {MIN_PER_OUTPUT}"
            )
        if self.total <= self.reply:
            raise ContextError(f"budget: total ({self.total}) must exceed reply ({self.reply})")

    @property
    def prompt(self) -> int:
        return self.total - self.reply


def _lines_marker(n: int) -> str:
    return f"… [{n} line{'' if n == 1 else 's'} omitted] …"


def _chars_marker(n: int) -> str:
    return f"… [{n} character{'' if n == 1 else 's'} omitted] …"


def _take(lines: Iterable[str], room: int, tokenizer: Tokenizer) -> tuple[int, int]:
    """How many of `lines` fit in `room` tokens (one more for each newline), and the cost."""
    taken = used = 0
    for line in lines:
        cost = tokenizer.count(line) + 1
        if used + cost > room:
            break
        taken, used = taken + 1, used + cost
    return taken, used


def _edges(text: str, limit: int) -> tuple[list[str], list[str]]:
    """The whole lines among the first and among the last `limit` characters of `text`,
    without splitting the rest (a 100 MB output has millions of lines)."""
    if len(text) <= 2 * limit:
        lines = text.split("\n")
        return lines, lines
    head = text[:limit].split("\n")[:-1]  # the last piece may end inside a line
    tail = text[len(text) - limit :].split("\n")[1:]
    return head, tail


def _cut_lines(text: str, cap: int, tokenizer: Tokenizer) -> str | None:
    """Head and tail lines around a marker, within `cap` tokens (or `text` itself, when
    all its lines fit after all); None when there are fewer than three lines or not even
    one fits (a single long line: cut characters instead)."""
    total = text.count("\n") + 1
    if total < 3:
        return None
    room = cap - tokenizer.count(_lines_marker(total)) - 1
    head_lines, tail_lines = _edges(text, max(0, room) * MAX_CHARS_PER_TOKEN)
    head, used = _take(head_lines, room // 2, tokenizer)
    if tail_lines is head_lines:  # the same lines: the tail starts after the head
        tail_lines = head_lines[head:]
    tail, _ = _take(reversed(tail_lines), room - used, tokenizer)
    while head or tail:
        omitted = total - head - tail
        if omitted == 0:  # a dense text (not counted yet): all its lines fit one by one
            shortened = text
        else:
            tail_kept = tail_lines[len(tail_lines) - tail :]
            shortened = "\n".join([*head_lines[:head], _lines_marker(omitted), *tail_kept])
        if tokenizer.count(shortened) <= cap:
            return shortened
        if head > tail:  # the per-line counts were short of the whole: one line less
            head -= 1
        else:
            tail -= 1
    return None


def _cut_chars(text: str, cap: int, tokenizer: Tokenizer) -> str:
    """Head and tail characters around a marker, within `cap` tokens."""
    limit = cap * MAX_CHARS_PER_TOKEN
    sample = text[:limit]
    per_token = len(sample) / max(1, tokenizer.count(sample))
    keep = int((cap - tokenizer.count(_chars_marker(len(text)))) * per_token)
    keep = max(0, min(keep, limit, len(text) - 1))  # a dense sample promises too much
    while True:
        head, tail = keep // 2, keep - keep // 2
        marker = _chars_marker(len(text) - head - tail)
        shortened = f"{text[:head]}{marker}{text[len(text) - tail :]}"
        if keep <= 0 or tokenizer.count(shortened) <= cap:
            return shortened
        keep = int(keep * 0.8)


def shorten(text: str, cap: int, tokenizer: Tokenizer) -> tuple[str, bool]:
    """`text` within `cap` tokens: whole when it fits, else its head and tail lines around
    '… [N lines omitted] …' (characters, for one long line). Returns (text, was_cut).
    Only a bounded part of `text` is ever tokenized, however long it is."""
    if len(text) <= cap and len(text.encode("utf-8", "surrogatepass")) <= cap:
        return text, False  # a token is at least one byte
    if len(text) <= cap * MAX_CHARS_PER_TOKEN and tokenizer.count(text) <= cap:
        return text, False
    shortened = _cut_lines(text, cap, tokenizer)
    if shortened is None:
        shortened = _cut_chars(text, cap, tokenizer)
    return shortened, shortened != text


__all__ = ["MAX_CHARS_PER_TOKEN", "MIN_PER_OUTPUT", "Budget", "ContextError", "shorten"]
