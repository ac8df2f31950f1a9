"""A cell's description from the paragraph right before it, as `runme list` shows it.

Runme (`getIntro`) takes the text of the paragraph that is the code block's previous
sibling, inline markup dropped, and ends it with a period where it ended otherwise
(`Run this:` → `Run this.`). Two Runme artifacts are not copied: its lines are glued
without a space, and an uppercase or non-ASCII last letter is replaced too.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


# Plain prose (most intros) needs no inline parse: nothing in it is markup.
_INLINE_SYNTAX = re.compile(r"[\\`*_\[\]<>&]")


@lru_cache(maxsize=1)
def _inline_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _collect(tokens: list[Token], parts: list[str]) -> None:
    for token in tokens:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.children:  # an image: its alt text
            _collect(token.children, parts)


def intro_text(markdown: str) -> str:
    """The plain text of an inline Markdown paragraph, normalized as Runme does."""
    if _INLINE_SYNTAX.search(markdown):
        parts: list[str] = []
        for block in _inline_parser().parseInline(markdown):
            _collect(block.children or [], parts)
        markdown = "".join(parts)
    text = " ".join(markdown.split())
    if text and not (text[-1].isalnum() or text[-1] in "!?."):
        text = text[:-1] + "."
    return text
