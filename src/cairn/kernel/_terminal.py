"""Terminal output → plain text: ANSI/OSC escapes dropped, CR and BS interpreted.

Written here instead of using `pyte`: pyte emulates a fixed-size screen (it drops
scrollback and is slow per byte), while we need the whole log as text. The rules are
those of a line-oriented terminal: `\\r` returns to column 0 and later characters
overwrite (progress bars collapse to their final state), `\\b` steps back, CSI/OSC/other
escape sequences and remaining control characters are removed.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement, erase
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks, cwd reports
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS/SOS/PM/APC strings
    r"|\x1b[()*+][0-9A-Za-z]"  # character set selection
    r"|\x1b[ -/]*[0-~]"  # other two-byte escapes (ESC =, ESC >, ESC 7, …)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
# Control characters a reader never sees (tab and newline stay); translate() is ~10×
# faster than a regex substitution on large captures.
_DROP_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])


def strip_escapes(text: str) -> str:
    """Remove escape sequences, keeping every other character."""
    if "\x1b" not in text and "\x9b" not in text:
        return text
    return _ESCAPES.sub("", text)


def _overstrike(line: str) -> str:
    buf: list[str] = []
    col = 0
    for ch in line:
        if ch == "\r":
            col = 0
        elif ch == "\b":
            col = max(0, col - 1)
        else:
            if col < len(buf):
                buf[col] = ch
            else:
                buf.append(ch)
            col += 1
    return "".join(buf)


def render_text(data: bytes | str) -> str:
    """Plain text as a reader of the terminal would see it, line by line."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = strip_escapes(text).replace("\r\n", "\n")
    if "\r" in text or "\b" in text:
        text = "\n".join(
            _overstrike(ln) if ("\r" in ln or "\b" in ln) else ln for ln in text.split("\n")
        )
    return text.translate(_DROP_CONTROLS)
