"""How close a predicted cell is to the cell that was run: whitespace-normalised exact
match, and Foyle's argument-level edit distance (TN003), both deterministic.

`arg_distance(expected, actual)` is defined as follows.

1. Both cells are normalised with `_edits.normalize` (Cairn's one meaning of "the same
   cell"), and backslash-newline line
   continuations are joined.
2. The text is cut into logical lines: physical lines, except that a line whose quote
   is still open continues on the next line. Each logical line is tokenised with
   `shlex` (POSIX rules, `#` comments dropped, shell punctuation split off); a line
   `shlex` cannot parse (an unclosed quote at the very end) falls back to splitting
   on whitespace, so no input raises.
3. Commands are separated by newlines and by tokens made only of `|`, `&` and `;`
   (`|`, `||`, `&&`, `;`, `&`, `|&`) and by `(` / `)` tokens (subshells, `$(…)`).
   Empty commands are dropped. Redirections (`>`, `2>&1`…) stay tokens of their
   command.
4. Each command is split into positional arguments and flags. The first token (the
   program) is positional. After it, a token that starts with `-` (and is not just
   `-`) is a flag: `--name=value` and `-n=value` give the flag a value; otherwise the
   next token is the flag's value when it exists and does not start with `-`; else
   the flag has no value. Everything after a bare `--` is positional. A flag given
   several times keeps all its values, as a sorted tuple. Other tokens are positional.
5. Two commands are at distance D = D_p + D_n, where D_p is the Levenshtein distance
   between their positional argument lists (a whole argument is one symbol; insert,
   delete and substitute cost 1), and D_n counts, over the union of flag names, 1
   for each flag present in only one command and 1 for each flag present in both
   with a different value. Flag order therefore never matters.
6. The size of a command is its number of arguments: positional arguments plus flags
   (a flag with its value is one argument) — its distance to an empty command.
7. The commands of the two cells are aligned in order by a weighted edit distance:
   pairing two commands costs their distance D, a command with no partner (missing
   or extra) costs its size. `arg_distance` is the cost of the cheapest alignment,
   so it is 0 for identical cells, symmetric, and never negative.

Known limits, as in TN003: short and long spellings of one flag (`-n`, `--namespace`)
count as different flags; whether a flag takes a value is guessed from the next token
(`ls -l /tmp` reads `/tmp` as the value of `-l` — the same way on both sides); a
quoted separator (`grep '|'`) is read as a separator.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ._edits import levenshtein, normalize

_SEPARATOR_CHARS = frozenset("|&;")
_GROUPING = frozenset({"(", ")"})
_ABSENT = object()  # a flag's value when the flag is not given (None: given, no value)


def exact_match(expected: str, actual: str) -> bool:
    """True when the two cells are equal after `normalize`."""
    return normalize(expected) == normalize(actual)


@dataclass(frozen=True)
class Command:
    """One simple command: positional arguments (program first) and flags."""

    positional: tuple[str, ...]
    flags: dict[str, tuple[str, ...] | str | None]

    @property
    def size(self) -> int:
        return len(self.positional) + len(self.flags)


def commands(cell: str) -> list[Command]:
    """The simple commands of a cell, in order (see the module docstring)."""
    text = normalize(cell).replace("\\\n", " ")
    found: list[Command] = []
    for line in _logical_lines(text):
        found.extend(_command(tokens) for tokens in _split(_tokens(line)))
    return found


def arg_distance(expected: str, actual: str) -> int:
    """Foyle's argument-level edit distance between two cells (module docstring)."""
    return levenshtein(
        commands(expected),
        commands(actual),
        indel=lambda c: c.size,
        substitute=command_distance,
    )


def command_distance(a: Command, b: Command) -> int:
    """D_p + D_n between two simple commands."""
    positional = levenshtein(
        a.positional, b.positional, indel=lambda _: 1, substitute=lambda x, y: int(x != y)
    )
    names = a.flags.keys() | b.flags.keys()
    named = sum(1 for n in names if a.flags.get(n, _ABSENT) != b.flags.get(n, _ABSENT))
    return positional + named


def _logical_lines(text: str) -> list[str]:
    """Physical lines, joined while a quote is left open."""
    lines: list[str] = []
    pending: str | None = None
    for line in text.split("\n"):
        pending = line if pending is None else pending + "\n" + line
        try:
            shlex.split(pending, comments=True)
        except ValueError:
            continue  # an open quote (or a trailing escape): the line goes on
        lines.append(pending)
        pending = None
    if pending is not None:
        lines.append(pending)  # unclosed to the end: `_tokens` falls back to whitespace
    return lines


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return line.split()


def _is_separator(token: str) -> bool:
    return token in _GROUPING or (bool(token) and set(token) <= _SEPARATOR_CHARS)


def _split(tokens: list[str]) -> list[list[str]]:
    """Tokens cut into commands at separators; empty commands dropped."""
    parts: list[list[str]] = [[]]
    for token in tokens:
        if _is_separator(token):
            parts.append([])
        else:
            parts[-1].append(token)
    return [part for part in parts if part]


def _is_flag(token: str) -> bool:
    return token.startswith("-") and token != "-"


def _command(tokens: list[str]) -> Command:
    positional = [tokens[0]]
    values: dict[str, list[str | None]] = {}
    i = 1
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            positional.extend(tokens[i:])
            break
        if not _is_flag(token):
            positional.append(token)
            continue
        name, eq, attached = token.partition("=")
        value: str | None = attached if eq else None
        if value is None and i < len(tokens) and not _is_flag(tokens[i]):
            value = tokens[i]
            i += 1
        values.setdefault(name, []).append(value)
    return Command(tuple(positional), {name: _flag_value(v) for name, v in values.items()})


def _flag_value(values: list[str | None]) -> tuple[str, ...] | str | None:
    if len(values) == 1:
        return values[0]
    return tuple(sorted(v or "" for v in values))
