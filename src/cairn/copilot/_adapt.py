"""Adapting a learned command to the runbook at hand: what turns "restart payments-api"
into "restart search-indexer".

A learned example is a place in a runbook (its title, prose and earlier commands) and the
command that was run there. Where the example's place and the current one play the same
parts with other names, the example's command is rewritten with the current names:

1. **Roles.** The earlier commands on both sides are read as (role, value) pairs: the
   value of a flag (`--context lf-prod-eu1`, `--since=15m`), of a `key=value` pair
   (`app=dispatch-api`, PromQL's `instance="…"`), of a resource path (`deploy/ledger`),
   or a program's positional argument (`ssh lf-edge-02`). A role both sides filled with
   different names maps the example's name to the current one.
2. **Values printed earlier.** A word of the example's command that looks like a value
   a command printed (a pod with its hash, a job, an id with digits) and that the current
   runbook does not mention is replaced by the word of the same shape that the current
   outputs printed — preferring one on a line that reports a failure, then the latest.
3. **Time windows.** "over the last 30 minutes" in the current prose sets the example's
   one `--since` window.

Names are replaced where they stand as a whole word or as the leading part of a longer
name (`dispatch-api` in `dispatch-api-config`). Only names are mapped: words with a
digit, a hyphen, a dot, a slash or an underscore, or words the example's own prose
names; never flags, never `$VARIABLES`, never output formats such as `wide`.

Why not a library: this is specific to shell commands of runbooks, and small.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._situation import Situation, words
from ._types import Example

_NAME_CHARS = re.compile(r"[\d\-./_:]")
_QUOTED_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)=~?[\"']([^\"'\s]+)[\"']")
_RESOURCE = re.compile(r"^([a-z]{2,20})/([A-Za-z0-9][A-Za-z0-9._-]*)$")
_DURATION_TOKEN = re.compile(r"^\d+[smhd]$")
_PROSE_DURATION = re.compile(
    r"\b(?:last|past|over|for|within)\s+(?:the\s+)?(\d+|an?|one)\s*"
    r"(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)\b",
    re.IGNORECASE,
)
_FAILURE = re.compile(
    r"fail|error|crash|oomkill|backoff|notready|evicted|timeout|timed out|denied|refused"
    r"|unhealthy|pending|conflict|lock|stuck|exited",
    re.IGNORECASE,
)
_UNITS = {"s": "s", "m": "m", "h": "h", "d": "d"}
MIN_NAME = 3  # shorter values (`v1`, `db`) are too common to rewrite safely


@dataclass(frozen=True)
class Adapted:
    """An example's command rewritten for the current runbook."""

    text: str
    replaced: tuple[tuple[str, str], ...]  # (example's name, current name), longest first
    foreign: int  # names of the result that the current runbook never mentions


def _tokens(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError:  # an unclosed quote: good enough for reading roles
        return line.split()


def roles(commands: Iterable[str]) -> dict[str, str]:
    """The latest value of each role filled by `commands` (see the module docstring)."""
    found: dict[str, str] = {}
    for command in commands:
        for line in command.replace("\\\n", " ").split("\n"):
            for role, value in _line_roles(line):
                found[role] = value
    return found


def _line_roles(line: str) -> Iterable[tuple[str, str]]:
    for key, value in _QUOTED_PAIR.findall(line):
        yield f"{key}=", value
    tokens = _tokens(line)
    program = ""
    position = 0
    previous = ""
    for token in tokens:
        if token in ("|", "||", "&&", ";"):
            program, position, previous = "", 0, ""
            continue
        if token.startswith("-") and len(token) > 1:
            flag, eq, value = token.partition("=")
            if eq:
                yield flag, value
                yield from _pairs(value)
            previous = token if not eq else ""
            continue
        if previous:
            yield previous, token
            yield from _pairs(token)
            previous = ""
            continue
        if not program:
            program = token
            continue
        position += 1
        pairs = list(_pairs(token))
        if pairs:
            yield from pairs
            continue
        resource = _RESOURCE.match(token)
        if resource is not None:
            yield f"{resource[1]}/", resource[2]
        yield f"{program}#{position}", token


def _pairs(text: str) -> Iterable[tuple[str, str]]:
    """`key=value` pairs of a comma-separated list (`app=api,tier=web`)."""
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if eq and value and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/]*", key):
            yield f"{key}=", value


# Roles whose values say how to print, not what to act on: `-o wide` is no name.
_FORMAT_ROLES = frozenset({"-o", "--output", "--format", "--output-format", "-O"})
_WORD_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/:@]*")


def mappable(role: str, value: str, named: frozenset[str] = frozenset()) -> bool:
    """Whether a role's value is a name to rewrite: any plain word a flag, a `key=`
    pair or a resource path takes (`-n search`, `app=notify`, `deploy/ledger`) — not an
    output format — else, for positional arguments, only a name (`is_name`)."""
    if role in _FORMAT_ROLES:
        return False
    if role.startswith("-") or role.endswith(("=", "/")):
        return len(value) >= MIN_NAME and bool(_WORD_VALUE.fullmatch(value))
    return is_name(value, named)


def is_name(value: str, named: frozenset[str] = frozenset()) -> bool:
    """Whether `value` is a name worth rewriting (see the module docstring)."""
    if len(value) < MIN_NAME or value[0] in "$-<{'\"" or not value[0].isalnum():
        return False
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-/:@]*", value):
        return False
    return bool(_NAME_CHARS.search(value)) or value in named


def _shape(word: str) -> str:
    """A word's outline: each run of digits `9`, any other run `w`, separators kept
    (`billing-cron-29919000` → `w-w-9`, `api-7d9c8b6f5-x2kq9` → `w-w-w`): generated
    suffixes mix letters and digits by chance, so only all-digit parts are told apart."""
    parts = re.split(r"([\-._/:@])", word)
    out = []
    for part in parts:
        if not part or part in "-._/:@":
            out.append(part)
        else:
            out.append("9" if part.isdigit() else "w")
    return "".join(out)


def _looks_printed(word: str) -> bool:
    """A value a command printed rather than a name a person chose: it has digits."""
    return any(c.isdigit() for c in word) and len(word) >= 4 and word[0] != "-"


def _leading(word: str) -> str:
    """The alphabetic parts a word starts with (`billing-cron-2991` → `billing-cron`)."""
    parts = []
    for part in re.split(r"[\-._]", word):
        if not part.isalpha():
            break
        parts.append(part)
    return "-".join(parts)


def _printed_words(here: Situation) -> list[tuple[str, int]]:
    """Words the current outputs printed, with a salience: latest output first, a line
    that reports a failure above the others."""
    ranked: list[tuple[str, int]] = []
    for age, output in enumerate(reversed(here.outputs)):
        for line in output.split("\n"):
            salience = (100 if _FAILURE.search(line) else 0) - age * 10
            for word in words(line):
                if _looks_printed(word):
                    ranked.append((word, salience))
    ranked.sort(key=lambda item: -item[1])
    return ranked


def _printed_replacement(
    word: str, here: Situation, printed: Sequence[tuple[str, int]], mapped: dict[str, str]
) -> str | None:
    shape, leading = _shape(word), _leading(word)
    for name, target in mapped.items():  # `dispatch-api-7d9…` → look for `ledger-…`
        if leading.startswith(name):
            leading = target + leading[len(name) :]
    best: tuple[int, str] | None = None
    for candidate, salience in printed:
        if _shape(candidate) != shape or candidate == word:
            continue
        score = salience + (1000 if leading and _leading(candidate) == leading else 0)
        if best is None or score > best[0]:
            best = (score, candidate)
    if best is None or (leading and _leading(best[1]) != leading):
        return None
    return best[1]


def _prose_duration(prose: str) -> str | None:
    found = _PROSE_DURATION.findall(prose)
    if len(found) != 1:
        return None
    amount, unit = found[0]
    number = 1 if amount.lower() in ("a", "an", "one") else int(amount)
    return f"{number}{_UNITS[unit[0].lower()]}"


def _replace(text: str, mapping: dict[str, str]) -> str:
    if not mapping:
        return text
    keys = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(
        "|".join(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])" for key in keys)
    )
    return pattern.sub(lambda match: mapping[match.group()], text)


def adapt(example: Example, here: Situation) -> Adapted:
    """`example.cell` rewritten with the names of `here` (see the module docstring)."""
    named = frozenset(words(f"{example.title}\n{example.prose}"))
    theirs, ours = roles(example.commands), roles(here.commands)
    mapping: dict[str, str] = {}
    for role, value in theirs.items():
        current = ours.get(role)
        if current is None or current == value or value in mapping:
            continue
        if mappable(role, value, named) and mappable(role, current, here.vocabulary):
            mapping[value] = current
    cell = example.cell
    window = _prose_duration(here.prose)
    if window is not None:
        for role, value in roles([cell]).items():
            if role in ("--since", "--since-time") and _DURATION_TOKEN.match(value):
                mapping.setdefault(value, window)
    printed = _printed_words(here) if any(here.outputs) else []
    if printed:
        for word in dict.fromkeys(words(cell)):
            if word in mapping or word in here.vocabulary or not _looks_printed(word):
                continue
            replacement = _printed_replacement(word, here, printed, mapping)
            if replacement is not None:
                mapping[word] = replacement
    text = _replace(cell, mapping)
    vocabulary = here.vocabulary
    foreign = sum(
        1
        for word in set(words(text))
        for part in _parts(word)
        if is_name(part, named) and part not in vocabulary
    )
    replaced = tuple(sorted(mapping.items(), key=lambda kv: -len(kv[0])))
    return Adapted(text, replaced, foreign)


def _parts(word: str) -> list[str]:
    """The parts of a path (`deploy/ledger`, `release/2026.11`), else the word."""
    return [part for part in word.split("/") if part] or [word]


def template(command: str) -> str:
    """A command's first line with its names blanked (`kubectl --context <> -n <> rollout
    undo deploy/<>`), cut to its first 8 words: commands that play the same part. Blanked:
    flag values (not output formats), `key=` values, resource names, positional names."""
    line = next((ln for ln in command.strip().split("\n") if ln.strip()), "")
    out: list[str] = []
    flag = ""
    for token in line.split()[:8]:
        bare = token.strip("'\"")
        key, eq, value = token.partition("=")
        resource = _RESOURCE.match(bare)
        if flag and not bare.startswith("-"):
            out.append(token if flag in _FORMAT_ROLES else "<>")
        elif token.startswith("-"):
            out.append(f"{key}=<>" if eq and key not in _FORMAT_ROLES else token)
        elif resource is not None:
            out.append(f"{resource[1]}/<>")
        elif eq and value:
            out.append(f"{key}=<>")
        else:
            out.append("<>" if is_name(bare) else token)
        flag = token if token.startswith("-") and not eq and not flag else ""
    return " ".join(out)
