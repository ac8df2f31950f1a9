"""Parsing in windows reads a runbook exactly as parsing it whole.

`parse` hands markdown-it a window of lines at a time (so that a 50 MB runbook never
has all its tokens in memory) and reads again, in the next window, every top-level
block whose reading may have depended on where the window ended. These tests compare,
with windows down to a single line: markdown-it's tokens (every one, not only code
blocks), and the notebooks (JSON view, warnings, descriptions, trailers, round trip,
and each code cell edited in turn).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cairn.notebook import parse, serialize, to_json
from cairn.notebook._blocks import TextStream, block_parser, block_windows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "roundtrip"
CORPUS = sorted(FIXTURES.glob("*.md"))
SIZES = [1, 2, 3, 5, 8, 13, 40, 200]

# Link reference definitions make no token but look ahead for a title over every
# non-blank line: a window that ends inside that lookahead must not decide anything.
REFERENCE_LOOKAHEAD = [
    "[foo]: /url\n    'title\ntext\nmore'\n\n```sh\necho hi\n```\n",
    "para\n\n[foo]: /url\n'title\n    code\nmore'\n\nIntro:\n\n```sh\necho hi\n```\n",
    "x\n\n[a]: /u\n[b]: /v\n'ti\ntle'\n    code\n\nintro\n```\nc\n```\n",
    '# h\n[foo]: /url\n"multi\nline title"\n    code\n',
    "[a\nb]: /u\n    code\n\ntext\n",
]

# Lines that open, continue or end blocks in every way CommonMark knows.
PIECES = st.sampled_from(
    [
        "",
        "",
        "   ",
        "\t",
        "text",
        "more text",
        "[foo]: /url",
        "[foo]: /url 'title",
        "[foo]:",
        "  /dest",
        "'title'",
        '"t',
        't"',
        "[a",
        "b]: /u",
        "```",
        "```sh",
        '```sh {"name":"a"}',
        "~~~",
        "````",
        "    code",
        "\tcode",
        "      deeper",
        "> quote",
        ">     quoted code",
        "> ```",
        "- item",
        "- ```",
        "  ```",
        "1. one",
        "   - nested",
        "* * *",
        "---",
        "===",
        "# heading",
        "<div>",
        "</div>",
        "<!-- c",
        "-->",
        "<pre>",
        "</pre>",
        "<a href=x>",
        "# Ran on 2024-01-01 10:00:00Z for 1s exited with 0",
        "+++",
        "x\x00y",
        "\u00a0",
        "\x0c",
        "é 漢字",
    ]
)


# Often enough to meet a window's end: a reference definition whose title goes on.
REFERENCE = st.sampled_from(["[foo]: /url", "'ti", "tle'", "    code", "text", ""])


@st.composite
def documents(draw: st.DrawFn) -> str:
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    lines = draw(st.lists(st.one_of(PIECES, REFERENCE), min_size=1, max_size=40))
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    head = draw(st.sampled_from(["", "", "\ufeff", "---\nx: 1\n---\n", '{"a": 1}\n']))
    return head + text


def _token_view(token: Any, shift: int) -> tuple[object, ...]:
    span = None if token.map is None else (token.map[0] + shift, token.map[1] + shift)
    return (
        token.type,
        token.tag,
        token.nesting,
        token.level,
        span,
        token.content,
        token.markup,
        token.info,
        token.hidden,
    )


def _assert_same_tokens(text: str, size: int, piece: int) -> None:
    """Windows of about `size` characters over `text` read `piece` characters at a time
    make the whole document's tokens, and read every line once."""
    whole = [_token_view(t, 0) for t in block_parser().parse(text)]
    windows = list(block_windows(TextStream.of(text, piece), size))
    windowed: list[tuple[object, ...]] = []
    read: list[str] = []
    for w, after in zip(windows, [*windows[1:], None][: len(windows)], strict=True):
        assert w.text == "".join(w.lines)
        windowed += [_token_view(t, w.first_line) for t in w.tokens]
        read += w.lines[: w.read]
        if after is None:
            assert w.final and w.read == len(w.lines)
        else:
            assert not w.final and after.first_line == w.first_line + w.read
            assert after.line_before == w.lines[w.read - 1]
    assert "".join(read) == text
    assert windowed == whole


def _notebook_view(text: str, window: int) -> dict[str, object]:
    nb = parse(text, window=window)
    edited = []
    for cell in nb.code_cells():
        source = cell.source
        cell.source = source + "echo edited\n"
        edited.append(serialize(nb))
        cell.source = source
    return {
        "json": to_json(nb),
        "warnings": [(d.line, d.message) for d in nb.diagnostics],
        "descriptions": [c.description for c in nb.code_cells()],
        "trailers": [c.trailer for c in nb.cells],
        "leading": nb.leading,
        "newline": nb.newline,
        "text": serialize(nb),
        "edited": edited,
    }


def _assert_same_notebook(text: str, sizes: list[int]) -> None:
    whole = _notebook_view(text, len(text) + 1)
    assert whole["text"] == text
    for size in sizes:
        assert _notebook_view(text, size) == whole, f"window of {size} characters"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_windowed_tokens_are_the_whole_documents_tokens(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    for size in SIZES:
        for piece in (1, 7, size):
            _assert_same_tokens(text, size, piece)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_windowed_parse_is_the_whole_document_parse(path: Path) -> None:
    _assert_same_notebook(path.read_bytes().decode("utf-8"), SIZES)


@pytest.mark.parametrize("text", REFERENCE_LOOKAHEAD)
def test_a_reference_definition_cut_by_a_window_is_read_again(text: str) -> None:
    for size in range(1, len(text) + 1):
        _assert_same_tokens(text, size, 1)
        _assert_same_tokens(text, size, size)
    _assert_same_notebook(text, list(range(1, len(text) + 1)))


def test_a_window_never_ends_between_the_cr_and_the_lf_of_a_crlf() -> None:
    stream = TextStream(["a\r", "\nb\r", "\r\n", "c"])
    assert stream.line_end(1) == 3  # "a\r\n", though the first piece ends at its CR
    stream.skip(3)
    assert stream.line_end(1) == 2  # "b\r": a lone CR, then "\r\n"
    stream.skip(2)
    assert stream.line_end(1) == 2
    stream.skip(2)
    assert (stream.line_end(1), stream.peek(5)) == (1, "c")


def test_a_block_larger_than_the_window_is_read_in_a_larger_one() -> None:
    code = "".join(f"echo {i}\n" for i in range(500))
    text = f"# Big\n\nIntro.\n\n```sh\n{code}```\n\nAfter.\n\n```sh\necho last\n```\n"
    windows = list(block_windows(TextStream.of(text, 10), 64))
    assert len(windows) > 1
    big = [t for w in windows for t in w.tokens if t.type == "fence"]
    assert [t.content for t in big] == [code, "echo last\n"]
    _assert_same_notebook(text, [1, 64, 1000])


@settings(max_examples=1_000)
@given(documents(), st.integers(1, 60))
@example(REFERENCE_LOOKAHEAD[0], 12)
@example("[foo]: /url\n'title\n    code\nmore'\n", 18)
def test_generated_markdown_parses_alike_in_any_window(text: str, size: int) -> None:
    for tokens_size in {1, 2, 3, 5, size}:
        _assert_same_tokens(text, tokens_size, 1)
        _assert_same_tokens(text, tokens_size, tokens_size)
    _assert_same_notebook(text, [size])
