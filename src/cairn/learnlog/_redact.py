"""Redaction: secrets in a learning event are replaced by `[REDACTED:<kind>]` before the
event is written.

What counts as a secret: the values of secret-looking environment variables (and any
values the caller names), well-known token formats (GitHub, AWS, OpenAI, Anthropic,
Slack, Stripe, Google, JWTs, PEM private keys), `Authorization:` headers, passwords in
URLs and in `password=` pairs, and high-entropy values after token/secret/key keywords.

Speed matters (a cell's output is up to 64 KiB and every event passes through here), so
each rule is its own regex that begins with a literal, which `re` finds with a fast
substring search; case-insensitive rules run on a lower-cased copy of the text. One
combined alternation was 10× slower: `re` then tries every branch at every position.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = "[REDACTED:{}]"
_PLACEHOLDER_START = "[REDACTED:"

# Environment variables whose values are secrets, by name (upper-cased before matching).
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|CREDENTIAL|COOKIE|PRIVATE|(?:^|_)PASS(?:$|_)"
    r"|(?:^|_)DSN$|^AWS_"
)
# …except these, whose values are names, regions and paths that outputs are full of.
_NOT_SECRET_NAMES = frozenset(
    {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_OUTPUT", "AWS_PAGER"}
)
_NOT_SECRET_SUFFIXES = ("_FILE", "_PATH", "_DIR", "_ID_FILE")
_NOT_SECRET_VALUES = frozenset({"true", "false", "yes", "no", "none", "null", "on", "off"})
MIN_ENV_SECRET_LEN = 6  # shorter values of secret-named env vars are flags, not secrets
MIN_SECRET_LEN = 4  # shorter values named by the caller would redact half the output


def is_secret_name(name: str) -> bool:
    """True when an environment variable's name says its value is a secret."""
    upper = name.upper()
    if upper in _NOT_SECRET_NAMES or upper.endswith(_NOT_SECRET_SUFFIXES):
        return False
    return _SECRET_NAME.search(upper) is not None


def secret_env_values(environ: Mapping[str, str]) -> set[str]:
    """Values of the secret-named variables in `environ` worth redacting."""
    return {
        value
        for name, value in environ.items()
        if len(value) >= MIN_ENV_SECRET_LEN
        and value.lower() not in _NOT_SECRET_VALUES
        and is_secret_name(name)
    }


def _entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_random(value: str) -> bool:
    """A token-like value: long enough, mixed character classes, high entropy."""
    if len(value) < 8 or value[0] in "$<{%*" or value.startswith(_PLACEHOLDER_START):
        return False
    classes = (
        any(c.isdigit() for c in value)
        + any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c in "-_+/=.~" for c in value)
    )
    return classes >= 2 and _entropy(value) >= 3.0


def _any_password(value: str) -> bool:
    return not (
        value.startswith(("$", _PLACEHOLDER_START, "<")) or set(value) <= {"*"} or value == ""
    )


@dataclass(frozen=True)
class _Rule:
    kind: str
    # Every match contains this (in the lower-cased text for case-insensitive rules): a
    # substring test, far cheaper than a regex search, rules most strings out.
    literal: str
    regex: str
    # Case-insensitive rules: `pattern` is lower-case and runs on the lower-cased text;
    # `fallback` (the same regex with IGNORECASE) runs when lower-casing changed lengths.
    nocase: bool = False
    # Redact the first value group that matched (None: the whole match).
    groups: tuple[int, ...] = ()
    accept: Callable[[str], bool] | None = None

    # Compiled on first use, not at import (~15 ms for all rules, paid by every `cairn
    # run` otherwise); `re` caches compiled patterns, so later calls are a lookup.
    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    @property
    def fallback(self) -> re.Pattern[str] | None:
        return re.compile(self.regex, re.IGNORECASE) if self.nocase else None


def _rule(
    kind: str,
    literal: str,
    regex: str,
    *,
    nocase: bool = False,
    groups: tuple[int, ...] = (),
    accept: Callable[[str], bool] | None = None,
) -> _Rule:
    return _Rule(kind, literal, regex, nocase, groups, accept)


_B64 = r"[A-Za-z0-9_-]"
_QUOTED_VALUE = r"(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s\"'&;,]+))"
_SEP = r"[a-z0-9_.-]*[\"']?(?:[ \t]*[:=][ \t]*|[ \t]+)"
_SEP_STRICT = r"[a-z0-9_.-]*[\"']?[ \t]*[:=][ \t]*"

# Specific formats first (their kind is the most useful label), keyword rules last.
_RULES: tuple[_Rule, ...] = (
    _rule(
        "private_key",
        "-----BEGIN",
        r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    _rule("anthropic", "sk-ant-", r"sk-ant-" + _B64 + "{16,}"),
    _rule("openai", "sk-", r"sk-(?:proj-|svcacct-|admin-)?" + _B64 + "{20,}"),
    _rule("github", "gh", r"gh[pousr]_[A-Za-z0-9]{20,}"),
    _rule("github", "github_pat_", r"github_pat_[A-Za-z0-9_]{20,}"),
    _rule(
        "aws_access_key_id",
        "A",
        r"A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|NPA|NVA|IPA)[A-Z0-9]{16}(?![A-Z0-9])",
    ),
    _rule("slack", "xox", r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    _rule("stripe", "sk_", r"sk_(?:live|test)_[A-Za-z0-9]{16,}"),
    _rule("stripe", "rk_", r"rk_(?:live|test)_[A-Za-z0-9]{16,}"),
    _rule("google_api_key", "AIza", r"AIza" + _B64 + "{35}"),
    _rule("jwt", "eyJ", r"eyJ" + _B64 + r"{5,}\." + _B64 + r"{5,}\." + _B64 + "{5,}"),
    # The user part may be a placeholder already (a token redacted above): its ":" is
    # not the one that starts a password.
    _rule(
        "url_password",
        "://",
        r"://(?:\[REDACTED:[a-z_]+\]|(?!\[REDACTED:)[^\s/:@]*):([^\s/@]+)@",
        groups=(1,),
        accept=_any_password,
    ),
    _rule(
        "aws_secret_access_key",
        "aws",
        r"aws_?secret_?(?:access_?)?key" + _SEP_STRICT + r"[\"']?([a-z0-9/+=]{30,})",
        nocase=True,
        groups=(1,),
    ),
    _rule(
        "authorization",
        "authorization",
        r"authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
        r"(?:(?:bearer|basic|token|digest|negotiate|apikey)[ \t]+)?([^\s\"',;]+)",
        nocase=True,
        groups=(1,),
        accept=_any_password,
    ),
    _rule("bearer", "bearer", r"bearer[ \t]+([a-z0-9._~+/=-]{16,})", nocase=True, groups=(1,)),
    _rule(
        "password",
        "passw",
        r"passw(?:or)?d" + _SEP_STRICT + _QUOTED_VALUE,
        nocase=True,
        groups=(1, 2, 3),
        accept=_any_password,
    ),
    _rule(
        "password",
        "passphrase",
        r"passphrase" + _SEP_STRICT + _QUOTED_VALUE,
        nocase=True,
        groups=(1, 2, 3),
        accept=_any_password,
    ),
    # `pwd=` in lower case only: `PWD=/home/me` in an `env` listing is no secret.
    _rule(
        "password",
        "pwd",
        r"pwd[ \t]*=[ \t]*" + _QUOTED_VALUE,
        groups=(1, 2, 3),
        accept=_any_password,
    ),
    *(
        _rule(
            "secret",
            keyword,
            keyword + _SEP + r"[\"']?([^\s\"'&;,]{8,})",
            nocase=True,
            groups=(1,),
            accept=looks_random,
        )
        for keyword in ("token", "secret", "key", "credential", "passw")
    ),
)


def _redact_rule(text: str, subject: str, rule: _Rule, pattern: re.Pattern[str]) -> str:
    """Apply one rule: `subject` is `text` or its same-length lower-cased copy."""
    pieces: list[str] = []
    last = 0
    placeholder = PLACEHOLDER.format(rule.kind)
    for match in pattern.finditer(subject):
        if rule.groups:
            group = next((g for g in rule.groups if match.start(g) >= 0), None)
            if group is None:
                continue
            start, end = match.span(group)
        else:
            start, end = match.span()
        if start < last:
            continue
        value = text[start:end]
        if value.startswith(_PLACEHOLDER_START):
            continue
        if rule.accept is not None and not rule.accept(value):
            continue
        pieces.append(text[last:start])
        pieces.append(placeholder)
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def redact_patterns(text: str) -> str:
    """Redact the well-known secret formats and keyword pairs in `text`."""
    lowered: str | None = None
    for rule in _RULES:
        if rule.fallback is None:
            if rule.literal not in text:
                continue
            redacted = _redact_rule(text, text, rule, rule.pattern)
        else:
            if lowered is None:
                lowered = text.lower()
            if rule.literal not in lowered:
                continue
            if len(lowered) == len(text):
                redacted = _redact_rule(text, lowered, rule, rule.pattern)
            else:
                redacted = _redact_rule(text, text, rule, rule.fallback)
        if redacted is not text:
            text = redacted
            lowered = None
    return text


class Redactor:
    """Redacts secret values (named ones and those of secret-named env vars) and patterns."""

    def __init__(
        self, secret_values: Iterable[str] = (), *, environ: Mapping[str, str] | None = None
    ) -> None:
        self._mu = threading.Lock()
        self._values: tuple[str, ...] = ()
        env = os.environ if environ is None else environ
        self._add(secret_env_values(env), MIN_ENV_SECRET_LEN)
        self._add(secret_values, MIN_SECRET_LEN)

    def _add(self, values: Iterable[str], min_len: int) -> None:
        fresh = {v for v in values if len(v) >= min_len}
        with self._mu:
            # Longest first, so a secret that contains another is replaced whole.
            merged = set(self._values) | fresh
            self._values = tuple(sorted(merged, key=lambda v: (-len(v), v)))

    def add_secret_values(self, values: Iterable[str]) -> None:
        """Also redact these literal values (e.g. env values a session set) from now on."""
        self._add(values, MIN_SECRET_LEN)

    @property
    def secret_values(self) -> tuple[str, ...]:
        return self._values

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by `[REDACTED:<kind>]`."""
        if not text:
            return text
        for value in self._values:
            if value in text:
                text = text.replace(value, "[REDACTED:env]")
        return redact_patterns(text)

    def redact_data(self, data: Any) -> Any:
        """Redact every string in a JSON-like value (dict values, list items), recursively."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {key: self.redact_data(value) for key, value in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(item) for item in data]
        return data


def redact(text: str, secret_values: Iterable[str] = ()) -> str:
    """Redact `text` with the process's secret env values plus `secret_values`."""
    return Redactor(secret_values).redact(text)
