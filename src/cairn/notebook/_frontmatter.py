"""Runbook frontmatter: YAML (`---`), TOML (`+++`) or JSON (`{...}`), kept verbatim.

The raw text is the source of truth; `data` is its parsed view (None when it does
not parse, in which case `error` says why and the text is still written back as is).
Edits (`set_runme_fields`) change the text in place so users' comments and layout
survive; only where that is impossible is the block re-dumped.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import NotebookError

FrontmatterFormat = Literal["yaml", "toml", "json"]

_DELIMS: dict[str, FrontmatterFormat] = {"---": "yaml", "+++": "toml"}


@dataclass
class Frontmatter:
    """The frontmatter block exactly as written, plus its parsed data."""

    raw: str
    format: FrontmatterFormat
    data: dict[str, Any] | None = None
    error: str | None = None
    newline: str = "\n"
    _body_start: int = field(default=0, repr=False)  # offset of the content in `raw`
    _body_end: int = field(default=0, repr=False)  # offset of the closing delimiter

    @property
    def body(self) -> str:
        return self.raw[self._body_start : self._body_end]

    def _get(self, key: str) -> Any:
        return (self.data or {}).get(key)

    @property
    def shell(self) -> str | None:
        value = self._get("shell")
        return str(value) if value else None

    @property
    def cwd(self) -> str | None:
        value = self._get("cwd")
        return str(value) if value else None

    @property
    def skip_prompts(self) -> bool:
        return str(self._get("skipPrompts")).lower() == "true"

    @property
    def runme(self) -> dict[str, Any]:
        value = self._get("runme")
        return value if isinstance(value, dict) else {}

    @property
    def document_id(self) -> str | None:
        value = self.runme.get("id")
        return str(value) if value else None


def _line_end(text: str, start: int) -> int:
    """Offset just past the line that starts at `start` (including its newline)."""
    m = re.compile(r"\r\n|\r|\n").search(text, start)
    return len(text) if m is None else m.end()


def _parse_data(fmt: FrontmatterFormat, body: str) -> tuple[dict[str, Any] | None, str | None]:
    # Imported here: most runbooks have no frontmatter, and yaml costs ~12 ms to import.
    import tomllib

    import yaml

    try:
        if fmt == "yaml":
            loaded = yaml.safe_load(body) if body.strip() else {}
        elif fmt == "toml":
            loaded = tomllib.loads(body)
        else:
            loaded = json.loads(body)
    except RecursionError:
        return None, f"invalid {fmt.upper()} frontmatter: nested too deeply"
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError, TypeError, OverflowError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"invalid {fmt.upper()} frontmatter: {first}"
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        return None, f"{fmt.upper()} frontmatter is not a mapping"
    return loaded, None


def split_frontmatter(text: str) -> tuple[Frontmatter | None, str]:
    """Split `text` into its frontmatter (if any) and the Markdown body after it."""
    fm = frontmatter_at(text)
    return (fm, text[len(fm.raw) :]) if fm is not None else (None, text)


def frontmatter_at(text: str, start: int = 0) -> Frontmatter | None:
    """The frontmatter that begins at offset `start` of `text`, if there is one."""
    first_end = _line_end(text, start)
    first = text[start:first_end]
    newline = first[len(first.rstrip("\r\n")) :] or "\n"
    marker = first.rstrip("\r\n").rstrip(" \t")
    if marker in _DELIMS and first_end < len(text):
        fmt = _DELIMS[marker]
        pos = first_end
        while pos < len(text):
            end = _line_end(text, pos)
            if text[pos:end].rstrip("\r\n").rstrip(" \t") == marker:
                raw = text[start:end]
                data, error = _parse_data(fmt, text[first_end:pos])
                return Frontmatter(raw, fmt, data, error, newline, first_end - start, pos - start)
            pos = end
        return None  # no closing delimiter: not frontmatter, just Markdown
    if marker.startswith("{"):
        try:
            obj, end = json.JSONDecoder().raw_decode(text, start)
        except (ValueError, RecursionError):
            return None
        if isinstance(obj, dict):
            end = _line_end(text, end) if text[end : _line_end(text, end)].strip() == "" else -1
            if end > 0:
                return Frontmatter(text[start:end], "json", obj, None, newline, 0, end - start)
    return None


def frontmatter_may_follow(text: str) -> bool:
    """Whether more text after `text` could make a frontmatter begin it: its first
    line is not complete yet, or opens one."""
    first_end = _line_end(text, 0)
    if first_end == len(text):
        return True  # (a last CR may be half of a CRLF)
    marker = text[:first_end].rstrip("\r\n").rstrip(" \t")
    return marker in _DELIMS or marker.startswith("{")


# Values JSON cannot hold, from YAML (dates, binary, sets) and TOML (dates, times).
_JSON_SAFE_BUDGET = 100_000  # values, counting each expansion of a YAML alias


def _json_key(key: object) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (bool, int, float)) or key is None:
        return json.dumps(key)
    if isinstance(key, (datetime.date, datetime.time)):
        return key.isoformat()
    return str(key)


def json_safe(value: Any) -> Any:
    """`value` (parsed frontmatter) with only JSON types: dates and times become ISO 8601
    strings, binary base64, sets sorted lists, NaN and infinities strings.

    Raises NotebookError when YAML aliases expand into too many values to show.
    """
    budget = [_JSON_SAFE_BUDGET]
    active: set[int] = set()

    def convert(item: Any) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise NotebookError(
                f"frontmatter expands (through YAML aliases) to over {_JSON_SAFE_BUDGET}"
                " values; not shown"
            )
        if isinstance(item, (dict, list, tuple, set, frozenset)):
            if id(item) in active:
                return None  # a YAML alias inside its own anchor
            active.add(id(item))
            try:
                if isinstance(item, dict):
                    return {_json_key(k): convert(v) for k, v in item.items()}
                if isinstance(item, (set, frozenset)):
                    return sorted((convert(v) for v in item), key=repr)
                return [convert(v) for v in item]
            finally:
                active.discard(id(item))
        if isinstance(item, (datetime.date, datetime.time)):
            return item.isoformat()
        if isinstance(item, bytes):
            return base64.b64encode(item).decode("ascii")
        if isinstance(item, float) and not math.isfinite(item):
            return str(item)
        if item is None or isinstance(item, (str, int, float, bool)):
            return item
        return str(item)

    try:
        return convert(value)
    except RecursionError:
        raise NotebookError("frontmatter is nested too deeply to show") from None


# --- editing -------------------------------------------------------------------------


def _yaml_scalar(value: str) -> str:
    import yaml

    dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return dumped[: -len("...")].strip() if dumped.endswith("...") else dumped


def _set_yaml(fm: Frontmatter, fields: dict[str, Any]) -> str | None:
    """Insert missing `runme.*` keys textually; None when the layout is too unusual."""
    nl = fm.newline
    body = fm.body
    lines = body.splitlines(keepends=True)
    runme_at = next(
        (i for i, ln in enumerate(lines) if re.match(r"runme\s*:\s*(#.*)?$", ln.rstrip("\r\n"))),
        None,
    )

    def render(mapping: dict[str, Any], indent: str, step: str) -> list[str]:
        out = []
        for key, value in mapping.items():
            if isinstance(value, dict):
                out.append(f"{indent}{key}:{nl}")
                out.extend(render(value, indent + step, step))
            else:
                out.append(f"{indent}{key}: {_yaml_scalar(str(value))}{nl}")
        return out

    existing = fm.runme
    if runme_at is None:
        if "runme" in (fm.data or {}):
            return None  # `runme: {…}` in flow style or similar
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += nl
        lines.extend([f"runme:{nl}", *render(fields, "  ", "  ")])
    else:
        # The children's indentation: from the first line under `runme:` with content.
        nxt = next(
            (ln for ln in lines[runme_at + 1 :] if ln.strip() and not ln.lstrip().startswith("#")),
            "",
        )
        indent = re.match(r"[ \t]*", nxt).group(0)  # type: ignore[union-attr]
        if not indent:
            indent = "  "
        missing = {k: v for k, v in fields.items() if k not in existing}
        if any(isinstance(existing.get(k), dict) for k in fields if k in existing):
            return None
        lines[runme_at + 1 : runme_at + 1] = render(missing, indent, indent)
    return "".join(lines)


def _set_toml(fm: Frontmatter, fields: dict[str, Any]) -> str:
    nl = fm.newline
    body = fm.body
    lines = body.splitlines(keepends=True)
    existing = fm.runme
    scalars = {k: v for k, v in fields.items() if not isinstance(v, dict) and k not in existing}
    tables = {k: v for k, v in fields.items() if isinstance(v, dict)}
    header = next((i for i, ln in enumerate(lines) if ln.strip() == "[runme]"), None)
    rendered = [f"{k} = {json.dumps(str(v), ensure_ascii=False)}{nl}" for k, v in scalars.items()]
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    if header is None and scalars:
        lines.extend([f"[runme]{nl}", *rendered])
    elif header is not None:
        lines[header + 1 : header + 1] = rendered
    for name, table in tables.items():
        lines.append(f"[runme.{name}]{nl}")
        lines.extend(
            f"{k} = {json.dumps(str(v), ensure_ascii=False)}{nl}" for k, v in table.items()
        )
    return "".join(lines)


def _merge(base: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif key not in out or isinstance(value, dict):
            out[key] = value
    return out


def _has_keys(target: dict[str, Any], fields: dict[str, Any]) -> bool:
    for key, value in fields.items():
        if key not in target:
            return False
        nested = isinstance(value, dict) and isinstance(target[key], dict)
        if nested and not _has_keys(target[key], value):
            return False
    return True


def _reparsed(raw: str, fields: dict[str, Any]) -> Frontmatter | None:
    """The edited frontmatter, if it parses cleanly and carries the fields."""
    parsed, rest = split_frontmatter(raw)
    if parsed is None or rest or parsed.error or not _has_keys(parsed.runme, fields):
        return None
    return parsed


def set_runme_fields(
    fm: Frontmatter | None, fields: dict[str, Any], newline: str = "\n"
) -> Frontmatter:
    """Return frontmatter with `runme.<key>` set for every key not already present.

    Existing values are never replaced (an existing document id is kept), except
    nested tables such as `session`, which are merged. The new keys are inserted into
    the text as written, so every other byte (comments, layout, quoting) stays; only a
    YAML or JSON layout too unusual to edit that way is re-dumped.
    """
    if fm is None:
        created = "".join(_render_yaml_runme(fields, newline))
        raw = f"---{newline}{created}---{newline}{newline}"
        new, _ = split_frontmatter(raw)
        assert new is not None
        new.raw = raw
        return new
    if fm.data is None:
        raise NotebookError(f"cannot add runme fields: {fm.error}; fix the frontmatter first")
    edited: Frontmatter | None = None
    if fm.format == "yaml":
        inserted = _set_yaml(fm, fields)
        if inserted is not None:
            edited = _reparsed(fm.raw[: fm._body_start] + inserted + fm.raw[fm._body_end :], fields)
        if edited is None:
            import yaml

            data = dict(fm.data)
            data["runme"] = _merge(fm.runme, fields)
            dumped = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).replace(
                "\n", fm.newline
            )
            edited = _reparsed(fm.raw[: fm._body_start] + dumped + fm.raw[fm._body_end :], fields)
    elif fm.format == "toml":
        if any(isinstance(v, dict) and k in fm.runme for k, v in fields.items()):
            raise NotebookError(
                "cannot merge into an existing [runme] sub-table of TOML frontmatter"
            )
        toml = _set_toml(fm, fields)
        edited = _reparsed(fm.raw[: fm._body_start] + toml + fm.raw[fm._body_end :], fields)
    else:
        in_place = _set_json(fm.raw, fields)
        edited = _reparsed(in_place, fields) if in_place is not None else None
        if edited is None:
            data = dict(fm.data)
            data["runme"] = _merge(fm.runme, fields)
            dumped = json.dumps(data, ensure_ascii=False, indent=2).replace("\n", fm.newline)
            edited = _reparsed(dumped + fm.newline, fields)
    if edited is None:
        raise NotebookError(
            f"cannot add runme fields to this {fm.format.upper()} frontmatter without breaking"
            f" it; add runme.{next(iter(fields))} by hand"
        )
    return edited


# JSON frontmatter is edited in place too: the members of an object, with their spans.
_WS = re.compile(r"\s*")


def _json_members(text: str, start: int) -> tuple[list[tuple[str, int, int, int]], int] | None:
    """(key, key start, value start, value end) of the object whose `{` is at `start`,
    and the offset of its `}`; None if it is not a plain object there."""
    decoder = json.JSONDecoder()
    members: list[tuple[str, int, int, int]] = []
    pos = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", pos):
        return members, pos
    try:
        while text.startswith('"', pos):
            key_start = pos
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if not text.startswith(":", pos):
                return None
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            _, end = decoder.raw_decode(text, pos)
            members.append((key, key_start, pos, end))
            pos = _WS.match(text, end).end()  # type: ignore[union-attr]
            if text.startswith("}", pos):
                return members, pos
            if not text.startswith(",", pos):
                return None
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    except (ValueError, RecursionError):
        return None
    return None


def _json_inserts(text: str, start: int, fields: dict[str, Any]) -> list[tuple[int, str]] | None:
    """Insertions (offset, text) adding the missing `fields` to the object at `start`."""
    found = _json_members(text, start)
    if found is None:
        return None
    members, close = found
    by_key = {key: (key_start, value_start, end) for key, key_start, value_start, end in members}
    edits: list[tuple[int, str]] = []
    missing = {}
    for key, value in fields.items():
        if key not in by_key:
            missing[key] = value
        elif isinstance(value, dict):
            _, value_start, _ = by_key[key]
            if not text.startswith("{", value_start):
                return None
            nested = _json_inserts(text, value_start, value)
            if nested is None:
                return None
            edits.extend(nested)
    if not missing:
        return edits
    if not members:
        pairs = ", ".join(
            f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
            for k, v in missing.items()
        )
        return [*edits, (start + 1, pairs)]
    _, key_start, _, last_end = members[-1]
    first_key_end = json.decoder.scanstring(text, members[0][1] + 1)[1]  # type: ignore[attr-defined]
    colon = text[first_key_end : members[0][2]]
    line_start = text.rfind("\n", 0, key_start) + 1
    indent = text[line_start:key_start]
    multiline = "\n" in text[start:close] and not indent.strip()
    newline = "\r\n" if text[:line_start].endswith("\r\n") else "\n"
    spaced = multiline or bool(re.search(r",\s", text[start:close])) or colon != ":"
    sep = "," + (newline + indent if multiline else " " if spaced else "")
    inner = (", ", ": ") if spaced else (",", ":")
    pairs = sep.join(
        json.dumps(k, ensure_ascii=False)
        + colon
        + json.dumps(v, ensure_ascii=False, separators=inner)
        for k, v in missing.items()
    )
    return [*edits, (last_end, sep + pairs)]


def _set_json(raw: str, fields: dict[str, Any]) -> str | None:
    """`raw` (JSON frontmatter) with `runme.*` fields inserted textually."""
    edits = _json_inserts(raw, 0, {"runme": fields})
    if edits is None:
        return None
    for offset, insert in sorted(edits, reverse=True):
        raw = raw[:offset] + insert + raw[offset:]
    return raw


def _render_yaml_runme(fields: dict[str, Any], nl: str) -> list[str]:
    out = [f"runme:{nl}"]

    def walk(mapping: dict[str, Any], indent: str) -> None:
        for key, value in mapping.items():
            if isinstance(value, dict):
                out.append(f"{indent}{key}:{nl}")
                walk(value, indent + "  ")
            else:
                out.append(f"{indent}{key}: {_yaml_scalar(str(value))}{nl}")

    walk(fields, "  ")
    return out
