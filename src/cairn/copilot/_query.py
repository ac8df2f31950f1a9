"""The retrieval query for a position in a notebook: the text just before it.

Learned examples are keyed by this text and suggestions search with it, so both sides
must build it the same way: the nearest markup cell (what the operator is about to do)
and the sources of the last code cells (what was just done), newest last.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._types import ContextCell

MAX_CODE_CELLS = 2
MAX_CHARS = 400  # the query is embedded on every suggestion: ~100 word pieces, ~25 ms here


def query_text(cells: Sequence[ContextCell], cursor: int, *, max_chars: int = MAX_CHARS) -> str:
    """The query for a suggestion after `cells[:cursor]`."""
    before = list(cells[: max(0, cursor)])
    markup = next((c for c in reversed(before) if c.kind == "markup" and c.source.strip()), None)
    code = [c for c in before if c.kind == "code" and c.source.strip()][-MAX_CODE_CELLS:]
    parts = [c.source.strip() for c in code]
    if markup is not None:
        parts.append(markup.source.strip())  # last: closest to the next step
    text = "\n\n".join(parts)
    return text[-max_chars:]
