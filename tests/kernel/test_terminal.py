"""Terminal output to plain text: escapes dropped, CR/BS interpreted, CRLF folded."""

from __future__ import annotations

import pytest

from cairn.kernel import render_text, strip_escapes


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("\x1b[31mred\x1b[0m plain", "red plain"),
        ("\x1b[1;38;5;208mbold orange\x1b[m", "bold orange"),
        ("\x1b[38;2;255;0;0mtruecolor\x1b[39m", "truecolor"),
        ("\x1b[2K\x1b[1Gline", "line"),
        ("\x9b32mgreen", "green"),  # 8-bit CSI
    ],
)
def test_render_text_drops_csi_colours_and_cursor_moves(raw: str, text: str) -> None:
    assert render_text(raw) == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("\x1b]0;window title\x07after", "after"),  # BEL-terminated
        ("\x1b]2;window title\x1b\\after", "after"),  # ST-terminated
        ("\x1b]7;file://host/tmp\x07$ ", "$ "),  # cwd report
    ],
)
def test_render_text_drops_osc_titles(raw: str, text: str) -> None:
    assert render_text(raw) == text


def test_render_text_keeps_hyperlink_text_and_drops_its_target() -> None:
    raw = "see \x1b]8;;https://example.com/docs\x1b\\the docs\x1b]8;;\x1b\\ now"
    assert render_text(raw) == "see the docs now"


def test_render_text_carriage_return_overwrites_from_column_zero() -> None:
    assert render_text("10%\r55%\r100%\n") == "100%\n"
    assert render_text("abcdef\rXY") == "XYcdef"


def test_render_text_carriage_return_applies_per_line() -> None:
    assert render_text("one\rONE\ntwo\n") == "ONE\ntwo\n"


def test_render_text_backspace_steps_back_and_stops_at_column_zero() -> None:
    assert render_text("abc\bd") == "abd"
    assert render_text("a\b\b\bb") == "b"


def test_render_text_folds_crlf_to_lf() -> None:
    assert render_text(b"one\r\ntwo\r\n") == "one\ntwo\n"


def test_render_text_decodes_bytes_replacing_invalid_utf8() -> None:
    assert render_text("héllo ".encode() + b"\xff") == "héllo \ufffd"


def test_render_text_removes_other_controls_but_keeps_tabs() -> None:
    assert render_text("a\x07b\x00c\td") == "abc\td"


def test_render_text_drops_charset_selection() -> None:
    assert render_text("\x1b(Bplain\x1b)0") == "plain"


def test_strip_escapes_keeps_carriage_returns() -> None:
    assert strip_escapes("a\x1b[0m\rb") == "a\rb"
