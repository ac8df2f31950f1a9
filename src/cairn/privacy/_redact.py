"""Redaction: secrets in any text are replaced by `[REDACTED:<kind>]`.

What counts as a secret: the values of secret-looking environment variables (of this
process, and those a session's cells set, registered with `add_secret_values`), any values
the caller names, and base64 copies of all of those; well-known token formats (GitHub,
AWS, OpenAI, Anthropic, Slack, Stripe, Google, JWTs, PEM private keys), `Authorization:`
headers, passwords in URLs and in `password=`/`db_pass=`/`pwd=` pairs, values assigned to
secret-named variables (`export API_TOKEN=…`), and high-entropy values after
token/secret/key keywords.

Speed matters (a cell's output is up to 64 KiB and every event passes through here), so
each rule is its own regex that begins with a literal, which `re` finds with a fast
substring search; case-insensitive rules run on a lower-cased copy of the text. One
combined alternation was 10× slower: `re` then tries every branch at every position.
"""

from __future__ import annotations

import base64
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
MIN_BASE64_LEN = 8  # shorter base64 copies of a secret would match by chance


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


_SEGMENT = re.compile(r"[A-Za-z0-9]+")


def _random_segment(segment: str) -> bool:
    """A run of letters and digits that no word, number or name is: letters mixed with
    digits over 8+ characters (`a8Kd93Lm`, hex), or mixed-case letters over 16+."""
    if len(segment) < 8:
        return False
    has_digit = any(c.isdigit() for c in segment)
    has_alpha = any(c.isalpha() for c in segment)
    if has_digit and has_alpha:
        return True
    return len(segment) >= 16 and segment != segment.lower() and segment != segment.upper()


def looks_random(value: str) -> bool:
    """A token-like value: long enough, high entropy, and not made of words, numbers and
    names (`lf-prod/ledger/db`, `daily/dt=2026-11-07`, `p.booked_at`) nor a URL."""
    if len(value) < 8 or value[0] in "$<{%*" or value.startswith(_PLACEHOLDER_START):
        return False
    if "://" in value:
        return False
    if not any(_random_segment(segment) for segment in _SEGMENT.findall(value)):
        return False
    return _entropy(value) >= 3.0


def _plain_value(value: str) -> bool:
    """A literal value (not `$VAR`, `<placeholder>`, `{{template}}`, a flag word)."""
    return (
        len(value) >= MIN_SECRET_LEN
        and value[0] not in "$<{%*"
        and not value.startswith(_PLACEHOLDER_START)
        and value.lower() not in _NOT_SECRET_VALUES
    )


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
    # The match starts inside an upper-case variable name (`export DB_TOKEN=…`): the whole
    # name, read backwards from the match, must be secret-named (`is_secret_name`).
    env_name: bool = False
    # A check of the text before the match (`text`, the match's start): regexes that
    # begin with a literal are found by a fast substring search, lookbehinds are not.
    before: Callable[[str, int], bool] | None = None

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
    env_name: bool = False,
    before: Callable[[str, int], bool] | None = None,
) -> _Rule:
    return _Rule(kind, literal, regex, nocase, groups, accept, env_name, before)


def _name_start(text: str, at: int) -> bool:
    """`at` starts a name or a part of one (`pass=`, `db_pass=`), not a word (`bypass=`)."""
    return at == 0 or not text[at - 1].isalnum()


def _in_flag(text: str, at: int) -> bool:
    """`at` is inside a command-line flag: the word around it starts with `-`."""
    start = at
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text.startswith("-", start)


def _name_part(text: str, at: int) -> bool:
    """`at` starts the last part of a longer name: `db_pass`, `mysql.pass`."""
    return at >= 2 and text[at - 1] in "_.-" and text[at - 2].isalnum()


_B64 = r"[A-Za-z0-9_-]"
_QUOTED_VALUE = r"(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s\"'&;,]+))"
# A value that ends where a word ends, not at another `=`: in `PASS= DB_PASS=x`, the
# first pair has no value ("DB_PASS" is the next pair's name).
# Shorter than MIN_SECRET_LEN is not a secret (`PASS=1`): the regex rules it out in C.
_PAIR_VALUE = r"(?:\"([^\"\n]{4,})\"|'([^'\n]{4,})'|([^\s\"'&;,=]{4,})(?=[\s\"'&;,]|$))"
_SEP_STRICT = r"[a-z0-9_.-]*[\"']?[ \t]*[:=][ \t]*"
# The rest of a name after a keyword: nothing, or more parts after a separator.
_NAME_REST = r"(?:[_.-][a-z0-9_.-]*)?"

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
    # `db_pass=…`, `--pass=…`, `DB_PASS: …`: a name whose last part is `pass` (after a
    # `:` only when the name has another part: "did not pass: expected 3" is prose).
    _rule(
        "password",
        "pass",
        r"pass[\"']?[ \t]*=[ \t]*" + _PAIR_VALUE,
        nocase=True,
        groups=(1, 2, 3),
        accept=_plain_value,
        before=_name_start,
    ),
    _rule(
        "password",
        "pass",
        r"pass[\"']?[ \t]*:[ \t]*" + _PAIR_VALUE,
        nocase=True,
        groups=(1, 2, 3),
        accept=_plain_value,
        before=_name_part,
    ),
    # `token: …`, `api_key=…`, `"secret": "…"`: the keyword ends a name (`secret_key`,
    # `--secret-id`; not `secretsmanager`), then `:` or `=`, then a random-looking value.
    *(
        _rule(
            "secret",
            keyword,
            keyword + _NAME_REST + r"[\"']?[ \t]*[:=][ \t]*[\"']?([^\s\"'&;,]{8,})",
            nocase=True,
            groups=(1,),
            accept=looks_random,
        )
        for keyword in ("token", "secret", "key", "credential", "passw")
    ),
    # `--token …`, `-api-key …`: a flag that names one, then its value after a space.
    *(
        _rule(
            "secret",
            keyword,
            keyword + _NAME_REST + r"[ \t]+[\"']?([^\s\"'&;,]{8,})",
            nocase=True,
            groups=(1,),
            accept=looks_random,
            before=_in_flag,
        )
        for keyword in ("token", "secret", "key", "credential", "passw")
    ),
    # `export API_TOKEN=…`, `DB_PASS=… ./migrate`: a literal assigned to a variable whose
    # name says its value is a secret, as the process environment's are judged.
    *(
        _rule(
            "env",
            keyword,
            keyword + r"[A-Z0-9_]*=" + _PAIR_VALUE,
            groups=(1, 2, 3),
            accept=_plain_value,
            env_name=True,
        )
        for keyword in ("TOKEN", "SECRET", "PASS", "KEY", "CREDENTIAL", "COOKIE", "PRIVATE")
    ),
)


_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _secret_env_name(text: str, start: int, matched: str) -> bool:
    """Whether the upper-case name that `matched` (`…KEY…=value`) ends is secret-named."""
    begin, floor = start, max(0, start - 128)
    while begin > floor and text[begin - 1] in _NAME_CHARS:
        begin -= 1
    if begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] == "_"):
        return False  # part of a mixed-case word: `MyKEY=` is not an env name
    name = text[begin:start] + matched.partition("=")[0]
    return not name[:1].isdigit() and is_secret_name(name)


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
        if rule.before is not None and not rule.before(text, match.start()):
            continue
        if rule.env_name and not _secret_env_name(text, match.start(), match.group()):
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


def base64_copies(value: str) -> set[str]:
    """The base64 text that any encoding of `value` contains, whatever bytes surround it.

    base64 maps 3 bytes to 4 characters, so `value` encodes differently at each of the
    3 offsets it can start at; of each encoding, only the characters that depend on
    `value` alone (not on the bytes before or after it) are kept. Copies shorter than
    `MIN_BASE64_LEN` are dropped: they would match by chance.
    """
    raw = value.encode("utf-8")
    copies = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = -(-8 * offset // 6)  # ceil: the first character free of the prefix
        end = 8 * (offset + len(raw)) // 6  # the characters made of `value`'s bits only
        core = encoded[start:end]
        if len(core) >= MIN_BASE64_LEN:
            copies.add(core)
            copies.add(core.replace("+", "-").replace("/", "_"))  # the URL-safe alphabet
    return copies


class _Values:
    """Literal secrets with their kinds, longest first; thread-safe to add to."""

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self._kinds: dict[str, str] = {}
        self.ordered: tuple[tuple[str, str], ...] = ()
        self.version = 0

    def add(self, values: Iterable[str], min_len: int) -> None:
        fresh: dict[str, str] = {}
        for value in values:
            if len(value) < min_len or value in self._kinds:
                continue
            fresh[value] = "env"
            for copy in base64_copies(value):
                fresh.setdefault(copy, "base64")
        if not fresh:
            return
        with self._mu:
            merged = {**fresh, **self._kinds}
            self._kinds = merged
            # Longest first, so a secret that contains another is replaced whole.
            self.ordered = tuple(sorted(merged.items(), key=lambda kv: (-len(kv[0]), kv[0])))
            self.version += 1


# Secrets of this process that every Redactor knows: those of its environment (added at
# first use) and those its sessions set (`add_secret_values`).
_SHARED = _Values()


def add_secret_values(values: Iterable[str]) -> None:
    """Redact these literal values (and their base64 copies) everywhere in this process
    from now on: in learning events, the store, debug records and model requests."""
    _SHARED.add(values, MIN_SECRET_LEN)


class Redactor:
    """Redacts literal secrets (its own, this process's and its sessions') and patterns.

    Every Redactor also knows the process-wide values of `add_secret_values`, so that a
    secret a cell exported is redacted wherever its value goes next.
    """

    def __init__(
        self, secret_values: Iterable[str] = (), *, environ: Mapping[str, str] | None = None
    ) -> None:
        self._own = _Values()
        env = os.environ if environ is None else environ
        self._own.add(secret_env_values(env), MIN_ENV_SECRET_LEN)
        self._own.add(secret_values, MIN_SECRET_LEN)
        self._merged: tuple[tuple[str, str], ...] = ()
        self._versions = (-1, -1)

    def add_secret_values(self, values: Iterable[str]) -> None:
        """Also redact these literal values (e.g. env values a session set) from now on."""
        self._own.add(values, MIN_SECRET_LEN)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Its own literal secrets (not the process's, nor base64 copies), longest first."""
        return tuple(value for value, kind in self._own.ordered if kind == "env")

    def _literals(self) -> tuple[tuple[str, str], ...]:
        versions = (self._own.version, _SHARED.version)
        if versions != self._versions:
            own, shared = self._own.ordered, _SHARED.ordered
            merged = dict(shared)
            merged.update(own)
            self._merged = tuple(sorted(merged.items(), key=lambda kv: (-len(kv[0]), kv[0])))
            self._versions = versions
        return self._merged

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by `[REDACTED:<kind>]`."""
        if not text:
            return text
        for value, kind in self._literals():
            if value in text:
                text = text.replace(value, PLACEHOLDER.format(kind))
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


_default: Redactor | None = None
_default_mu = threading.Lock()


def default_redactor() -> Redactor:
    """The process's Redactor: its environment's secrets, its sessions', and patterns."""
    global _default
    if _default is None:
        with _default_mu:
            if _default is None:
                _default = Redactor()
    return _default


def redact(text: str, secret_values: Iterable[str] = ()) -> str:
    """Redact `text` with the process's known secrets plus `secret_values`."""
    if not secret_values:
        return default_redactor().redact(text)
    return Redactor(secret_values).redact(text)


def redact_data(data: Any) -> Any:
    """Redact every string of a JSON-like value with the process's Redactor."""
    return default_redactor().redact_data(data)
