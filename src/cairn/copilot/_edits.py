"""What makes two cells the same, and how far apart they are.

`normalize` is the one meaning of "the same cell" in Cairn: the analyzer's "run as
suggested", the learner's duplicates, the candidates' merging and the evaluation's exact
match all compare cells through it. `levenshtein` is the one edit distance (weighted,
over any symbols); `token_distance` / `edit_distance` apply it to words, and
`_metrics.arg_distance` to arguments and commands."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_PROMPT = re.compile(r"^(?:\$ )+")  # a shell prompt copied along with a command


def normalize(source: str) -> str:
    """The source as Cairn compares cells: any line ending, runs of blanks collapsed to
    one space, lines trimmed, a leading `$ ` prompt dropped, blank lines dropped."""
    lines = (_PROMPT.sub("", " ".join(line.split())) for line in source.splitlines())
    return "\n".join(line for line in lines if line)


def _one(_: object) -> int:
    return 1


def _differ(a: object, b: object) -> int:
    return int(a != b)


def levenshtein(
    a: Sequence[T],
    b: Sequence[T],
    *,
    indel: Callable[[T], int] = _one,
    substitute: Callable[[T, T], int] = _differ,
) -> int:
    """Weighted Levenshtein distance: deleting or inserting x costs `indel(x)`, turning x
    into y costs `substitute(x, y)` (unit costs by default)."""
    previous = [0]
    for y in b:
        previous.append(previous[-1] + indel(y))
    for x in a:
        current = [previous[0] + indel(x)]
        cost_x = indel(x)
        for j, y in enumerate(b, 1):
            current.append(
                min(
                    previous[j] + cost_x,
                    current[j - 1] + indel(y),
                    previous[j - 1] + substitute(x, y),
                )
            )
        previous = current
    return previous[-1]


def tokens(source: str) -> list[str]:
    """Words separated by whitespace, with a "\\n" token between lines (blank lines ignored)."""
    out: list[str] = []
    for line in source.splitlines():
        words = line.split()
        if words:
            if out:
                out.append("\n")
            out.extend(words)
    return out


_MAX_CELLS = 1_000_000  # beyond this many DP cells, difflib's opcodes stand in


def token_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between token sequences: insertions, deletions, substitutions.

    The common prefix and suffix are cut first (edits are usually local); a middle too
    large for the quadratic table is counted from difflib's opcodes (an upper bound).
    """
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    x, y = a[start:end_a], b[start:end_b]
    if not x or not y:
        return max(len(x), len(y))
    if len(x) * len(y) > _MAX_CELLS:
        opcodes = difflib.SequenceMatcher(None, x, y, autojunk=False).get_opcodes()
        return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in opcodes if tag != "equal")
    return levenshtein(x, y)


def edit_distance(a: str, b: str) -> int:
    """Token-level Levenshtein distance between two cell sources (see `tokens`)."""
    return token_distance(tokens(a), tokens(b))


__all__ = ["edit_distance", "levenshtein", "normalize", "token_distance", "tokens"]
