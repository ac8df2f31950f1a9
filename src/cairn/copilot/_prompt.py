"""Prompt assembly: the cells before the cursor, with what they printed, and learned
examples → the request that asks a model for the next cell, within a token budget.

`build_prompt` writes a chat prompt (instructions, examples, the runbook, the ask) or a
completion prompt for a base model (the runbook, the examples' commands, an opened code
fence). It plans with counted pieces (`_render`), lets the cells nearest the cursor win
(`_window`), and counts the finished prompt once more as a whole, dropping the earliest
cells, the title, then the last examples until it fits.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..llm import Message, Options, Request, Role
from ._budget import MAX_CHARS_PER_TOKEN, Budget
from ._errors import ContextError
from ._render import Part, Renderer, clean, fenced, join, part
from ._types import ContextCell, Example
from ._window import Window, choose, steady

if TYPE_CHECKING:
    from ._tokens import Tokenizer

Style = Literal["chat", "completion"]

_MESSAGE_OVERHEAD = 4  # role and separators per message (OpenAI's rule of thumb)
_REPLY_PRIMING = 3  # the tokens that open the reply
_DEFAULT_BUDGET = Budget()  # frozen: one shared default is safe


@dataclass(frozen=True)
class Prompt:
    """A request for the next cell, and what went into it."""

    request: Request
    prefill: str  # text the reply continues (already in the request; put it before the reply)
    tokens: int  # the messages as counted by `tokenizer`, plus per-message overheads
    cells_included: int  # cells before the cursor that appear (some shortened)
    cells_dropped: int  # cells before the cursor left out to fit the budget
    examples_included: int
    outputs_truncated: int  # output streams shortened (head+tail) or left out
    style: Style
    notebook: str  # the notebook section of the prompt, as rendered
    tokenizer: str  # the name of the tokenizer that counted


SYSTEM = (
    "You are an SRE copilot inside a runbook: a Markdown notebook of prose and shell "
    "cells that an operator runs one by one. Suggest the next cell: what to run next, "
    "given the cells so far and what they printed.\n"
    "Each cell that ran is followed by its output in blocks labelled stdout, stderr or "
    "output (a terminal's merged stdout and stderr), then its exit code; long output is "
    "shortened with a line such as '… [12 lines omitted] …'.\n"
    "Reply in Markdown: at most one short sentence, then exactly one fenced code block "
    "with the command(s) to run next. Nothing after the code block."
)
ASK = "Suggest the next cell, the one that follows the last cell above."
EXAMPLES_HEADING = (
    "## Examples\n\nSituations like this one from earlier runbooks, each with the cell "
    "that was run next."
)
COMPLETION_EXAMPLES_HEADING = "Commands the team ran at this step in earlier runbooks:"
EMPTY = "(no cells yet)"


def _example(example: Example, number: int, style: Style, tokenizer: Tokenizer) -> Part:
    cell = fenced(example.language, example.cell, tokenizer)
    if style == "completion":
        return cell  # after the runbook, right before the reply: the command is what counts
    pieces = [
        part(f"### Example {number}", tokenizer),
        fenced("text", example.query.strip(), tokenizer),
        part("Next cell:", tokenizer),
        cell,
    ]
    return join(pieces, "\n\n", tokenizer)


def _choose_examples(
    examples: Sequence[Example], room: int, style: Style, tokenizer: Tokenizer
) -> list[Part]:
    """Examples in their given order (best first) while they and their heading (and in a
    completion, the rule after them) fit `room`; one that does not fit is skipped, a
    smaller one after it may still fit."""
    chosen: list[Part] = []
    sep = tokenizer.count("\n\n")
    used = tokenizer.count(_examples_heading(style)) + sep
    for example in examples:
        if len(example.query) + len(example.cell) > room * MAX_CHARS_PER_TOKEN:
            continue  # surely too long, and not worth tokenizing to find out
        shown = _example(example, len(chosen) + 1, style, tokenizer)
        cost = shown.tokens + sep
        if used + cost <= room:
            chosen.append(shown)
            used += cost
    return chosen


def _examples_heading(style: Style) -> str:
    return EXAMPLES_HEADING if style == "chat" else COMPLETION_EXAMPLES_HEADING


def _language(cells: Sequence[ContextCell]) -> str:
    for cell in reversed(cells):
        if cell.kind == "code" and cell.language:
            return cell.language
    return "sh"


def _messages(
    style: Style, examples: Sequence[Part], notebook: Part, prefill: str, tokenizer: Tokenizer
) -> tuple[tuple[Message, ...], int]:
    """The messages of the prompt and their tokens (message overheads included)."""
    counted = functools.partial(part, tokenizer=tokenizer)
    shown = [counted(_examples_heading(style)), *examples] if examples else []
    if style == "chat":
        sections = [*shown, counted("## Notebook"), notebook if notebook.text else counted(EMPTY)]
        sections.append(counted(ASK))
        first = counted(SYSTEM)
    else:
        # A base model continues a document: the runbook, the examples' commands, then an
        # opened code fence (a trailing assistant message is the reply's prefill). The
        # runbook comes first so that the next suggestion in the same runbook starts
        # with the same text: a local model then re-reads only what changed (llama.cpp
        # keeps the longest common prefix of its last prompt evaluated).
        sections = [notebook, *shown]
    user = join(sections, "\n\n", tokenizer)
    if style == "chat":
        pair = (first, user)
        roles: tuple[Role, Role] = ("system", "user")
    else:
        pair = (user, counted(prefill))
        roles = ("user", "assistant")
    messages = tuple(Message(role, p.text) for role, p in zip(roles, pair, strict=True))
    overhead = _MESSAGE_OVERHEAD * len(messages) + _REPLY_PRIMING
    return messages, overhead + sum(p.tokens for p in pair)


def _counted(messages: Sequence[Message], tokenizer: Tokenizer) -> int:
    """The tokens of the messages, each text counted whole, with the message overheads."""
    texts = sum(tokenizer.count(m.content) for m in messages if m.content)
    return _MESSAGE_OVERHEAD * len(messages) + _REPLY_PRIMING + texts


def build_prompt(
    cells: Sequence[ContextCell],
    cursor: int,
    *,
    examples: Sequence[Example] = (),
    tokenizer: Tokenizer,
    budget: Budget = _DEFAULT_BUDGET,
    style: Style = "chat",
) -> Prompt:
    """The prompt that asks for the cell after `cells[:cursor]` (cells after the cursor
    are not shown). Raises ContextError when the budget cannot hold the instructions (and,
    when there are cells, the line that says they were left out)."""
    if not 0 <= cursor <= len(cells):
        raise ContextError(f"cursor {cursor} is outside the notebook (0..{len(cells)})")
    if style not in ("chat", "completion"):
        raise ContextError(f"unknown prompt style {style!r}: use 'chat' or 'completion'")
    before = cells[:cursor]
    prefill = clean(f"```{_language(before)}\n") if style == "completion" else ""
    least = Window(len(before)).render(tokenizer)  # every cell left out
    _, needed = _messages(style, [], least, prefill, tokenizer)
    if needed > budget.prompt:
        raise ContextError(
            f"a prompt budget of {budget.prompt} tokens cannot hold the instructions "
            f"({needed} tokens); raise Budget.total"
        )
    empty = Part("", 0)
    _, fixed = _messages(style, [], empty, prefill, tokenizer)
    room = budget.prompt - fixed - tokenizer.count("\n\n")
    shown = _choose_examples(examples, min(budget.examples, room // 2), style, tokenizer)
    if shown:
        _, with_examples = _messages(style, shown, empty, prefill, tokenizer)
        room = budget.prompt - with_examples - tokenizer.count("\n\n")
    completion = style == "completion"  # a local model reuses the prefix it evaluated last
    window = choose(before, Renderer(tokenizer, budget.per_output), room, steady=completion)
    if completion:
        steady(window)
    return _finish(window, shown, style, prefill, tokenizer, budget)


def _finish(
    window: Window,
    shown: list[Part],
    style: Style,
    prefill: str,
    tokenizer: Tokenizer,
    budget: Budget,
) -> Prompt:
    """The prompt from the chosen parts, counted whole; should it not fit as planned (the
    omission line, tokens that merge differently across joins), the earliest cells go,
    then the title, then the last examples, until it fits."""
    while True:
        notebook = window.render(tokenizer)
        messages, _ = _messages(style, shown, notebook, prefill, tokenizer)
        tokens = _counted(messages, tokenizer)
        if tokens <= budget.prompt:
            break
        if window.chosen:
            window.chosen.pop()
        elif window.uses_title:
            window.title = None
        elif shown:
            shown = shown[:-1]
        else:
            raise ContextError(f"the prompt needs {tokens} tokens; the budget has {budget.prompt}")
    stop = ("```",) if style == "completion" else ()  # the reply continues an opened fence
    return Prompt(
        request=Request(messages, options=Options(max_tokens=budget.reply, stop=stop)),
        prefill=prefill,
        tokens=tokens,
        cells_included=window.included,
        cells_dropped=window.count - window.included,
        examples_included=len(shown),
        outputs_truncated=sum(block.cut for _, block in window.chosen),
        style=style,
        notebook=notebook.text,
        tokenizer=tokenizer.name,
    )


__all__ = [
    "ASK",
    "COMPLETION_EXAMPLES_HEADING",
    "EMPTY",
    "EXAMPLES_HEADING",
    "SYSTEM",
    "Prompt",
    "Style",
    "build_prompt",
]
