"""Fixing comments by rule, as Gaby's `commentfix` does — and keeping every byte of a
comment outside what a rule rewrites.

Rules (in cairn.toml, `[[bot.commentfix]]`, applied in order, each on the previous one's
output):

- `autolink = REGEXP, url = URL`: plain-text matches become links `[match](url)`;
- `replace_text = REGEXP, with = TEXT`: plain text is rewritten;
- `replace_url = REGEXP, with = URL`: link targets, autolinks and bare URLs are
  rewritten, and a link's text that equals its old URL is updated with it.

Regexps are Python's; replacements accept Go's `$1` and `${name}` as Gaby's do.

The comment is Markdown: text rules never touch code (spans, fenced and indented blocks),
HTML, or URLs, and `autolink` never links text that is already a link's text. Where
markdown-it-py (what `cairn.notebook` parses with) tells the blocks apart by line, the
inline pieces are found on the source itself, so the rewrite is a splice of the spans a
rule changed: the rest of the comment is returned as it was, byte for byte (Gaby
re-renders the whole comment).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from markdown_it import MarkdownIt

from ..store import KV
from ._errors import ConfigError

Kind = Literal["autolink", "replace_text", "replace_url"]
_GO_GROUP = re.compile(r"\$(?:\{(\w+)\}|(\d+))")
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+).+?(?P=ticks))"
    r"|(?P<auto><(?P<autourl>[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>]*)>)"
    r"|(?P<html></?[A-Za-z][^<>\n]*>|<!--.*?-->)"
    r"|(?P<link>\[(?P<linktext>[^\[\]\n]*)\]\((?P<target>[^()\s]+)(?P<title>\s+\"[^\"\n]*\")?\))"
    r"|(?P<ref>\[(?P<reftext>[^\[\]\n]*)\]\[[^\[\]\n]*\])"  # [text][ref], [text][]
    r"|(?P<bare>https?://[^\s<>()\[\]`]+[^\s<>()\[\]`.,;:!?'\"])",
    re.DOTALL,
)


def _python_replacement(go: str) -> str:
    """Go's `$1` / `${name}` as Python's `\\g<1>` / `\\g<name>` (backslashes kept)."""
    escaped = go.replace("\\", "\\\\")
    return _GO_GROUP.sub(lambda m: f"\\g<{m.group(1) or m.group(2)}>", escaped)


@dataclass(frozen=True)
class Rule:
    kind: Kind
    pattern: re.Pattern[str]
    replacement: str  # Python syntax

    def expand(self, match: re.Match[str]) -> str:
        return match.expand(self.replacement)


def autolink(regexp: str, url: str) -> Rule:
    return Rule("autolink", _compile(regexp, "autolink"), _python_replacement(url))


def replace_text(regexp: str, repl: str) -> Rule:
    return Rule("replace_text", _compile(regexp, "replace_text"), _python_replacement(repl))


def replace_url(regexp: str, repl: str) -> Rule:
    return Rule("replace_url", _compile(regexp, "replace_url"), _python_replacement(repl))


def _compile(regexp: str, kind: str) -> re.Pattern[str]:
    try:
        return re.compile(regexp)
    except re.error as exc:
        raise ConfigError(f"{kind} rule {regexp!r}: not a regular expression ({exc})") from None


def load_rules(entries: Iterable[dict[str, Any]], where: str = "[[bot.commentfix]]") -> list[Rule]:
    """Rules from TOML tables; ConfigError naming the entry for a malformed one."""
    rules = []
    for i, entry in enumerate(entries, start=1):
        kinds = [k for k in ("autolink", "replace_text", "replace_url") if k in entry]
        target = entry.get("url" if "autolink" in entry else "with")
        if len(kinds) != 1 or not isinstance(target, str) or not isinstance(entry[kinds[0]], str):
            raise ConfigError(
                f"{where} entry {i}: give exactly one of autolink (with url), replace_text"
                " or replace_url (with `with`), as strings"
            )
        make = {"autolink": autolink, "replace_text": replace_text, "replace_url": replace_url}
        try:
            rules.append(make[kinds[0]](entry[kinds[0]], target))
        except ConfigError as exc:
            raise ConfigError(f"{where} entry {i}: {exc}") from None
    return rules


@dataclass(frozen=True)
class FixResult:
    text: str
    fired: tuple[int, ...]  # the rules (1-based) that changed something


_MD = MarkdownIt("commonmark")


def _protected_lines(text: str) -> set[int]:
    """Lines inside code blocks and HTML blocks (0-based)."""
    lines: set[int] = set()
    for token in _MD.parse(text):
        if token.type in ("fence", "code_block", "html_block") and token.map:
            lines.update(range(token.map[0], token.map[1]))
    return lines


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    kind: Literal["text", "linktext", "url", "frozen"]


def _pieces(text: str) -> Iterator[_Piece]:
    """The comment cut into text, link text, URLs and frozen spans (code, HTML, code
    blocks), in order, covering every byte."""
    frozen_lines = _protected_lines(text)
    offsets, pos = [], 0
    for line in text.splitlines(keepends=True):
        offsets.append((pos, pos + len(line)))
        pos += len(line)
    i = 0
    while i < len(offsets):
        start = offsets[i][0]
        if i in frozen_lines:
            j = i
            while j + 1 < len(offsets) and j + 1 in frozen_lines:
                j += 1
            yield _Piece(start, offsets[j][1], "frozen")
            i = j + 1
            continue
        j = i
        while j + 1 < len(offsets) and j + 1 not in frozen_lines:
            j += 1
        yield from _inline(text, start, offsets[j][1])
        i = j + 1


def _inline(text: str, start: int, end: int) -> Iterator[_Piece]:
    at = start
    for m in _INLINE.finditer(text, start, end):
        if m.start() > at:
            yield _Piece(at, m.start(), "text")
        if m.group("auto"):
            yield _Piece(m.start(), m.start("autourl"), "frozen")
            yield _Piece(m.start("autourl"), m.end("autourl"), "url")
            yield _Piece(m.end("autourl"), m.end(), "frozen")
        elif m.group("link") is not None:
            yield _Piece(m.start(), m.start("linktext"), "frozen")
            yield _Piece(m.start("linktext"), m.end("linktext"), "linktext")
            yield _Piece(m.end("linktext"), m.start("target"), "frozen")
            yield _Piece(m.start("target"), m.end("target"), "url")
            yield _Piece(m.end("target"), m.end(), "frozen")
        elif m.group("ref") is not None:  # a reference link: its text is a link's text
            yield _Piece(m.start(), m.start("reftext"), "frozen")
            yield _Piece(m.start("reftext"), m.end("reftext"), "linktext")
            yield _Piece(m.end("reftext"), m.end(), "frozen")
        elif m.group("bare"):
            yield _Piece(m.start(), m.end(), "url")
        else:
            yield _Piece(m.start(), m.end(), "frozen")
        at = m.end()
    if at < end:
        yield _Piece(at, end, "text")


def _apply(rule: Rule, text: str) -> str:
    out: list[str] = []
    pieces = list(_pieces(text))
    for n, piece in enumerate(pieces):
        chunk = text[piece.start : piece.end]
        if piece.kind == "text" or (piece.kind == "linktext" and rule.kind == "replace_text"):
            if rule.kind == "autolink" and piece.kind == "text":
                chunk = rule.pattern.sub(lambda m: f"[{m.group(0)}]({rule.expand(m)})", chunk)
            elif rule.kind == "replace_text":
                chunk = rule.pattern.sub(rule.expand, chunk)
        elif piece.kind == "url" and rule.kind == "replace_url":
            new = rule.pattern.sub(rule.expand, chunk)
            if new != chunk and n >= 2 and pieces[n - 2].kind == "linktext":
                label = pieces[n - 2]
                if text[label.start : label.end] == chunk:  # [old](old): the text follows
                    out[n - 2] = new
            chunk = new
        out.append(chunk)
    return "".join(out)


def fix(text: str, rules: Sequence[Rule]) -> FixResult | None:
    """`text` with the rules applied in order; None when no rule changed anything."""
    fired = []
    for i, rule in enumerate(rules, start=1):
        new = _apply(rule, text)
        if new != text:
            fired.append(i)
            text = new
    return FixResult(text, tuple(fired)) if fired else None


def commentfix_job(
    kv: KV,
    rules: Sequence[Rule],
    *,
    approval_required: bool = False,
    name: str = "bot.commentfix",
) -> int:
    """Plan an edit for each new or edited comment of the mirror that the rules change;
    returns how many. The edit carries the text it was planned on, so the action log
    skips it if the comment changed since (a stale edit); the bot's own comments (they
    carry an action marker) are left alone."""
    if not rules:
        return 0
    from ..store.timed import Consumer
    from ._actions import ActionLog, unified_diff
    from ._tracker import COMMENTS, MIRROR_KIND, parse_mirror_key, raw

    consumer = Consumer(kv, MIRROR_KIND, name)
    log = ActionLog(kv)
    planned = 0
    with consumer.locked():
        for changes in consumer.batches(200):
            for change in changes:
                project, number, api, comment_id = parse_mirror_key(change.key)
                if api != COMMENTS or change.entry is None:
                    continue
                comment = raw(change.entry.value)
                body = str(comment.get("body") or "")
                if "<!-- cairn-action:" in body:
                    continue
                result = fix(body, rules)
                if result is None:
                    continue
                updated = str(comment.get("updated_at") or "")
                log.add(
                    "edit_comment",
                    f"commentfix:{project}/{comment_id}@{updated}",
                    project=project,
                    number=number,
                    comment_id=comment_id,
                    body=result.text,
                    expect=body,
                    diff=unified_diff(body, result.text, f"comment {comment_id}"),
                    approval_required=approval_required,
                )
                planned += 1
            consumer.commit(kv.batch(), changes[-1].seq)
    return planned
