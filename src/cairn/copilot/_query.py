"""The retrieval query for a position in a notebook: the runbook's title and the prose
just before it (what the operator is about to do).

Learned examples are keyed by this text and suggestions search with it, so both sides
build it with this one function. On the bundled eval, title and prose find an example
whose command is right more often than the last commands do (`_situation`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._situation import situation
from ._types import ContextCell


def query_text(cells: Sequence[ContextCell], cursor: int) -> str:
    """The query for a suggestion after `cells[:cursor]`."""
    return situation(cells, cursor).query
