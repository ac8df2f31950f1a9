"""How far an executed cell is from the cell that was suggested: sources compared with
their whitespace normalised, and a token-level Levenshtein distance (words, with a
newline token between lines) that stays cheap on long cells."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def normalize(source: str) -> str:
    """The source with runs of blanks collapsed, lines trimmed and blank lines dropped."""
    lines = (" ".join(line.split()) for line in source.splitlines())
    return "\n".join(line for line in lines if line)


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
    previous = list(range(len(y) + 1))
    for i, token in enumerate(x, 1):
        current = [i]
        for j, other in enumerate(y, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token != other))
            )
        previous = current
    return previous[-1]


def edit_distance(a: str, b: str) -> int:
    """Token-level Levenshtein distance between two cell sources (see `tokens`)."""
    return token_distance(tokens(a), tokens(b))


__all__ = ["edit_distance", "normalize", "token_distance", "tokens"]
