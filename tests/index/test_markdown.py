"""Markdown files as docs: split at headings, stable ids, stale sections removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.index import (
    Docs,
    IndexingError,
    UnreadableFilesError,
    VectorIndex,
    add_markdown,
    embed_docs,
    markdown_docs,
    slugify,
    split_markdown,
)
from cairn.store import SQLiteKV

from .conftest import CountingEmbedder

GUIDE = """\
---
title: The Guide
---
Welcome to the guide.

# Install

## Linux
Use apt.

```sh
# a comment, not a heading
apt-get install cairn
```

## macOS

Use brew.

Setext heading
--------------

Under a setext heading.

## Linux

Linux again (a second section with the same heading).

# Empty

> # quoted, not a section
"""


def test_sections_split_at_headings_with_github_slugs_and_trails() -> None:
    sections = split_markdown(GUIDE, title="guide")
    assert [(s.slug, s.title) for s in sections] == [
        ("", "The Guide"),
        ("linux", "Install > Linux"),
        ("macos", "Install > macOS"),
        ("setext-heading", "Install > Setext heading"),
        ("linux-1", "Install > Linux"),
        ("empty", "Empty"),
    ]
    linux = sections[1].text
    assert "# a comment, not a heading" in linux and "apt-get install cairn" in linux
    assert not linux.startswith("## Linux")
    assert sections[0].text == "Welcome to the guide."


def test_slugs_follow_github() -> None:
    assert slugify("What's new in v2.0?") == "whats-new-in-v20"
    assert slugify("  Multi   Space ") == "multi---space"
    assert slugify("Ünïcode_ok") == "ünïcode_ok"


def test_doc_ids_are_relative_paths_with_slugs(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "guide.md"
    path.write_text(GUIDE, encoding="utf-8")
    docs = markdown_docs(path, root=tmp_path)
    assert [d.id for d in docs][:2] == ["sub/guide.md", "sub/guide.md#linux"]


def test_a_big_file_becomes_many_docs(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_text(
        "".join(f"## Part {i}\n\n{'filler text ' * 800}\n\n" for i in range(100)), "utf-8"
    )
    assert path.stat().st_size > 900_000
    docs = markdown_docs(path, root=tmp_path)
    assert len(docs) == 100 and docs[42].id == "big.md#part-42"


def test_adding_a_file_again_removes_sections_it_lost(kv: SQLiteKV, tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# One\n\nfirst\n\n# Two\n\nsecond\n", "utf-8")
    (tmp_path / "other.md").write_text("# One\n\nother file\n", "utf-8")
    index = VectorIndex(kv, "docs")
    report = add_markdown(kv, index, [tmp_path], root=tmp_path)
    assert (report.files, report.docs, report.removed) == (2, 3, ())
    embed_docs(kv, CountingEmbedder(), index)

    path.write_text("# One\n\nfirst\n", "utf-8")
    report = add_markdown(kv, index, [path], root=tmp_path)
    assert report.written == () and report.removed == ("notes.md#two",)
    assert sorted(Docs(kv).ids()) == ["notes.md#one", "other.md#one"]
    assert "notes.md#two" not in index and len(index) == 2


def test_strict_leaves_the_store_untouched_when_a_file_is_bad(kv: SQLiteKV, tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Fine\n\ntext\n", "utf-8")
    (tmp_path / "bad.md").write_bytes(b"# Bad\n\n\xff\xfe not utf-8\n")
    with pytest.raises(UnreadableFilesError, match=r"bad\.md: not UTF-8") as info:
        add_markdown(kv, VectorIndex(kv, "docs"), [tmp_path], root=tmp_path, strict=True)
    assert [(f.path.name, f.reason) for f in info.value.skipped] == [
        ("bad.md", "not UTF-8 text (byte 7)")
    ]
    with pytest.raises(IndexingError, match="no such file"):
        add_markdown(kv, VectorIndex(kv, "docs"), [tmp_path / "good.md", tmp_path / "nope.md"])
    assert list(Docs(kv).ids()) == []


def test_a_bad_file_is_skipped_with_its_reason_and_the_rest_is_added(
    kv: SQLiteKV, tmp_path: Path
) -> None:
    (tmp_path / "good.md").write_text("# Fine\n\ntext\n", "utf-8")
    (tmp_path / "later.md").write_text("# Kept\n\nfirst version\n", "utf-8")
    index = VectorIndex(kv, "docs")
    assert add_markdown(kv, index, [tmp_path], root=tmp_path).skipped == ()

    (tmp_path / "later.md").write_bytes(b"# Kept\n\n\xff broken since\n")
    (tmp_path / "gone.md").symlink_to(tmp_path / "missing-target.md")
    (tmp_path / "new.md").write_text("# New\n\nadded despite the others\n", "utf-8")
    report = add_markdown(kv, index, [tmp_path], root=tmp_path)
    assert [(f.path.name, f.reason) for f in report.skipped] == [
        ("gone.md", "cannot read: No such file or directory"),
        ("later.md", "not UTF-8 text (byte 8)"),
    ]
    assert report.files == 2 and report.written == ("new.md#new",)
    # The docs a skipped file had before stay as they were: skipping is not deleting.
    assert sorted(Docs(kv).ids()) == ["good.md#fine", "later.md#kept", "new.md#new"]
    assert report.removed == ()
