"""Fence info strings: the language word and Runme's cell attributes.

Attributes come in two forms, kept per cell: JSON (`{"name":"build"}`) and the HTML
form (`{ name=build interactive=false }`). Values are always strings; unknown keys
are kept in their original order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

AttrForm = Literal["json", "html"]

# key=value, key="value with spaces", key='v', or a bare key (value "true").
_HTML_PAIR = re.compile(
    r"""\s*([A-Za-z_][\w.\-]*)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"'}]*)))?\s*"""
)
_NEEDS_QUOTES = re.compile(r"""[\s"'{}=]""")


@dataclass
class InfoString:
    """A parsed fence info string: `language [rest] {attributes}`."""

    language: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    form: AttrForm = "json"
    rest: str = ""  # text between the language and the attributes (kept, not interpreted)
    has_attributes: bool = False


def _stringify(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _parse_json(text: str) -> dict[str, str] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): _stringify(v) for k, v in data.items()}


def _parse_html(text: str) -> dict[str, str] | None:
    inner = text[1:-1]
    out: dict[str, str] = {}
    pos = 0
    while pos < len(inner):
        if inner[pos:].strip() == "":
            break
        m = _HTML_PAIR.match(inner, pos)
        if m is None or m.end() == pos:
            return None
        key, dq, sq, bare = m.groups()
        if dq is not None:
            value = re.sub(r"\\(.)", r"\1", dq)
        elif sq is not None:
            value = sq
        elif bare is not None:
            value = bare
        else:
            value = "true"
        out[key] = value
        pos = m.end()
    return out


def parse_info(info: str) -> InfoString:
    """Split a fence info string into language, free text and attributes.

    Text that looks like attributes but parses in neither form stays in `rest`, so
    nothing is lost when the cell is written back.
    """
    info = info.strip()
    if not info:
        return InfoString()
    if info.startswith("{"):
        language, tail = "", info
    else:
        parts = info.split(None, 1)
        language, tail = parts[0], (parts[1] if len(parts) > 1 else "")
        if "{" in language:  # `sh{"name":"x"}` with no space
            language, brace_tail = language.split("{", 1)
            tail = "{" + brace_tail + ((" " + tail) if tail else "")
    brace = tail.find("{")
    if brace >= 0 and tail.rstrip().endswith("}"):
        candidate = tail[brace:].rstrip()
        rest = tail[:brace].strip()
        attrs = _parse_json(candidate)
        if attrs is not None:
            return InfoString(language, attrs, "json", rest, True)
        attrs = _parse_html(candidate)
        if attrs is not None:
            return InfoString(language, attrs, "html", rest, True)
    return InfoString(language, {}, "json", tail.strip(), False)


def format_attributes(attributes: dict[str, str], form: AttrForm) -> str:
    """Render attributes in the given form (JSON compact, as Runme writes it)."""
    if form == "json":
        return json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))
    pairs = []
    for key, value in attributes.items():
        if value == "" or _NEEDS_QUOTES.search(value):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            pairs.append(f'{key}="{escaped}"')
        else:
            pairs.append(f"{key}={value}")
    return "{ " + " ".join(pairs) + " }"


def format_info(info: InfoString) -> str:
    """Render an info string; the inverse of `parse_info` up to whitespace."""
    parts = [p for p in (info.language, info.rest) if p]
    if info.attributes or info.has_attributes:
        parts.append(format_attributes(info.attributes, info.form))
    return " ".join(parts)
