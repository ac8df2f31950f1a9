"""Fence info strings: the language word and Runme's cell attributes, read as Runme reads them.

The attribute block runs from the first `{` after the language to the first `}` after
it (Runme's `extractAttributes`). It is JSON when it parses as JSON; otherwise Runme's
HTML-style form: the text inside the braces split on single spaces, each `key=value`
item giving `key` the text between the first and second `=` (quotes are not special,
items without `=` are ignored). Values are always strings; keys keep their order.
Where Runme would read something other than what the author probably meant, the
parse says so in `warnings` (never raises); the caller attaches the line.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import Literal

AttrForm = Literal["json", "html"]

# Characters that end or split a bare HTML-style value when Runme reads it back.
_HTML_UNSAFE = re.compile(r"""[\s={}]|^["']""")
_HTML_KEY = re.compile(r"[^\s={}]+")
_ALWAYS_STRING = ("name", "id")


@dataclass
class InfoString:
    """A parsed fence info string: `language [rest] {attributes} [tail]`."""

    language: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    form: AttrForm = "json"
    rest: str = ""  # text between the language and the attributes (kept, not interpreted)
    tail: str = ""  # text after the attribute block (kept, not interpreted)
    has_attributes: bool = False
    # Offsets of the attribute block (braces included) in the text given to parse_info.
    span: tuple[int, int] | None = None
    warnings: list[str] = field(default_factory=list)


def _stringify(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "an object" if isinstance(value, dict) else "an array"


def _parse_json(text: str, warnings: list[str]) -> dict[str, str] | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, str] = {}
    for key, value in data.items():
        key = sys.intern(str(key))  # one copy of each name for all the cells
        out[key] = _stringify(value)
        if isinstance(value, str):
            continue
        if key in _ALWAYS_STRING or value is None or isinstance(value, (dict, list)):
            warnings.append(
                f"attribute {key!r} is {_kind(value)}, not a string; read as {out[key]!r}"
                f' (write "{key}": {json.dumps(out[key], ensure_ascii=False)})'
            )
    return out


def _parse_html(block: str, warnings: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in block[1:-1].strip().split(" "):
        if not item:
            continue
        if "=" not in item:
            warnings.append(
                f"attribute {item!r} has no '=value' and is ignored (Runme ignores it too);"
                f" write {item}=true or use the JSON form"
            )
            continue
        key, value, *more = item.split("=")
        if not key:
            warnings.append(f"attribute {item!r} has no name before '=' and is ignored")
            continue
        if more:
            warnings.append(
                f"attribute {key!r}: Runme reads the value only up to the second '=',"
                f" so it is {value!r}; use the JSON form for values with '='"
            )
        if value[:1] in ('"', "'"):
            warnings.append(
                f"attribute {key!r}: quotes are not special in key=value attributes, so"
                f" Runme reads {value!r}; use the JSON form for values with spaces or quotes"
            )
        out[sys.intern(key)] = value
    return out


def _check_identity(attrs: dict[str, str], warnings: list[str]) -> None:
    for key in _ALWAYS_STRING:
        if key in attrs and not attrs[key].strip():
            what = "a generated name" if key == "name" else "no id"
            warnings.append(f"attribute {key!r} is empty, so the cell gets {what}")


def _language(info: str, start: int) -> tuple[str, int]:
    """The language word at `start` and the offset just after it."""
    if info.startswith("{", start):
        return "", start
    end = start
    while end < len(info) and not info[end].isspace() and info[end] != "{":
        end += 1
    return info[start:end], end


def parse_info(info: str) -> InfoString:
    """Split a fence info string into language, free text and attributes.

    Text that parses in neither form stays in `rest`/`tail`, so nothing is lost when
    the cell is written back; `warnings` says what Runme makes of it.
    """
    start = len(info) - len(info.lstrip())
    if start == len(info):
        return InfoString()
    language, after = _language(info, start)
    opening = info.find("{", after)
    if opening < 0:
        return InfoString(language, rest=info[after:].strip())
    rest = info[after:opening].strip()
    closing = info.find("}", opening + 1)
    if closing < 0:
        warning = (
            "the attribute block '{' is never closed with '}', so its attributes are ignored"
            " (as Runme does)"
        )
        return InfoString(language, rest=info[after:].strip(), warnings=[warning])
    warnings: list[str] = []
    last = info.rfind("}")
    if last > closing:
        # A value with `}` in it: valid JSON read whole, though Runme stops at the first `}`.
        attrs = _parse_json(info[opening : last + 1], warnings)
        if attrs is not None:
            warnings.append(
                "Runme reads attributes only up to the first '}', which is inside a value"
                " here; Runme will not see these attributes"
            )
            _check_identity(attrs, warnings)
            tail = info[last + 1 :].strip()
            return InfoString(
                language, attrs, "json", rest, tail, True, (opening, last + 1), warnings
            )
        warnings.clear()
    block = info[opening : closing + 1]
    tail = info[closing + 1 :].strip()
    span = (opening, closing + 1)
    attrs = _parse_json(block, warnings)
    form: AttrForm = "json"
    if attrs is None:
        attrs = _parse_html(block, warnings)
        form = "html"
        if block[1:].lstrip().startswith('"'):  # meant as JSON: one warning says it all
            found = "none are" if not attrs else f"only {', '.join(attrs)} are"
            warnings[:] = [
                f"attributes {block} are not valid JSON; Runme reads them as key=value"
                f" pairs and {found} read"
            ]
    _check_identity(attrs, warnings)
    return InfoString(language, attrs, form, rest, tail, True, span, warnings)


def html_representable(attributes: dict[str, str]) -> bool:
    """Whether Runme reads these attributes back unchanged from the key=value form."""
    return all(
        _HTML_KEY.fullmatch(key) and not _HTML_UNSAFE.search(value)
        for key, value in attributes.items()
    )


def format_attributes(attributes: dict[str, str], form: AttrForm) -> str:
    """Render attributes: JSON compact (as Runme writes it), or `{ key=value … }`.

    The key=value form cannot carry spaces, `=`, braces or leading quotes (Runme would
    read them differently), so such attributes are written as JSON instead.
    """
    if form == "html" and html_representable(attributes):
        return "{ " + " ".join(f"{k}={v}" for k, v in attributes.items()) + " }"
    return json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))


def _json_style(block: str) -> tuple[str, str]:
    """(separator between pairs, separator between key and value) the block uses."""
    colon = re.search(r'"(\s*):(\s*)', block)
    around = (colon.group(1), colon.group(2)) if colon else ("", "")
    comma = re.search(r",(\s*)\"", block)
    spacing = comma.group(1) if comma else (" " if around[1] else "")
    return "," + spacing, around[0] + ":" + around[1]


def insert_attributes(block: str, form: AttrForm, added: dict[str, str]) -> str | None:
    """`block` (an attribute block as written) with `added` pairs appended in its own
    style; every other character stays. None when they cannot be added textually."""
    if not added or not block.endswith("}"):
        return None
    inner_end = len(block) - 1
    k = len(block[:inner_end].rstrip())  # just past the last pair (or the `{`)
    empty = k == 1
    if form == "json":
        comma, colon = _json_style(block)
        pairs = comma.join(
            json.dumps(key, ensure_ascii=False) + colon + json.dumps(value, ensure_ascii=False)
            for key, value in added.items()
        )
        return block[:k] + ("" if empty else comma) + pairs + block[k:]
    if not html_representable(added):
        return None
    pairs = " ".join(f"{key}={value}" for key, value in added.items())
    return block[:k] + " " + pairs + block[k:]


def format_info(info: InfoString) -> str:
    """Render an info string; the inverse of `parse_info` up to whitespace."""
    parts = [p for p in (info.language, info.rest) if p]
    if info.attributes or info.has_attributes:
        parts.append(format_attributes(info.attributes, info.form))
    if info.tail:
        parts.append(info.tail)
    return " ".join(parts)
