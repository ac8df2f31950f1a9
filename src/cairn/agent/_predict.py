"""Predictors: which tool calls a user's message will lead to, guessed before the model
says so.

- `RulePredictor`: keywords or regexps on the message → a tool and arguments (data, from
  `[[agent.predict]]` in cairn.toml); `$1`/`${name}` in argument strings take groups.
- `HistoryPredictor`: the calls that followed the most similar earlier messages (word
  overlap), learned from recorded turns.

(The third source, eager start from the model's stream, lives in the loop.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from ._errors import AgentError
from ._speculate import Guess

_WORD = re.compile(r"[a-z0-9_]+")
_GROUP = re.compile(r"\$(?:\{(\w+)\}|(\d+))")


class Predictor(Protocol):
    def predict(self, message: str) -> list[Guess]: ...


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    tool: str
    arguments: Mapping[str, Any]

    def guess(self, message: str) -> Guess | None:
        m = self.pattern.search(message)
        if m is None:
            return None

        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return _GROUP.sub(lambda g: m.group(g.group(1) or int(g.group(2))) or "", value)
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value

        return Guess(self.tool, {k: fill(v) for k, v in self.arguments.items()}, "rules")


class RulePredictor:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)

    @classmethod
    def from_config(cls, entries: Iterable[Mapping[str, Any]]) -> RulePredictor:
        """Rules from `[[agent.predict]]` tables: `match` (a regexp, case-insensitive),
        `tool`, and `arguments` (a table); AgentError naming a malformed entry."""
        rules = []
        for i, entry in enumerate(entries, start=1):
            match, tool, args = entry.get("match"), entry.get("tool"), entry.get("arguments", {})
            if (
                not isinstance(match, str)
                or not isinstance(tool, str)
                or not isinstance(args, dict)
            ):
                raise AgentError(
                    f"[[agent.predict]] entry {i}: give `match` (a regexp), `tool` (a name)"
                    " and optionally `arguments` (a table)"
                )
            try:
                pattern = re.compile(str(match), re.IGNORECASE)
            except re.error as exc:
                raise AgentError(f"[[agent.predict]] entry {i}: bad regexp ({exc})") from None
            rules.append(Rule(pattern, str(tool), dict(args)))
        return cls(rules)

    def predict(self, message: str) -> list[Guess]:
        return [g for g in (r.guess(message) for r in self.rules) if g is not None]


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


class HistoryPredictor:
    """Guesses the calls that followed the earlier messages most like this one: word
    sets' Jaccard similarity at least `threshold`; calls seen after several similar
    messages first."""

    def __init__(self, threshold: float = 0.5, limit: int = 3) -> None:
        self.threshold = threshold
        self.limit = limit
        self._seen: list[tuple[frozenset[str], tuple[tuple[str, str], ...]]] = []

    def learn(self, message: str, calls: Iterable[tuple[str, str]]) -> None:
        """Remember that `message` led to `calls` (tool name, arguments JSON)."""
        calls = tuple(calls)
        if calls:
            self._seen.append((_words(message), calls))

    def predict(self, message: str) -> list[Guess]:
        words = _words(message)
        if not words:
            return []
        votes: dict[tuple[str, str], float] = {}
        for seen, calls in self._seen:
            similarity = len(words & seen) / len(words | seen)
            if similarity >= self.threshold:
                for call in calls:
                    votes[call] = votes.get(call, 0.0) + similarity
        ranked = sorted(votes, key=lambda c: -votes[c])[: self.limit]
        return [Guess(name, args, "history") for name, args in ranked]

    def dumps(self) -> bytes:
        return orjson.dumps([[sorted(w), [list(c) for c in calls]] for w, calls in self._seen])

    def loads(self, raw: bytes) -> None:
        try:
            data = orjson.loads(raw)
            self._seen = [
                (frozenset(words), tuple((str(n), str(a)) for n, a in calls))
                for words, calls in data
            ]
        except (orjson.JSONDecodeError, TypeError, ValueError):
            self._seen = []  # a damaged history only costs guesses


_HISTORY_KEY = ("agent.history",)


class Predictors:
    """The predictors of a store and a configuration: the rules of `[[agent.predict]]`
    and the history kept in the store under ("agent.history",); `remember()` adds a
    finished turn to that history (what `cairn ask` and `/v1/ask` both do)."""

    def __init__(self, kv: Any, rules: Sequence[Mapping[str, Any]] = ()) -> None:
        from ..store import ordered

        self.kv = kv
        self.key = ordered.encode(*_HISTORY_KEY)
        self.rules = RulePredictor.from_config(rules)
        self.history = HistoryPredictor()
        raw = kv.get(self.key) if kv is not None else None
        if raw is not None:
            self.history.loads(raw)

    @classmethod
    def configured(cls, kv: Any, agent_table: Mapping[str, Any] | None) -> Predictors:
        """From the `[agent]` table of cairn.toml (None: no file)."""
        entries = (agent_table or {}).get("predict", [])
        if not isinstance(entries, list):
            raise AgentError("[agent] predict must be an array of tables ([[agent.predict]])")
        return cls(kv, entries)

    def __iter__(self) -> Iterator[Predictor]:
        return iter((self.rules, self.history))

    def remember(self, message: str, calls: Iterable[tuple[str, str]]) -> None:
        self.history.learn(message, calls)
        if self.kv is not None:
            self.kv.set(self.key, self.history.dumps())
