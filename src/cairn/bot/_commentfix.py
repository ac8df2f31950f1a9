"""Fixing comments by rule, as Gaby's `commentfix` does — and keeping every byte of a
comment outside what a rule rewrites.

Rules (in cairn.toml, `[[bot.commentfix]]`, applied in order, each on the previous one's
output):

- `autolink = REGEXP, url = URL`: plain-text matches become links `[match](url)`;
- `replace_text = REGEXP, with = TEXT`: plain text is rewritten;
- `replace_url = REGEXP, with = URL`: link targets, autolinks and bare URLs are
  rewritten, and a link's text that equals its old URL is updated with it.

Regexps are Python's; replacements accept Go's `$1` and `${name}` as Gaby's do.

The comment is Markdown, parsed as GitHub reads it (CommonMark with tables,
strikethrough and bare URLs) by markdown-it-pyrs, whose tree maps every node, inline ones
included, to its bytes in the source. Text rules touch only text nodes (prose and link
text), never code (spans, fenced and indented blocks), HTML, escapes, entities, image alt
text or URLs; `autolink` never links text that is already a link's text; URL rules touch
link and image targets, autolinks, bare URLs and reference definitions. The rewrite is a
splice of the spans a rule changed: the rest of the comment is returned as it was, byte
for byte (Gaby re-renders the whole comment). A span whose source map does not match its
content is left alone: a rule then does not fire there, rather than rewrite wrong bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..store import KV
from ._errors import ConfigError

Kind = Literal["autolink", "replace_text", "replace_url"]
_GO_GROUP = re.compile(r"\$(?:\{(\w+)\}|(\d+))")


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


_SpanKind = Literal["text", "linktext", "url"]


@dataclass(frozen=True)
class _Piece:
    start: int  # byte offsets into the UTF-8 source
    end: int
    kind: _SpanKind
    label: tuple[int, int] | None = None  # a link target's text, when its text is its URL


@functools.cache
def _parser() -> Any:
    # markdown-it-pyrs (markdown-it.rs) gives every node, inline ones included, its
    # byte offsets in the source; markdown-it-py gives lines only. GitHub's flavour:
    # tables, strikethrough, bare URLs linked.
    from markdown_it_pyrs import MarkdownIt

    return MarkdownIt("commonmark").enable_many(["table", "strikethrough", "linkify"])


# A link's destination and title after `](`: `<dest>` or a run without spaces (balanced
# parentheses), then an optional title, then the closing `)`.
_DEST = re.compile(
    rb"\s*(<[^<>\n]*>|[^\s<]\S*?)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)\Z", re.DOTALL
)
_DEFINITION = re.compile(rb"\]:\s*(<[^<>\n]*>|\S+)")


def _pieces(text: str) -> tuple[bytes, list[_Piece]]:
    """The comment's bytes and the spans a rule may rewrite, in order: plain text, link
    text, and URLs (link and image targets, autolinks, bare URLs, reference
    definitions). Everything else — code spans and blocks, HTML, escapes, entities,
    Markdown's own punctuation — is never touched.

    Each span comes from the parse tree's source map and is checked against the source
    (its text must be the node's content): a span that does not check out is left out,
    so a rule then does not fire there rather than rewrite the wrong bytes."""
    source = text.encode()
    pieces: list[_Piece] = []

    def literal(node: Any) -> tuple[int, int] | None:
        """The node's span when its source is its content (NULs read as U+FFFD)."""
        if node.srcmap is None:
            return None
        start, end = node.srcmap
        content = str(node.meta.get("content", "")).encode()
        if not content:
            return None
        got = source[start:end].replace(b"\0", "\ufffd".encode())
        if got == content:
            return start, end
        if source[start : start + len(content)] == content:  # an overlong source map
            return start, start + len(content)
        return None

    def target(link: Any, after: int) -> tuple[int, int] | None:
        """The destination of an inline link or image whose label ends at `after`."""
        end = link.srcmap[1]
        if source[after : after + 2] != b"](":
            return None  # a reference link: its URL is in the definition
        m = _DEST.match(source, after + 2, end)
        if m is None:
            return None
        start, stop = m.span(1)
        if source[start : start + 1] == b"<":
            start, stop = start + 1, stop - 1
        return (start, stop) if stop > start else None

    def visit(node: Any, in_link: bool) -> None:
        name = node.name
        if name == "text":
            span = literal(node)
            if span is not None:
                pieces.append(_Piece(*span, "linktext" if in_link else "text"))
        elif name in ("link", "image") and node.srcmap is not None:
            label: list[_Piece] = []
            before = len(pieces)
            if name == "link":
                for child in node.children:
                    visit(child, True)
                label = pieces[before:]
            ends = [c.srcmap[1] for c in node.children if c.srcmap is not None]
            after = max(ends) if ends else node.srcmap[0] + (2 if name == "image" else 1)
            if node.children and not ends:
                return
            span = target(node, after)
            if span is not None:
                whole = (label[0].start, label[-1].end) if len(label) == 1 else None
                same = whole is not None and source[whole[0] : whole[1]] == source[slice(*span)]
                pieces.append(_Piece(*span, "url", whole if same else None))
        elif name in ("autolink", "linkify"):
            for child in node.children:
                span = literal(child)
                if span is not None:
                    pieces.append(_Piece(*span, "url"))
        elif name == "definition" and node.srcmap is not None:
            m = _DEFINITION.search(source, *node.srcmap)
            if m is not None:
                start, stop = m.span(1)
                if source[start : start + 1] == b"<":
                    start, stop = start + 1, stop - 1
                pieces.append(_Piece(start, stop, "url"))
        elif name in ("code_inline", "code_block", "fence", "html_inline", "html_block"):
            return
        else:
            for child in node.children:
                visit(child, in_link)

    visit(_parser().tree(text), False)
    pieces.sort(key=lambda p: p.start)
    merged: list[_Piece] = []
    for piece in pieces:  # adjacent text spans are one text to a rule's regexp
        last = merged[-1] if merged else None
        if last and last.kind == piece.kind != "url" and last.end == piece.start:
            merged[-1] = _Piece(last.start, piece.end, last.kind)
        elif not last or piece.start >= last.end:  # never overlapping
            merged.append(piece)
    return source, merged


def _apply(rule: Rule, text: str) -> str:
    source, pieces = _pieces(text)
    edits: dict[tuple[int, int], str] = {}  # (start, end) → new text
    for piece in pieces:
        chunk = source[piece.start : piece.end].decode()
        if piece.kind == "text" and rule.kind == "autolink":
            new = rule.pattern.sub(lambda m: f"[{m.group(0)}]({rule.expand(m)})", chunk)
        elif piece.kind in ("text", "linktext") and rule.kind == "replace_text":
            new = rule.pattern.sub(rule.expand, chunk)
        elif piece.kind == "url" and rule.kind == "replace_url":
            new = rule.pattern.sub(rule.expand, chunk)
            if new != chunk and piece.label is not None:  # [old](old): the text follows
                edits[piece.label] = new
        else:
            continue
        if new != chunk:
            edits[(piece.start, piece.end)] = new
    if not edits:
        return text
    out, at = [], 0
    for (start, end), new in sorted(edits.items()):
        out += [source[at:start], new.encode()]
        at = end
    out.append(source[at:])
    return b"".join(out).decode()


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
