"""Markdown files as docs: one doc per section, split at every heading.

A section's id is "<path>#<slug>" with GitHub's heading slugs (repeats get -1, -2…);
text before the first heading is the doc "<path>". A section's title is the path of
headings down to it ("Install > Linux"), so a short section keeps its context.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..notebook import NotebookError
from ..store import KV
from ._docs import Doc, Docs, delete_docs
from ._errors import IndexingError
from ._vectors import VectorIndex

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")
_NOT_SLUG = re.compile(r"[^\w\- ]", re.UNICODE)


@dataclass(frozen=True)
class Section:
    slug: str  # "" for the text before the first heading
    title: str
    text: str  # the section's Markdown below its heading


def slugify(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return _NOT_SLUG.sub("", heading.strip().lower()).replace(" ", "-")


def split_markdown(text: str, title: str = "") -> list[Section]:
    """Sections of a Markdown text, in order; sections without text are left out.

    Headings inside code fences, HTML blocks and frontmatter are not headings.
    """
    from markdown_it import MarkdownIt

    from ..notebook import split_frontmatter

    frontmatter, body = split_frontmatter(text)
    if frontmatter is not None and frontmatter.data:
        title = str(frontmatter.data.get("title") or title)
    lines = body.splitlines(keepends=True)
    tokens = MarkdownIt("commonmark").parse(body)
    headings: list[tuple[int, int, int, str]] = []  # (first line, next line, level, text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map and token.level == 0:
            inline = tokens[i + 1].content if i + 1 < len(tokens) else ""
            headings.append((token.map[0], token.map[1], int(token.tag[1:]), inline.strip()))
    sections: list[Section] = []
    seen: dict[str, int] = {}
    preamble = "".join(lines[: headings[0][0] if headings else len(lines)])
    if preamble.strip():
        sections.append(Section("", title, preamble.strip("\n")))
    trail: list[tuple[int, str]] = []  # the headings above the current one
    for n, (_, after, level, heading) in enumerate(headings):
        end = headings[n + 1][0] if n + 1 < len(headings) else len(lines)
        while trail and trail[-1][0] >= level:
            trail.pop()
        trail.append((level, heading))
        base = slugify(heading) or "section"
        count = seen.get(base, 0)
        seen[base] = count + 1
        slug = base if count == 0 else f"{base}-{count}"
        section_text = "".join(lines[after:end]).strip("\n")
        if section_text.strip():
            sections.append(Section(slug, " > ".join(h for _, h in trail), section_text))
    return sections


def source_id(path: Path, root: Path | None = None) -> str:
    """The id prefix of a file's docs: its path relative to `root` (default: the current
    directory) when under it, else its absolute path; always with forward slashes."""
    resolved = path.resolve()
    base = (root or Path.cwd()).resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


@dataclass(frozen=True)
class SkippedFile:
    """A file (or directory) that `add_markdown` left out, and why."""

    path: Path
    reason: str  # e.g. "not UTF-8 text (byte 7)"


class UnreadableFilesError(IndexingError):
    """Files cannot be read or parsed, and all or nothing was asked for: nothing was added."""

    def __init__(self, skipped: Sequence[SkippedFile]) -> None:
        self.skipped = tuple(skipped)
        first = self.skipped[0]
        if len(self.skipped) == 1:
            message = f"{first.path}: {first.reason}; nothing was added"
        else:
            message = (
                f"{len(self.skipped)} files cannot be indexed (first: {first.path}:"
                f" {first.reason}); nothing was added"
            )
        super().__init__(message)


class _Unreadable(Exception):
    """One file cannot be read or parsed; the argument says why."""


def _file_docs(path: Path, root: Path | None) -> list[Doc]:
    """The docs of one Markdown file; _Unreadable if it cannot be read or parsed."""
    if path.exists() and not path.is_file():  # a FIFO would block the read forever
        raise _Unreadable("not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or exc}") from None
    try:
        sections = split_markdown(text, title=path.stem)
    except (NotebookError, ValueError, RecursionError) as exc:
        raise _Unreadable(f"cannot parse: {exc}") from None
    source = source_id(path, root)
    return [
        Doc(f"{source}#{s.slug}" if s.slug else source, s.title or path.stem, s.text)
        for s in sections
    ]


def markdown_docs(path: Path, root: Path | None = None) -> list[Doc]:
    """The docs of one Markdown file. Raises IndexingError if it cannot be read as UTF-8
    text or parsed."""
    try:
        return _file_docs(path, root)
    except _Unreadable as exc:
        raise IndexingError(f"{path}: {exc}") from None


def markdown_files(paths: Iterable[Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Files named directly, plus the Markdown files under named directories (hidden
    directories skipped), in a stable order without repeats; and the directories that
    could not be listed. Raises IndexingError for a named path that does not exist."""
    found: dict[Path, None] = {}
    unlisted: list[SkippedFile] = []

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else Path("?")
        unlisted.append(SkippedFile(where, f"cannot list directory: {exc.strerror or exc}"))

    for path in paths:
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path, onerror=on_error):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.endswith(MARKDOWN_SUFFIXES):
                        found[Path(dirpath) / name] = None
        elif path.exists() or path.is_symlink():
            found[path] = None
        else:
            raise IndexingError(f"{path}: no such file or directory")
    return list(found), unlisted


def in_source(doc_id: str, source: str) -> bool:
    """Whether `doc_id` is one of the docs of file `source`."""
    return doc_id == source or doc_id.startswith(source + "#")


@dataclass(frozen=True)
class AddReport:
    files: int  # files read
    docs: int  # sections found
    written: tuple[str, ...]  # new or changed docs (to be embedded)
    removed: tuple[str, ...]  # docs of these files whose sections are gone
    skipped: tuple[SkippedFile, ...] = ()  # files that could not be read or parsed


def add_markdown(
    kv: KV,
    index: VectorIndex,
    paths: Iterable[Path],
    root: Path | None = None,
    *,
    strict: bool = False,
) -> AddReport:
    """Store the sections of Markdown files (and of the Markdown files under directories)
    as docs, and delete the docs of sections those files no longer have (with their
    vectors). Every file is read and split before anything is written, and the docs are
    written in one atomic batch.

    A file that cannot be read or parsed (unreadable, not UTF-8) is left out and listed
    in the report's `skipped`; the docs it had before stay as they were. With
    `strict=True`, such a file raises UnreadableFilesError instead, and nothing is written.
    """
    files, skipped = markdown_files(paths)
    per_source: dict[str, list[Doc]] = {}
    read = 0
    for path in files:
        try:
            per_source[source_id(path, root)] = _file_docs(path, root)
            read += 1
        except _Unreadable as exc:
            skipped.append(SkippedFile(path, str(exc)))
    if strict and skipped:
        raise UnreadableFilesError(skipped)
    docs = [doc for found in per_source.values() for doc in found]
    corpus = Docs(kv)
    fresh = {doc.id for doc in docs}
    stale = [
        id_
        for id_ in corpus.ids()
        if id_ not in fresh and (id_ in per_source or id_.rsplit("#", 1)[0] in per_source)
    ]
    written = corpus.add(docs)
    if stale:
        delete_docs(kv, index, stale)
    return AddReport(read, len(docs), tuple(written), tuple(stale), tuple(skipped))
